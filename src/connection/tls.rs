//! TLS policies and the rustls client configuration they build.
//!
//! `Disabled` is plain TCP; `Verified` checks the server against a CA and a domain; `Mutual`
//! also presents a client certificate; `DangerAcceptAnyCertificate` encrypts without checking
//! who the server is, and is named so that nobody picks it by accident.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use serde::{Deserialize, Serialize};

/// PEM text, from a file or inline; in a configuration file `{ file = "ca.pem" }` or
/// `{ inline = "-----BEGIN CERTIFICATE-----..." }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pem {
    /// A PEM file on disk.
    File(PathBuf),
    /// PEM text.
    Inline(String),
}

impl Pem {
    fn certs(&self) -> Result<Vec<CertificateDer<'static>>, String> {
        let certs: Result<Vec<_>, _> = match self {
            Pem::File(path) => CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("{}: {e}", path.display()))?
                .collect(),
            Pem::Inline(text) => CertificateDer::pem_slice_iter(text.as_bytes()).collect(),
        };
        let certs = certs.map_err(|e| format!("bad certificate PEM: {e}"))?;
        if certs.is_empty() {
            return Err(format!("no certificate in {self:?}"));
        }
        Ok(certs)
    }

    fn key(&self) -> Result<PrivateKeyDer<'static>, String> {
        match self {
            Pem::File(path) => PrivateKeyDer::from_pem_file(path)
                .map_err(|e| format!("{}: bad private key PEM: {e}", path.display())),
            Pem::Inline(text) => PrivateKeyDer::from_pem_slice(text.as_bytes())
                .map_err(|e| format!("bad private key PEM: {e}")),
        }
    }
}

/// How connections are secured.
///
/// In a configuration file: `tls = "disabled"`,
/// `tls = { verified = { domain = "fluvio.local", ca = { file = "ca.pem" } } }`, `mutual`
/// likewise with `cert` and `key`, or `"danger-accept-any-certificate"`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum TlsPolicy {
    /// Plain TCP.
    #[default]
    Disabled,
    /// TLS; the server must present a certificate for `domain` signed by `ca`.
    Verified {
        /// The name the server certificate must carry (SPUs: `<spu-name>.<domain>`).
        domain: String,
        /// The CA certificate(s) to trust, and only those.
        ca: Pem,
    },
    /// As `Verified`, and the client presents `cert` with `key`.
    Mutual {
        /// The name the server certificate must carry.
        domain: String,
        /// The CA certificate(s) to trust.
        ca: Pem,
        /// The client certificate chain.
        cert: Pem,
        /// The client private key.
        key: Pem,
    },
    /// TLS without checking the server's certificate: encrypted, but open to anyone in the
    /// middle. Only for test clusters.
    DangerAcceptAnyCertificate,
}

/// A built TLS client setup: the rustls config and the base domain for server names.
#[derive(Debug, Clone)]
pub(crate) struct TlsSetup {
    pub(crate) config: Arc<ClientConfig>,
    pub(crate) domain: Option<String>,
}

impl TlsSetup {
    /// The server name to verify: the domain itself for the SC, `<prefix>.<domain>` for an SPU
    /// (`prefix` = its name), the dialled host when no domain is set.
    pub(crate) fn server_name(
        &self,
        prefix: Option<&str>,
        host: &str,
    ) -> Result<ServerName<'static>, String> {
        let name = match (&self.domain, prefix) {
            (Some(domain), Some(prefix)) => format!("{prefix}.{domain}"),
            (Some(domain), None) => domain.clone(),
            (None, _) => host.to_owned(),
        };
        ServerName::try_from(name.clone())
            .map_err(|e| format!("invalid TLS server name '{name}': {e}"))
    }
}

impl TlsPolicy {
    /// The rustls setup for this policy; `None` when TLS is disabled.
    pub(crate) fn setup(&self) -> Result<Option<TlsSetup>, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?;
        let (config, domain) = match self {
            TlsPolicy::Disabled => return Ok(None),
            TlsPolicy::Verified { domain, ca } => (
                builder
                    .with_root_certificates(roots(ca)?)
                    .with_no_client_auth(),
                Some(domain.clone()),
            ),
            TlsPolicy::Mutual {
                domain,
                ca,
                cert,
                key,
            } => (
                builder
                    .with_root_certificates(roots(ca)?)
                    .with_client_auth_cert(cert.certs()?, key.key()?)
                    .map_err(|e| format!("client certificate: {e}"))?,
                Some(domain.clone()),
            ),
            TlsPolicy::DangerAcceptAnyCertificate => {
                tracing::warn!(
                    "TLS certificate verification is DISABLED (DangerAcceptAnyCertificate)"
                );
                (
                    builder
                        .dangerous()
                        .with_custom_certificate_verifier(Arc::new(AcceptAny(provider)))
                        .with_no_client_auth(),
                    None,
                )
            }
        };
        Ok(Some(TlsSetup {
            config: Arc::new(config),
            domain,
        }))
    }
}

fn roots(ca: &Pem) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    for cert in ca.certs()? {
        roots
            .add(cert)
            .map_err(|e| format!("CA certificate: {e}"))?;
    }
    Ok(roots)
}

/// Accepts any server certificate (signatures of the handshake are still checked).
#[derive(Debug)]
struct AcceptAny(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
