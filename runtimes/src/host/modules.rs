//! Compiled modules by content hash: a probe binary runs in many cells and is compiled once per
//! engine however many of them run it.

use crate::Outcome;
use anyhow::{Context as _, Result};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Reads a module and runs it. Bytes the engine will not compile are the guest's load error,
/// timed from the start of compiling, not a failure of the harness; so is a module whose
/// compilation took `limit` or longer (`Limits::compile`), which is then not run.
pub fn compile_then_run<M>(
    module: &Path,
    limit: Duration,
    compile: impl FnOnce(&[u8]) -> Result<M>,
    run: impl FnOnce(&M) -> Result<Outcome>,
) -> Result<Outcome> {
    let bytes = std::fs::read(module).with_context(|| format!("read {}", module.display()))?;
    let start = Instant::now();
    match compile(&bytes) {
        Ok(_) if start.elapsed() >= limit => Ok(Outcome::load_error(
            format!(
                "compiling the module took {} ms, past the compile limit of {} ms \
                 (--compile-limit-ms); the guest was not run",
                start.elapsed().as_millis(),
                limit.as_millis()
            ),
            start.elapsed(),
        )),
        Ok(m) => run(&m),
        Err(e) => Ok(Outcome::load_error(format!("{e:#}"), start.elapsed())),
    }
}

pub struct ModuleCache<M>(Mutex<HashMap<[u8; 32], M>>);

impl<M> Default for ModuleCache<M> {
    fn default() -> Self {
        ModuleCache(Mutex::new(HashMap::new()))
    }
}

impl<M: Clone> ModuleCache<M> {
    /// The module compiled from `bytes`, or `compile` (given the content hash) run now and its
    /// module kept. The lock is not held while compiling, so two cells may compile the same
    /// bytes once each; the second result replaces the first.
    pub fn get_or_compile(
        &self,
        bytes: &[u8],
        compile: impl FnOnce(&[u8; 32]) -> Result<M>,
    ) -> Result<M> {
        let key: [u8; 32] = Sha256::digest(bytes).into();
        if let Some(m) = self.0.lock().unwrap().get(&key) {
            return Ok(m.clone());
        }
        let m = compile(&key)?;
        self.0.lock().unwrap().insert(key, m.clone());
        Ok(m)
    }
}
