//! A probe is built only when some check names it: a probe that no check names would be
//! silently never built nor run. So every `probes/c/*.c` must be named by a check, and every
//! check's probe must exist. (wasmtime's test-programs artifacts build refuses a program it
//! cannot classify for the same reason.)

use std::collections::BTreeSet;
use std::path::Path;

fn c_probes() -> BTreeSet<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../probes/c");
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension()? == "c").then(|| p.file_stem().unwrap().to_string_lossy().into_owned())
        })
        .collect()
}

#[test]
fn every_c_probe_is_named_by_a_check_and_every_check_names_a_probe() {
    let probes = c_probes();
    assert!(probes.len() >= 10, "{probes:?}");
    let named: BTreeSet<String> = wasiprobe_checks::all()
        .iter()
        .map(|c| c.probe().to_string())
        .collect();
    let orphans: Vec<&String> = probes.difference(&named).collect();
    assert!(
        orphans.is_empty(),
        "probes/c/{{{}}}.c: no check names these probes, so they are never built nor run; \
         add a check (checks/src/AREA/NAME.rs and one line in its area's area_checks! list) or remove them",
        orphans
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(",")
    );
    let missing: Vec<&String> = named.difference(&probes).collect();
    assert!(
        missing.is_empty(),
        "checks name probes that do not exist: {missing:?}"
    );
}

#[test]
fn check_names_are_unique() {
    let mut names = BTreeSet::new();
    for c in wasiprobe_checks::all() {
        assert!(names.insert(c.name()), "two checks are named {}", c.name());
    }
}
