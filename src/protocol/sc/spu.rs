//! SPUs: [`SpuSpec`] with its endpoints, [`SpuStatus`], [`CustomSpuSpec`] and the
//! [`CustomSpuKey`] used to delete custom SPUs.

use bytes::{Buf, BufMut};

use super::spec::{CreatableSpec, DeletableSpec, ObjectSpec, UpdatableSpec};
use crate::protocol::{Decode, DecodeError, Encode, EncodeError, Version};

wire_struct! {
    /// A streaming processing unit as the SC knows it.
    pub struct SpuSpec {
        /// The SPU id (partition leaders refer to it).
        pub id: i32,
        /// Managed by the SC or registered as custom.
        pub spu_type: SpuType,
        /// Where clients connect.
        pub public_endpoint: IngressPort,
        /// Where other SPUs and the SC connect.
        pub private_endpoint: Endpoint,
        /// Rack, for replica placement.
        pub rack: Option<String>,
        /// The public endpoint as seen from the cluster's own host (v1+).
        pub public_endpoint_local: Option<Endpoint> => 1..,
    }
}

impl SpuSpec {
    /// The `host:port` clients should connect to: the first ingress address (hostname,
    /// else IP) and the public port; `None` without an ingress address.
    pub fn public_address(&self) -> Option<String> {
        let addr = self.public_endpoint.ingress.first()?;
        let host = addr.hostname.as_ref().or(addr.ip.as_ref())?;
        Some(format!("{host}:{}", self.public_endpoint.port))
    }
}

impl ObjectSpec for SpuSpec {
    const LABEL: &'static str = "SPU";
    type Status = SpuStatus;
}

wire_enum! {
    /// Who manages an SPU.
    pub enum SpuType: u8 {
        /// Managed by the SC (SPU group).
        #[default]
        Managed = 0,
        /// Registered as a custom SPU.
        Custom = 1,
    }
}

wire_struct! {
    /// A public port with its ingress addresses.
    pub struct IngressPort {
        /// The port.
        pub port: u16,
        /// Addresses that reach it.
        pub ingress: Vec<IngressAddr>,
        /// Transport security.
        pub encryption: EncryptionType,
    }
}

wire_struct! {
    /// One address of an ingress: a hostname, an IP, or both.
    pub struct IngressAddr {
        /// Host name.
        pub hostname: Option<String>,
        /// IP address.
        pub ip: Option<String>,
    }
}

/// A host and port.
///
/// Upstream decodes into a default `Endpoint` whose host is `"127.0.0.1"`, and an empty
/// string on the wire leaves the default in place: so an empty host decodes as
/// `"127.0.0.1"` here too (and the official client sees it that way).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Endpoint {
    /// The port.
    pub port: u16,
    /// The host.
    #[cfg_attr(test, proptest(strategy = "\"\\\\PC{1,16}\""))]
    pub host: String,
    /// Transport security.
    pub encryption: EncryptionType,
}

/// The host of an [`Endpoint`] that names none.
pub const DEFAULT_ENDPOINT_HOST: &str = "127.0.0.1";

impl Default for Endpoint {
    fn default() -> Self {
        Self {
            port: 0,
            host: DEFAULT_ENDPOINT_HOST.to_owned(),
            encryption: EncryptionType::default(),
        }
    }
}

impl Encode for Endpoint {
    fn encode<B: BufMut>(&self, buf: &mut B, version: Version) -> Result<(), EncodeError> {
        self.port.encode(buf, version)?;
        self.host.encode(buf, version)?;
        self.encryption.encode(buf, version)
    }

    fn encoded_len(&self, version: Version) -> usize {
        2 + self.host.encoded_len(version) + 1
    }
}

impl Decode for Endpoint {
    fn decode<B: Buf>(buf: &mut B, version: Version) -> Result<Self, DecodeError> {
        let port = u16::decode(buf, version)?;
        let mut host = String::decode(buf, version)?;
        if host.is_empty() {
            DEFAULT_ENDPOINT_HOST.clone_into(&mut host);
        }
        let encryption = EncryptionType::decode(buf, version)?;
        Ok(Self {
            port,
            host,
            encryption,
        })
    }
}

wire_enum! {
    /// Transport security of an endpoint.
    pub enum EncryptionType: u8 {
        /// Plain TCP.
        #[default]
        Plaintext = 0,
        /// TLS.
        Ssl = 1,
    }
}

