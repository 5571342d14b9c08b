//! Thread-affinity advice for shards, and applying it to the calling thread (T4).

use serde_json::{json, Value};

use super::{hwloc, CoreId, NodeId, ShardId};

/// How strongly a shard's thread should follow its advice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AffinityEnforcement {
    /// A hint: [`bind_current_thread`] never binds.
    Advisory,
    /// [`bind_current_thread`] binds the calling thread to the recommended core.
    Strict,
    /// Placement is off: nothing binds.
    Disabled,
}

impl AffinityEnforcement {
    /// The snake_case code (`advisory`, `strict`, `disabled`).
    pub fn code(self) -> &'static str {
        match self {
            Self::Advisory => "advisory",
            Self::Strict => "strict",
            Self::Disabled => "disabled",
        }
    }

    /// Parses a code; `None` for anything else.
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "advisory" => Some(Self::Advisory),
            "strict" => Some(Self::Strict),
            "disabled" => Some(Self::Disabled),
            _ => None,
        }
    }
}

/// Where a shard's thread should run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ThreadAffinityAdvice {
    /// The shard.
    pub shard_id: ShardId,
    /// The core to run on.
    pub recommended_core: CoreId,
    /// That core's NUMA node.
    pub recommended_numa_node: NodeId,
    /// How strongly to follow it.
    pub enforcement: AffinityEnforcement,
}

impl ThreadAffinityAdvice {
    /// `{shard_id, recommended_core, recommended_numa_node, enforcement}` (AF2, AF3).
    pub fn to_json(&self) -> Value {
        json!({
            "shard_id": self.shard_id.0,
            "recommended_core": self.recommended_core.0,
            "recommended_numa_node": self.recommended_numa_node.0,
            "enforcement": self.enforcement.code(),
        })
    }
}

/// What [`bind_current_thread`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindOutcome {
    /// True when the calling thread is now bound to the recommended core.
    pub applied: bool,
    /// Why not, when it was not applied.
    pub reason: Option<String>,
}

/// Applies `strict` advice to the calling thread: binds it (hwloc cpubind, thread flag) to the
/// PUs of the recommended core. `advisory` and `disabled` advice never bind (T4). A core that
/// does not exist on this machine, or a binding the OS refuses, gives `applied: false` with the
/// reason; nothing panics.
pub fn bind_current_thread(advice: &ThreadAffinityAdvice) -> BindOutcome {
    let not_applied = |reason: String| BindOutcome { applied: false, reason: Some(reason) };
    match advice.enforcement {
        AffinityEnforcement::Advisory => not_applied("advisory enforcement never binds threads".into()),
        AffinityEnforcement::Disabled => not_applied("affinity enforcement is disabled".into()),
        AffinityEnforcement::Strict => match hwloc::bind_current_thread(advice.recommended_core) {
            Ok(()) => BindOutcome { applied: true, reason: None },
            Err(reason) => not_applied(reason),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for e in [AffinityEnforcement::Advisory, AffinityEnforcement::Strict, AffinityEnforcement::Disabled] {
            assert_eq!(AffinityEnforcement::from_code(e.code()), Some(e));
        }
        assert_eq!(AffinityEnforcement::from_code("Strict"), None);
    }

    #[test]
    fn advice_json() {
        // AF3
        let a = ThreadAffinityAdvice {
            shard_id: ShardId(2),
            recommended_core: CoreId(5),
            recommended_numa_node: NodeId(1),
            enforcement: AffinityEnforcement::Strict,
        };
        assert_eq!(
            a.to_json(),
            json!({"shard_id": 2, "recommended_core": 5, "recommended_numa_node": 1, "enforcement": "strict"})
        );
    }

    #[test]
    fn non_strict_advice_never_binds() {
        for enforcement in [AffinityEnforcement::Advisory, AffinityEnforcement::Disabled] {
            let a = ThreadAffinityAdvice {
                shard_id: ShardId(0),
                recommended_core: CoreId(0),
                recommended_numa_node: NodeId(0),
                enforcement,
            };
            let out = bind_current_thread(&a);
            assert!(!out.applied);
            assert!(out.reason.is_some_and(|r| !r.is_empty()));
        }
    }
}
