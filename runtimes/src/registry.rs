//! Every runtime by name: how to make it, and the crash-isolated worker it runs in, if any. The
//! list itself is the `runtimes!` invocation in `lib.rs`; a runtime is its own file with an
//! `ENTRY` and one line there. The `[[runtime]]` entries of a project's matrix (command-line
//! runtimes) are runtimes too, looked up after the built-in ones.

use crate::{CliRuntime, CliSpec, HostEnv, Runtime, Unavailable, RUNTIMES};
use anyhow::Result;
use wasiprobe_model::usage::{unknown, UsageError};

/// `--runtime all`: every built-in runtime and every configured one.
pub const ALL: &str = "all";

/// Exit status of a worker asked for something it cannot do.
const WORKER_USAGE: i32 = 2;

pub type Make = fn(&HostEnv) -> Result<Box<dyn Runtime>>;
pub type Worker = fn(&[String]) -> i32;

/// One built-in runtime.
#[derive(Clone, Copy)]
pub struct Entry {
    pub name: &'static str,
    /// None when this build lacks the runtime's cargo feature.
    make: Option<Make>,
    /// `wasiprobe worker NAME …` runs this, for a runtime that isolates guests in a process.
    pub worker: Option<Worker>,
    /// The cargo feature that builds it, for a runtime that is opt-in.
    pub feature: Option<&'static str>,
    /// Why it is missing when its feature is off, when "build with the feature" is not enough.
    without: Option<&'static str>,
}

impl Entry {
    pub const fn new(name: &'static str, make: Make) -> Self {
        Entry {
            name,
            make: Some(make),
            worker: None,
            feature: None,
            without: None,
        }
    }
    pub const fn with_worker(mut self, worker: Worker) -> Self {
        self.worker = Some(worker);
        self
    }
    /// The stand-in for a runtime whose feature is off: asking for it gives an `unavailable`
    /// row saying how to get it, never an "unknown runtime" error.
    pub const fn not_built(
        name: &'static str,
        feature: &'static str,
        without: Option<&'static str>,
    ) -> Self {
        Entry {
            name,
            make: None,
            worker: None,
            feature: Some(feature),
            without,
        }
    }
    pub fn is_built(&self) -> bool {
        self.make.is_some()
    }
    pub fn make(&self, env: &HostEnv) -> Result<Box<dyn Runtime>> {
        match (self.make, self.without, self.feature) {
            (Some(make), _, _) => make(env),
            (None, Some(why), _) => Err(Unavailable(why.into()).into()),
            (None, None, feature) => {
                let feature = feature.unwrap_or(self.name);
                Err(Unavailable(format!(
                    "this wasiprobe was built without the `{feature}` feature \
                     (cargo build --release --features {feature})"
                ))
                .into())
            }
        }
    }
}

/// The built-in runtime names, in report order.
pub fn names() -> Vec<&'static str> {
    RUNTIMES.iter().map(|e| e.name).collect()
}

/// Names a `[[runtime]]` may not take: the built-in runtimes and `all`.
pub fn reserved_names() -> Vec<&'static str> {
    names().into_iter().chain([ALL]).collect()
}

fn known(configured: &[CliSpec]) -> Vec<&str> {
    names()
        .into_iter()
        .chain(configured.iter().map(|c| c.name.as_str()))
        .collect()
}

/// The runtimes a run asks for, `all` expanded, duplicates dropped, unknown names refused
/// (a usage error listing the valid ones). Nothing asked: embedded wasmtime.
pub fn select(asked: &[String], configured: &[CliSpec]) -> Result<Vec<String>, UsageError> {
    if asked.is_empty() {
        return Ok(vec!["wasmtime".into()]);
    }
    let known = known(configured);
    let mut out: Vec<String> = Vec::new();
    for r in asked {
        if r == ALL {
            out.extend(known.iter().map(|s| s.to_string()));
        } else if known.contains(&r.as_str()) {
            out.push(r.clone());
        } else {
            let mut valid = known.clone();
            valid.push(ALL);
            return Err(unknown("runtime", r, &valid));
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|r| seen.insert(r.clone()));
    Ok(out)
}

/// Builds the named runtime. An [`Unavailable`] error means it cannot run on this machine (the
/// report says why in its row); a [`UsageError`] that the name is unknown; any other error is
/// the harness's own failure.
pub fn make(name: &str, env: &HostEnv, configured: &[CliSpec]) -> Result<Box<dyn Runtime>> {
    if let Some(e) = RUNTIMES.iter().find(|e| e.name == name) {
        return e.make(env);
    }
    match configured.iter().find(|c| c.name == name) {
        Some(c) if matches!(c.kind, crate::CliKind::AdapterModule(_)) => Ok(Box::new(
            crate::adapter_module::AdapterModuleRuntime::new(c.clone(), env)?,
        )),
        Some(c) => Ok(Box::new(CliRuntime::new(c.clone(), env)?)),
        None => Err(unknown("runtime", name, &known(configured)).into()),
    }
}

/// `wasiprobe worker NAME ARGS…`: runs the named runtime's worker, in this process.
pub fn worker(args: &[String]) -> i32 {
    let name = args.get(1).map_or("", String::as_str);
    match RUNTIMES.iter().find(|e| e.name == name) {
        Some(Entry {
            worker: Some(w), ..
        }) => w(args),
        _ => {
            let with: Vec<&str> = RUNTIMES
                .iter()
                .filter(|e| e.worker.is_some())
                .map(|e| e.name)
                .collect();
            eprintln!(
                "wasiprobe worker: no worker for '{name}' in this build (workers here: {})",
                if with.is_empty() {
                    "none".to_string()
                } else {
                    with.join(", ")
                }
            );
            WORKER_USAGE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_runtime_has_one_entry_and_names_are_unique() {
        let names = names();
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len(), "{names:?}");
        assert_eq!(
            names.first(),
            Some(&"wasmtime"),
            "the default runtime leads"
        );
    }

    #[test]
    fn selection_expands_all_and_refuses_unknown_names() {
        let all = select(&["all".into()], &[]).unwrap();
        assert_eq!(all, names());
        let e = select(&["wasmtim".into()], &[]).unwrap_err();
        assert!(e.0.contains("unknown runtime 'wasmtim'"), "{e}");
        assert!(e.0.contains("wasmtime"), "lists the valid names: {e}");
        assert_eq!(
            select(&["node".into(), "node".into()], &[]).unwrap(),
            vec!["node".to_string()]
        );
    }

    #[test]
    fn a_runtime_not_built_is_unavailable_naming_its_feature() {
        let e = Entry::not_built("x", "x-feature", None);
        let env = HostEnv {
            cache: std::env::temp_dir(),
            worker_exe: None,
        };
        let err = e.make(&env).err().expect("not built");
        let u = err.downcast_ref::<Unavailable>().expect("Unavailable");
        assert!(u.0.contains("--features x-feature"), "{}", u.0);
    }

    #[test]
    fn an_unknown_worker_is_a_usage_error() {
        assert_eq!(worker(&["worker".into(), "nope".into()]), WORKER_USAGE);
    }
}
