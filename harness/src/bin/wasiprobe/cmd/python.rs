//! `wasiprobe python footprint|ext`.

use anyhow::Result;
use wasiprobe::exit;
use wasiprobe::provision::{self};
use wasiprobe::run::{self, Project, RunOptions};

pub fn python_footprint(
    project: &Project,
    popts: provision::Options,
    entry: &str,
    ids: &[String],
    out: &std::path::Path,
    json: bool,
) -> Result<i32> {
    for id in ids {
        if project.matrix.python(id).is_none() {
            return Err(run::unknown("python", id, &project.matrix.python_ids()));
        }
    }
    std::fs::create_dir_all(out)?;
    let opts = RunOptions {
        out: out.to_owned(),
        ..RunOptions::new(popts)
    };
    let rt = wasiprobe_runtimes::WasmtimeRuntime::with_code_cache(
        opts.provision.cache.join("wasmtime-code"),
    )?;
    let mut bad = false;
    for spec in project
        .matrix
        .pythons
        .iter()
        .filter(|p| ids.is_empty() || ids.contains(&p.id))
    {
        let py = wasiprobe::python::fetch(project, spec, &opts.provision);
        if !py.is_ready() {
            eprintln!(
                "wasiprobe: python {}: {}: {}",
                spec.id,
                py.status,
                py.reason.as_deref().unwrap_or("?")
            );
            bad = true;
            continue;
        }
        let c = wasiprobe::python::census::census(&project.root, &py, &rt, &opts)?;
        let closure = wasiprobe::python::closure(&project.root, &py, &rt, entry, &c, &opts)?;
        let f = wasiprobe::python::footprint::footprint(&c, Some(closure));
        wasiprobe::python::footprint::write_strip_plan(&f.strip_plan, out, &spec.id)?;
        if json {
            println!("{}", serde_json::to_string_pretty(&f)?);
        } else {
            print!(
                "{}",
                wasiprobe::render::python_footprint_md(&spec.id, &c, &f)
            );
        }
        eprintln!(
            "strip plan: {}",
            out.join(format!("strip-plan-{}.txt", spec.id)).display()
        );
    }
    Ok(if bad { exit::USAGE } else { exit::OK })
}
