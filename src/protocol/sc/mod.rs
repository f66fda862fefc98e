//! SC public API messages: the object envelope and create / delete / list / watch / update of topics, partitions, SPUs and SmartModules.
