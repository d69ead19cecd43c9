//! The memory limit of one guest: the sum over every linear memory and table of its store, so
//! a module with six memories (or forty large tables) cannot have six times the limit.

/// Bytes a table entry is charged: a funcref/externref slot is a pointer on the host.
pub const TABLE_ENTRY_BYTES: u64 = 8;

#[derive(Debug, Clone)]
pub struct MemoryBudget {
    max: u64,
    used: u64,
    /// The total the guest asked for when it was refused: the outcome is then `oom`.
    pub denied: Option<u64>,
}

impl MemoryBudget {
    pub fn new(max: u64) -> Self {
        MemoryBudget {
            max,
            used: 0,
            denied: None,
        }
    }
    pub fn max(&self) -> u64 {
        self.max
    }
    /// A memory or table grows from `current` to `desired` bytes (the engines also call this
    /// for the initial size at instantiation, with `current` 0). Refused growth is remembered.
    pub fn admit(&mut self, current: u64, desired: u64) -> bool {
        let total = self.used - current.min(self.used) + desired;
        if total > self.max {
            self.denied = Some(total);
            return false;
        }
        self.used = total;
        true
    }
    /// A memory of `bytes` was freed (engines whose memories can be dropped before the store).
    pub fn release(&mut self, bytes: u64) {
        self.used = self.used.saturating_sub(bytes);
    }
    /// Tables grow in entries, memories in bytes.
    pub fn admit_table(&mut self, current: usize, desired: usize) -> bool {
        self.admit(
            current as u64 * TABLE_ENTRY_BYTES,
            desired as u64 * TABLE_ENTRY_BYTES,
        )
    }
}

/// Bytes a module asks for before it runs: the initial size of every memory and table it
/// defines (imported ones are the host's). A runtime that cannot hook growth (node, a CLI)
/// refuses a module whose declaration alone passes the limit, so that many memories or large
/// tables are bounded there too; growth past it is each runtime's own business.
pub fn declared_bytes(wasm: &[u8]) -> Result<u64, String> {
    let mut total = 0u64;
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        match payload.map_err(|e| e.to_string())? {
            wasmparser::Payload::MemorySection(r) => {
                for m in r {
                    let m = m.map_err(|e| e.to_string())?;
                    let page = 1u64 << m.page_size_log2.unwrap_or(16);
                    total = total.saturating_add(m.initial.saturating_mul(page));
                }
            }
            wasmparser::Payload::TableSection(r) => {
                for t in r {
                    let t = t.map_err(|e| e.to_string())?;
                    total = total.saturating_add(t.ty.initial.saturating_mul(TABLE_ENTRY_BYTES));
                }
            }
            _ => {}
        }
    }
    Ok(total)
}

/// The `oom` outcome of a module whose declared memories and tables alone pass the limit, for
/// runtimes that cannot bound them while it runs; None when it may run (or cannot be parsed:
/// the runtime then reports the load error itself).
pub fn over_declared(
    module: &std::path::Path,
    spec: &crate::RunSpec,
) -> anyhow::Result<Option<crate::Outcome>> {
    let wasm =
        std::fs::read(module).map_err(|e| anyhow::anyhow!("read {}: {e}", module.display()))?;
    let limit = spec.limits.memory_bytes;
    Ok(match declared_bytes(&wasm) {
        Ok(bytes) if bytes > limit => Some(crate::Outcome {
            termination: crate::Termination::Oom {
                requested_bytes: bytes,
            },
            stdout: vec![],
            stderr: format!(
                "the module declares {bytes} bytes of memories and tables, over the limit of {limit}"
            )
            .into_bytes(),
            duration: std::time::Duration::ZERO,
            host_calls: Default::default(),
        }),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_is_the_sum_over_memories() {
        let mut b = MemoryBudget::new(100);
        assert!(b.admit(0, 60));
        assert!(!b.admit(0, 60), "a second memory of 60 passes the sum");
        assert_eq!(b.denied, Some(120));
        assert!(b.admit(60, 90), "growing the first within the limit");
        assert!(b.admit(0, 10));
        assert!(!b.admit(0, 1));
    }

    #[test]
    fn declared_bytes_sum_memories_and_tables() {
        let wasm = wat::parse_str(
            r#"(module (import "m" "t" (table 99 funcref)) (memory 2) (memory 3) (table 10 funcref))"#,
        )
        .unwrap();
        assert_eq!(
            declared_bytes(&wasm),
            Ok(5 * 65536 + 10 * TABLE_ENTRY_BYTES)
        );
        assert!(declared_bytes(b"not wasm").is_err());
    }

    #[test]
    fn tables_count_by_entry() {
        let mut b = MemoryBudget::new(80);
        assert!(b.admit_table(0, 10));
        assert!(!b.admit_table(10, 11));
    }
}
