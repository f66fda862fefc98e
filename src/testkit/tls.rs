//! TLS for the test cluster: a throwaway CA made with rcgen, and a server certificate per
//! server — the SC's for the cluster domain, each SPU's for `<spu-name>.<domain>`, the name
//! the official client checks.

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;

use super::error::TestkitError;

/// A client certificate and key signed by the cluster's CA (PEM), for clients that insist
/// on presenting one (the official client's `verified` TLS policy does). The servers do not
/// ask for client certificates.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientIdentity {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The private key (PKCS#8), PEM.
    pub key_pem: String,
}

impl std::fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientIdentity").finish_non_exhaustive()
    }
}

/// A certificate authority that signs the cluster's server certificates.
pub(crate) struct Authority {
    ca_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority").finish_non_exhaustive()
    }
}

fn tls_error(e: impl std::fmt::Display) -> TestkitError {
    TestkitError::Tls(e.to_string())
}

impl Authority {
    /// A fresh CA.
    pub(crate) fn new() -> Result<Self, TestkitError> {
        let key = KeyPair::generate().map_err(tls_error)?;
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(tls_error)?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "actix-fluvio testkit CA");
        let cert = params.self_signed(&key).map_err(tls_error)?;
        Ok(Self {
            ca_pem: cert.pem(),
            issuer: Issuer::new(params, key),
        })
    }

    /// The CA certificate, PEM.
    pub(crate) fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// A client certificate for `name`, signed by this CA.
    pub(crate) fn client_identity(&self, name: &str) -> Result<ClientIdentity, TestkitError> {
        let key = KeyPair::generate().map_err(tls_error)?;
        let mut params = CertificateParams::new(vec![name.to_owned()]).map_err(tls_error)?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let cert = params.signed_by(&key, &self.issuer).map_err(tls_error)?;
        Ok(ClientIdentity {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// A TLS acceptor presenting a certificate for `name`, signed by this CA.
    pub(crate) fn acceptor(&self, name: &str) -> Result<TlsAcceptor, TestkitError> {
        let key = KeyPair::generate().map_err(tls_error)?;
        let params = CertificateParams::new(vec![name.to_owned()]).map_err(tls_error)?;
        let cert = params.signed_by(&key, &self.issuer).map_err(tls_error)?;
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(tls_error)?
            .with_no_client_auth()
            .with_single_cert(vec![cert.der().clone()], key)
            .map_err(tls_error)?;
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}
