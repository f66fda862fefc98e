//! The SC object `"Mirror"`: one end of a mirroring pair. On a home cluster each remote it
//! accepts is a [`MirrorType::Remote`]; on a remote cluster its home is a
//! [`MirrorType::Home`] with the endpoint to dial. The SCs and SPUs of both sides report the
//! pairing in [`MirrorStatus`].
//!
//! Upstream: `fluvio-controlplane-metadata/src/mirror/{spec,status}.rs`. The object is
//! created, listed and deleted (by name, which is the id inside the spec); the 0.18 SC
//! neither watches nor updates it, and its list ignores name filters.

use bytes::{Buf, BufMut};

use super::spec::{CreatableSpec, DeletableSpec, ObjectSpec};
use crate::protocol::{Decode, DecodeError, Encode, EncodeError, Version};

wire_struct! {
    /// One end of a mirroring pair.
    pub struct MirrorSpec {
        /// Which end.
        pub mirror_type: MirrorType,
    }
}

impl MirrorSpec {
    /// The name the object must be stored under: the id inside the spec.
    pub fn id(&self) -> &str {
        match &self.mirror_type {
            MirrorType::Remote(remote) => &remote.id,
            MirrorType::Home(home) => &home.id,
        }
    }
}

impl ObjectSpec for MirrorSpec {
    const LABEL: &'static str = "Mirror";
    type Status = MirrorStatus;
}

impl CreatableSpec for MirrorSpec {}

impl DeletableSpec for MirrorSpec {
    type DeleteKey = String;
}

wire_union! {
    /// Which end of the pair an object describes.
    pub enum MirrorType (default Remote) {
        /// On a home cluster: a remote cluster allowed to connect.
        Remote(RemoteCluster) = 0,
        /// On a remote cluster: the home cluster it connects to.
        Home(HomeCluster) = 1,
    }
}

wire_struct! {
    /// A remote cluster registered on its home.
    pub struct RemoteCluster {
        /// The remote's id (`fluvio remote register ID`).
        pub id: String,
    }
}

wire_struct! {
    /// The home cluster a remote connects to (what `fluvio home connect` stores).
    pub struct HomeCluster {
        /// The home's id.
        pub id: String,
        /// This remote's id, as registered on the home.
        pub remote_id: String,
        /// The home SC's public endpoint (`host:port`), as this remote reaches it.
        pub public_endpoint: String,
        /// TLS to the home, when it asks for it.
        pub client_tls: Option<MirrorClientTls>,
    }
}

wire_struct! {
    /// TLS material a remote presents to its home (PEM text).
    pub struct MirrorClientTls {
        /// The home's TLS domain.
        pub domain: String,
        /// The CA certificate.
        pub ca_cert: String,
        /// The remote's certificate (its common name is the remote's id).
        pub client_cert: String,
        /// The remote's private key.
        pub client_key: String,
    }
}

wire_struct! {
    /// How the pairing stands, as the SC (and its SPUs) see it.
    pub struct MirrorStatus {
        /// Whether the other side's SC is connected now.
        pub connection_status: MirrorConnection,
        /// The SC-to-SC pairing.
        pub pairing_sc: MirrorPairStatus,
        /// The SPU-to-SPU pairing.
        pub pairing_spu: MirrorPairStatus,
        /// When the other side was last heard from.
        pub connection_stat: MirrorConnectionStat,
    }
}

wire_enum! {
    /// Whether the other side is connected.
    pub enum MirrorConnection: u8 {
        /// Not connected.
        #[default]
        Offline = 0,
        /// Connected.
        Online = 1,
    }
}

wire_struct! {
    /// When the other side was last heard from.
    pub struct MirrorConnectionStat {
        /// Milliseconds since the Unix epoch; 0 for never.
        pub last_seen: u64,
    }
}

/// How one link of a pairing (SC to SC, or SPU to SPU) stands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum MirrorPairStatus {
    /// Not attempted or not answered yet.
    #[default]
    Waiting,
    /// Paired.
    Successful,
    /// The last attempt failed.
    Failed,
    /// Switched off.
    Disabled,
    /// The other side refused this one's credentials.
    Unauthorized,
    /// The last attempt failed, and why.
    DetailFailure(String),
}

impl MirrorPairStatus {
    fn tag(&self) -> u8 {
        match self {
            Self::Waiting => 0,
            Self::Successful => 1,
            Self::Failed => 2,
            Self::Disabled => 3,
            Self::Unauthorized => 4,
            Self::DetailFailure(_) => 5,
        }
    }

    /// How the official CLI shows it (`Connected`, `Failed`, `Waiting`, ...).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Waiting => "Waiting",
            Self::Successful => "Connected",
            Self::Failed | Self::DetailFailure(_) => "Failed",
            Self::Disabled => "Disabled",
            Self::Unauthorized => "Unauthorized",
        }
    }

    /// The failure's detail, if the link reported one.
    pub fn detail(&self) -> Option<&str> {
        match self {
            Self::DetailFailure(detail) => Some(detail),
            _ => None,
        }
    }
}

impl Encode for MirrorPairStatus {
    fn encode<B: BufMut>(&self, buf: &mut B, version: Version) -> Result<(), EncodeError> {
        self.tag().encode(buf, version)?;
        match self {
            Self::DetailFailure(detail) => detail.encode(buf, version),
            _ => Ok(()),
        }
    }

    fn encoded_len(&self, version: Version) -> usize {
        1 + match self {
            Self::DetailFailure(detail) => detail.encoded_len(version),
            _ => 0,
        }
    }
}

impl Decode for MirrorPairStatus {
    fn decode<B: Buf>(buf: &mut B, version: Version) -> Result<Self, DecodeError> {
        Ok(match u8::decode(buf, version)? {
            0 => Self::Waiting,
            1 => Self::Successful,
            2 => Self::Failed,
            3 => Self::Disabled,
            4 => Self::Unauthorized,
            5 => Self::DetailFailure(String::decode(buf, version)?),
            tag => {
                return Err(DecodeError::UnknownTag {
                    what: "MirrorPairStatus",
                    tag: i64::from(tag),
                })
            }
        })
    }
}
