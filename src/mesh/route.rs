//! Shard routing: FNV-1a 64 of the call id for hostcall completions (so one call always lands
//! on one shard, in every process on every machine) and a round-robin cursor for events.
//!
//! FNV-1a (Fowler, Noll, Vo): start from the 64-bit offset basis; for each byte, XOR it in,
//! then multiply by the 64-bit FNV prime (wrapping). The route is `hash mod shard_count`.

use crate::topo::ShardId;

/// The 64-bit FNV offset basis.
pub const FNV_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
/// The 64-bit FNV prime.
pub const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a 64 of `bytes`.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(FNV_OFFSET_BASIS, |h, b| (h ^ u64::from(*b)).wrapping_mul(FNV_PRIME))
}

/// The shard of a hostcall completion: FNV-1a 64 of the UTF-8 call id modulo `shard_count`
/// (always shard 0 when `shard_count <= 1`).
pub fn hash_route(call_id: &str, shard_count: usize) -> ShardId {
    if shard_count <= 1 {
        return ShardId(0);
    }
    let hash = fnv1a64(call_id.as_bytes());
    let n = shard_count as u64;
    // For a power of two, the mask is the same remainder without a 64-bit division.
    let shard = if n.is_power_of_two() { hash & (n - 1) } else { hash % n };
    // The remainder is < shard_count <= MAX_SHARDS, so it fits in u32.
    ShardId(shard as u32)
}

/// The round-robin cursor for events: 0, 1, …, n−1, 0, … independent of hash routing.
#[derive(Debug, Clone, Default)]
pub struct RoundRobin {
    next: usize,
}

impl RoundRobin {
    /// The next shard of `shard_count`, moving the cursor (with one shard it stays at 0).
    pub fn next(&mut self, shard_count: usize) -> ShardId {
        if shard_count <= 1 {
            return ShardId(0);
        }
        let s = self.next % shard_count;
        self.next = (s + 1) % shard_count;
        ShardId(s as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn fnv_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x85944171f73967e8);
        assert_eq!(fnv1a64(b"call-affinity"), 0x60d78bb782293c40);
        assert_eq!(fnv1a64(b"call-a"), 0x958268995d763077);
        assert_eq!(fnv1a64(b"call-b"), 0x958269995d76322a);
        assert_eq!(fnv1a64(b"call-1"), 0x9582b8995d76b867);
    }

    #[test]
    fn route_vectors() {
        assert_eq!(hash_route("call-affinity", 8), ShardId(0));
        assert_eq!(hash_route("call-a", 4), ShardId(3));
        assert_eq!(hash_route("call-b", 4), ShardId(2));
        assert_eq!(hash_route("call-1", 4), ShardId(3));
        assert_eq!(hash_route("anything", 1), ShardId(0));
        assert_eq!(hash_route("anything", 0), ShardId(0));
        for n in [2, 3, 4, 7, 8, 64, 100, 256] {
            assert_eq!(u64::from(hash_route("call-xyz", n).0), fnv1a64(b"call-xyz") % n as u64);
        }
    }

    #[test]
    fn round_robin_cycles() {
        // RR1
        let mut rr = RoundRobin::default();
        let got: Vec<u32> = (0..6).map(|_| rr.next(3).0).collect();
        assert_eq!(got, [0, 1, 2, 0, 1, 2]);
        let mut one = RoundRobin::default();
        assert!((0..5).all(|_| one.next(1) == ShardId(0)));
    }

    proptest! {
        // HR2
        #[test]
        fn hash_is_deterministic(id in "[a-z0-9_.-]{1,64}") {
            prop_assert_eq!(fnv1a64(id.as_bytes()), fnv1a64(id.clone().as_bytes()));
        }

        // HR3
        #[test]
        fn hash_route_in_range(shards in 1usize..32, id in "[a-z0-9]{1,20}") {
            let r = hash_route(&id, shards);
            prop_assert!((r.0 as usize) < shards);
            prop_assert_eq!(r, hash_route(&id, shards));
        }

        // RR3
        #[test]
        fn rr_route_in_range(shards in 1usize..32, calls in 1usize..100) {
            let mut rr = RoundRobin::default();
            for i in 0..calls {
                let r = rr.next(shards);
                prop_assert!((r.0 as usize) < shards);
                prop_assert_eq!(r.0 as usize, i % shards);
            }
        }
    }
}
