//! Which remote each partition of a mirror-topic source belongs to, as a Prometheus info
//! metric: a pipeline at home reading every remote's partition shows its lag by remote with
//! `fluvio_consumer_lag_records * on(topic, partition) group_left(mirror)
//! fluvio_mirror_partition_info`.

use crate::admin::TopicMirror;
use crate::cluster::FluvioClient;
use crate::telemetry;

/// Set `fluvio_mirror_partition_info` for `partitions` of `topic` when it is a mirror
/// topic. Best effort: a failed lookup only leaves the labels out.
pub(super) async fn label(client: &FluvioClient, topic: &str, partitions: &[u32]) {
    let Ok(Some(spec)) = client.admin().get_topic(topic).await else {
        return;
    };
    let Some(mirror) = TopicMirror::of(&spec.spec) else {
        return;
    };
    let partners = mirror.partners();
    for &partition in partitions {
        // On a remote its one partition is the home's.
        let partner = partners.get(partition as usize).or(partners.first());
        if let Some(partner) = partner {
            metrics::gauge!(
                telemetry::MIRROR_PARTITIONS,
                "topic" => topic.to_owned(),
                "partition" => partition.to_string(),
                "mirror" => partner.clone(),
                "direction" => mirror.kind(),
            )
            .set(1.0);
        }
    }
}
