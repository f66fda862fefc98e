//! The records of a group's coordination log, as one line of text each (`v1` and a tag,
//! then space-separated fields). A record that does not parse is skipped by every reader
//! alike, so a malformed write cannot split the group's view.

use std::fmt;

use super::view::GroupView;

/// One member incarnation: the member's id (unique per live process, no whitespace) and
/// the incarnation it joined with (a new one after each rejoin). Two incarnations of one id
/// are two members to the group.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MemberKey {
    /// The member's id.
    pub id: String,
    /// Its incarnation.
    pub incarnation: u64,
}

impl fmt::Display for MemberKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.id, self.incarnation)
    }
}

/// A record of the coordination log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupRecord {
    /// `member` joins the group; its lease runs from this record (heartbeat sequence 0).
    Join {
        /// The member.
        member: MemberKey,
    },
    /// `member` is alive; `seq` tells its own heartbeats apart.
    Heartbeat {
        /// The member.
        member: MemberKey,
        /// The heartbeat's sequence number (from 1).
        seq: u64,
    },
    /// `member` leaves: it has stopped processing everything.
    Leave {
        /// The member.
        member: MemberKey,
    },
    /// `member`'s lease has expired, as an observer saw it: valid only when `last_seen`
    /// is still the offset of `member`'s last record where this record lands.
    Expire {
        /// The member.
        member: MemberKey,
        /// The offset of the member's last record the observer had read.
        last_seen: i64,
    },
    /// `member` has stopped processing `partition`, revoked from it in `generation` or
    /// before.
    Released {
        /// The member.
        member: MemberKey,
        /// The partition.
        partition: u32,
        /// The generation of the member's view when it wrote this: it frees the partition
        /// only if the partition was revoked in this generation or before.
        generation: u64,
    },
    /// The group's topic has (at least) `count` partitions.
    Partitions {
        /// The topic the group consumes.
        topic: String,
        /// Its partition count.
        count: u32,
    },
    /// The group's state after the record at `as_of`, for readers that start after records
    /// were removed by retention; readers from the start pass over it.
    Snapshot {
        /// The offset of the last record applied to `view`.
        as_of: i64,
        /// The state.
        view: Box<GroupView>,
    },
}

impl GroupRecord {
    /// The member that wrote this record (none for `Expire` and `Partitions`, which any
    /// member may write about the group).
    pub fn author(&self) -> Option<&MemberKey> {
        match self {
            Self::Join { member }
            | Self::Heartbeat { member, .. }
            | Self::Leave { member }
            | Self::Released { member, .. } => Some(member),
            Self::Expire { .. } | Self::Partitions { .. } | Self::Snapshot { .. } => None,
        }
    }

    /// The record's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let m = |k: &MemberKey| format!("{} {}", k.id, k.incarnation);
        let line = match self {
            Self::Join { member } => format!("v1 join {}", m(member)),
            Self::Heartbeat { member, seq } => format!("v1 heartbeat {} {seq}", m(member)),
            Self::Leave { member } => format!("v1 leave {}", m(member)),
            Self::Expire { member, last_seen } => format!("v1 expire {} {last_seen}", m(member)),
            Self::Released {
                member,
                partition,
                generation,
            } => format!("v1 released {} {partition} {generation}", m(member)),
            Self::Partitions { topic, count } => format!("v1 partitions {topic} {count}"),
            Self::Snapshot { as_of, view } => format!("v1 snapshot {as_of} {}", view.encode()),
        };
        line.into_bytes()
    }

    /// The record in `bytes`, or `None` when they are not one.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let text = std::str::from_utf8(bytes).ok()?;
        let mut fields = text.split(' ');
        if fields.next()? != "v1" {
            return None;
        }
        let tag = fields.next()?;
        if tag == "snapshot" {
            let as_of = fields.next()?.parse().ok()?;
            let view = Box::new(GroupView::decode(&mut fields)?);
            return fields
                .next()
                .is_none()
                .then_some(Self::Snapshot { as_of, view });
        }
        let mut field = || fields.next().filter(|f| !f.is_empty());
        let record = match tag {
            "partitions" => Self::Partitions {
                topic: field()?.to_owned(),
                count: field()?.parse().ok()?,
            },
            _ => {
                let member = MemberKey {
                    id: field()?.to_owned(),
                    incarnation: field()?.parse().ok()?,
                };
                match tag {
                    "join" => Self::Join { member },
                    "heartbeat" => Self::Heartbeat {
                        member,
                        seq: field()?.parse().ok()?,
                    },
                    "leave" => Self::Leave { member },
                    "expire" => Self::Expire {
                        member,
                        last_seen: field()?.parse().ok()?,
                    },
                    "released" => Self::Released {
                        member,
                        partition: field()?.parse().ok()?,
                        generation: field()?.parse().ok()?,
                    },
                    _ => return None,
                }
            }
        };
        field().is_none().then_some(record)
    }
}

/// Whether `id` can name a member: 1 to 200 printable ASCII characters, no whitespace.
pub fn valid_member_id(id: &str) -> bool {
    (1..=200).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(crate) fn member() -> impl Strategy<Value = MemberKey> {
        ("[!-~]{1,20}", any::<u64>()).prop_map(|(id, incarnation)| MemberKey { id, incarnation })
    }

    fn record() -> impl Strategy<Value = GroupRecord> {
        prop_oneof![
            member().prop_map(|member| GroupRecord::Join { member }),
            (member(), any::<u64>())
                .prop_map(|(member, seq)| GroupRecord::Heartbeat { member, seq }),
            member().prop_map(|member| GroupRecord::Leave { member }),
            (member(), any::<i64>())
                .prop_map(|(member, last_seen)| GroupRecord::Expire { member, last_seen }),
            (member(), any::<u32>(), any::<u64>()).prop_map(|(member, partition, generation)| {
                GroupRecord::Released {
                    member,
                    partition,
                    generation,
                }
            }),
            ("[a-z0-9-]{1,63}", any::<u32>())
                .prop_map(|(topic, count)| GroupRecord::Partitions { topic, count }),
            (any::<i64>(), crate::group::view::tests::any_view()).prop_map(|(as_of, view)| {
                GroupRecord::Snapshot {
                    as_of,
                    view: Box::new(view),
                }
            }),
        ]
    }

    proptest! {
        #[test]
        fn every_record_decodes_to_itself(record in record()) {
            prop_assert_eq!(GroupRecord::decode(&record.encode()), Some(record));
        }

        #[test]
        fn arbitrary_bytes_never_panic_and_valid_ones_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Some(record) = GroupRecord::decode(&bytes) {
                prop_assert_eq!(GroupRecord::decode(&record.encode()), Some(record));
            }
        }
    }

    #[test]
    fn records_with_missing_extra_or_bad_fields_are_not_records() {
        for text in [
            "",
            "v1",
            "v2 join a 1",
            "v1 join a",
            "v1 join a 1 extra",
            "v1 join a -1",
            "v1 heartbeat a 1",
            "v1 expire a 1 x",
            "v1 released a 1 2",
            "v1 partitions t",
            "v1 snapshot 1 t 2 0 0 0",
            "v1 snapshot 1 t 2 0 1 a 1 0 0 0 x",
            "v1 join  1",
            "v1 unknown a 1",
        ] {
            assert_eq!(GroupRecord::decode(text.as_bytes()), None, "{text:?}");
        }
        assert!(valid_member_id("host-1.pid-42"));
        assert!(!valid_member_id("a b") && !valid_member_id("") && !valid_member_id("é"));
    }
}