wire_struct! {
    /// Whether an SPU is up.
    pub struct SpuStatus {
        /// The SPU's state.
        pub resolution: SpuStatusResolution,
    }
}

wire_enum! {
    /// State of an SPU.
    pub enum SpuStatusResolution: u8 {
        /// Up.
        Online = 0,
        /// Down.
        Offline = 1,
        /// Not yet seen.
        #[default]
        Init = 2,
    }
}

wire_struct! {
    /// A custom SPU registration (an SPU without `spu_type`).
    pub struct CustomSpuSpec {
        /// The SPU id.
        pub id: i32,
        /// Where clients connect.
        pub public_endpoint: IngressPort,
        /// Where other SPUs and the SC connect.
        pub private_endpoint: Endpoint,
        /// Rack, for replica placement.
        pub rack: Option<String>,
        /// The public endpoint as seen from the cluster's own host.
        pub public_endpoint_local: Option<Endpoint>,
    }
}

impl ObjectSpec for CustomSpuSpec {
    const LABEL: &'static str = "CustomSpu";
    type Status = SpuStatus;
}

impl CreatableSpec for CustomSpuSpec {}

impl DeletableSpec for CustomSpuSpec {
    type DeleteKey = CustomSpuKey;
}

impl UpdatableSpec for CustomSpuSpec {
    type UpdateKey = CustomSpuKey;
    type UpdateAction = String;
}

/// Names a custom SPU by name or id. On the wire: the label `"Name"` or `"Id"` as a string,
/// then the name (string) or id (`i32`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum CustomSpuKey {
    /// By SPU name.
    Name(String),
    /// By SPU id.
    Id(i32),
}

impl Default for CustomSpuKey {
    fn default() -> Self {
        Self::Id(0)
    }
}

impl CustomSpuKey {
    fn label(&self) -> &'static str {
        match self {
            Self::Name(_) => "Name",
            Self::Id(_) => "Id",
        }
    }
}

impl Encode for CustomSpuKey {
    fn encode<B: BufMut>(&self, buf: &mut B, version: Version) -> Result<(), EncodeError> {
        self.label().encode(buf, version)?;
        match self {
            Self::Name(name) => name.encode(buf, version),
            Self::Id(id) => id.encode(buf, version),
        }
    }

    fn encoded_len(&self, version: Version) -> usize {
        self.label().encoded_len(version)
            + match self {
                Self::Name(name) => name.encoded_len(version),
                Self::Id(id) => id.encoded_len(version),
            }
    }
}

impl Decode for CustomSpuKey {
    fn decode<B: Buf>(buf: &mut B, version: Version) -> Result<Self, DecodeError> {
        let label = String::decode(buf, version)?;
        match label.as_str() {
            "Name" => Ok(Self::Name(String::decode(buf, version)?)),
            "Id" => Ok(Self::Id(i32::decode(buf, version)?)),
            _ => Err(DecodeError::Invalid {
                what: "custom SPU key",
                message: format!("unknown key kind {label:?}"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_address_prefers_hostname() {
        let mut spu = SpuSpec::default();
        assert_eq!(spu.public_address(), None);
        spu.public_endpoint.port = 9010;
        spu.public_endpoint.ingress.push(IngressAddr {
            hostname: None,
            ip: Some("10.0.0.1".into()),
        });
        assert_eq!(spu.public_address().as_deref(), Some("10.0.0.1:9010"));
        spu.public_endpoint.ingress[0].hostname = Some("localhost".into());
        assert_eq!(spu.public_address().as_deref(), Some("localhost:9010"));
    }

    #[test]
    fn empty_endpoint_host_decodes_as_the_default_host() {
        let endpoint = Endpoint {
            host: String::new(),
            ..Endpoint::default()
        };
        let bytes = endpoint.to_bytes(19).expect("encode");
        let decoded = Endpoint::decode(&mut &bytes[..], 19).expect("decode");
        assert_eq!(decoded.host, "127.0.0.1");
    }

    #[test]
    fn unknown_custom_spu_key_is_an_error() {
        let mut bytes: &[u8] = b"\x00\x03Foo";
        assert!(CustomSpuKey::decode(&mut bytes, 19).is_err());
    }
}
