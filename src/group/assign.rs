//! The assignment function: pure, deterministic, balanced and sticky.

use std::collections::{BTreeMap, BTreeSet};

/// Partitions `0..partitions` shared among `members`, starting from `previous`.
///
/// - **Balanced**: every member gets `partitions / members` or one more.
/// - **Sticky**: a member keeps as many of its previous partitions as the balance allows
///   (the members that held the most get the larger shares, and each keeps its lowest
///   numbered partitions); only partitions of members that are gone, or over their share,
///   move. No balanced assignment keeps more.
/// - **Deterministic**: the result depends only on the arguments (ties go to the lower
///   member, then the lower partition).
///
/// Every partition has exactly one owner, unless there are no members (then none has).
pub fn assign<M: Ord + Clone>(
    previous: &BTreeMap<u32, M>,
    members: &BTreeSet<M>,
    partitions: u32,
) -> BTreeMap<u32, M> {
    if members.is_empty() {
        return BTreeMap::new();
    }
    let mut kept: BTreeMap<&M, Vec<u32>> = members.iter().map(|m| (m, Vec::new())).collect();
    for (&p, owner) in previous.range(..partitions) {
        if let Some(list) = kept.get_mut(owner) {
            list.push(p);
        }
    }
    let count = members.len() as u64;
    let base = (u64::from(partitions) / count) as usize;
    let extra = (u64::from(partitions) % count) as usize;
    // The larger shares go to the members that held the most.
    let mut by_held: Vec<&M> = members.iter().collect();
    by_held.sort_by_key(|m| std::cmp::Reverse(kept[m].len()));
    let quota: BTreeMap<&M, usize> = by_held
        .iter()
        .enumerate()
        .map(|(rank, &m)| (m, base + usize::from(rank < extra)))
        .collect();
    let mut out = BTreeMap::new();
    for (&m, list) in &mut kept {
        list.truncate(quota[m]);
        out.extend(list.iter().map(|&p| (p, m.clone())));
    }
    // The rest, lowest partition first, to the member with the most room left.
    let mut room: Vec<(&M, usize)> = kept.iter().map(|(&m, l)| (m, quota[m] - l.len())).collect();
    for p in 0..partitions {
        if out.contains_key(&p) {
            continue;
        }
        // Some member has room: the quotas add up to `partitions`.
        if let Some(slot) = room
            .iter_mut()
            .filter(|(_, r)| *r > 0)
            .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(a.0)))
        {
            slot.1 -= 1;
            out.insert(p, slot.0.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn members(ids: &[u8]) -> BTreeSet<u8> {
        ids.iter().copied().collect()
    }

    #[test]
    fn three_members_share_six_partitions_two_each_and_a_leaver_moves_only_its_own() {
        let first = assign(&BTreeMap::new(), &members(&[1, 2, 3]), 6);
        let counts = |a: &BTreeMap<u32, u8>, m: u8| a.values().filter(|&&o| o == m).count();
        assert_eq!([1, 2, 3].map(|m| counts(&first, m)), [2, 2, 2]);
        let after = assign(&first, &members(&[1, 3]), 6);
        assert_eq!([1, 3].map(|m| counts(&after, m)), [3, 3]);
        for (p, owner) in &first {
            if *owner != 2 {
                assert_eq!(after[p], *owner, "partition {p} moved");
            }
        }
    }

    #[test]
    fn no_members_own_nothing_and_partitions_beyond_the_count_are_dropped() {
        assert!(assign(&BTreeMap::from([(0, 1u8)]), &BTreeSet::new(), 4).is_empty());
        let a = assign(&BTreeMap::from([(0, 1u8), (7, 1)]), &members(&[1]), 2);
        assert_eq!(a, BTreeMap::from([(0, 1), (1, 1)]));
    }

    /// The most partitions any balanced assignment can leave with their previous owner.
    fn best_kept(previous: &BTreeMap<u32, u8>, members: &BTreeSet<u8>, partitions: u32) -> usize {
        let n = members.len();
        let (base, extra) = (partitions as usize / n, partitions as usize % n);
        let held: Vec<usize> = members
            .iter()
            .map(|m| {
                previous
                    .range(..partitions)
                    .filter(|(_, o)| *o == m)
                    .count()
            })
            .collect();
        let at_base: usize = held.iter().map(|&h| h.min(base)).sum();
        at_base + held.iter().filter(|&&h| h > base).count().min(extra)
    }

    proptest! {
        #[test]
        fn assignments_are_balanced_complete_sticky_and_deterministic(
            previous in proptest::collection::btree_map(0u32..40, 0u8..10, 0..40),
            ids in proptest::collection::btree_set(0u8..10, 1..8),
            partitions in 0u32..40,
        ) {
            let a = assign(&previous, &ids, partitions);
            // Every partition exactly once, to a member.
            prop_assert_eq!(a.keys().copied().collect::<Vec<_>>(), (0..partitions).collect::<Vec<_>>());
            prop_assert!(a.values().all(|m| ids.contains(m)));
            // Balanced.
            let counts: Vec<usize> = ids.iter().map(|m| a.values().filter(|o| *o == m).count()).collect();
            let (lo, hi) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
            prop_assert!(hi - lo <= 1, "{:?}", counts);
            // Sticky: keeps as many as any balanced assignment could.
            let kept = a.iter().filter(|(p, m)| previous.get(p) == Some(m)).count();
            prop_assert_eq!(kept, best_kept(&previous, &ids, partitions));
            // Deterministic, and a fixed point: assigning again moves nothing.
            prop_assert_eq!(&assign(&previous, &ids, partitions), &a);
            prop_assert_eq!(&assign(&a, &ids, partitions), &a);
        }
    }
}
