//! `wasiprobe sdk list|fetch|doctor|env|diff`.

use crate::cli::*;
use anyhow::Result;
use wasiprobe::provision::{self, Provisioned};
use wasiprobe::run::{self, Project, UsageError};
use wasiprobe::{build, exit};

pub fn selected<'a>(
    project: &'a Project,
    ids: &[String],
) -> Result<Vec<&'a wasiprobe::matrix::SdkSpec>> {
    for id in ids {
        if project.matrix.get(id).is_none() {
            return Err(run::unknown("sdk", id, &project.matrix.ids()));
        }
    }
    Ok(project
        .matrix
        .sdks
        .iter()
        .filter(|s| ids.is_empty() || ids.contains(&s.id))
        .collect())
}

fn print_sdks(list: &[Provisioned]) {
    let specs: Vec<wasiprobe::matrix::SdkSpec> = list.iter().map(|p| p.spec.clone()).collect();
    for p in list {
        let status = if p.is_ready() { "ready" } else { "unavailable" };
        println!(
            "{:<18} {:<9} {:<11} {}",
            p.spec.id,
            serde_json::to_value(p.spec.kind)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default(),
            status,
            p.identity.compiler.as_deref().unwrap_or("")
        );
        if let Some(r) = &p.reason {
            println!("{:<18} {r}", "");
        } else {
            println!(
                "{:<18} libc fingerprint {} ({}; matrix says wasi-libc {})",
                "",
                p.identity.libc_fingerprint.as_deref().unwrap_or("?"),
                p.identity.package.as_deref().unwrap_or("no package"),
                p.spec.wasi_libc.as_deref().unwrap_or("?")
            );
        }
        if let Some(line) = provision::provenance_line(&p.spec, &specs) {
            println!("{:<18} {line}", "");
        }
    }
}

pub fn sdk_cmd(project: &Project, popts: &provision::Options, cmd: SdkCmd) -> Result<i32> {
    match cmd {
        SdkCmd::List { json } => {
            let list: Vec<Provisioned> = project
                .matrix
                .sdks
                .iter()
                .map(|s| provision::locate(s, popts))
                .collect();
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                print_sdks(&list);
            }
            Ok(exit::OK)
        }
        SdkCmd::Fetch { ids } => {
            // `[[runtime]]` and `[[python]]` ids are accepted too: their packages are installed.
            let (rt_ids, rest): (Vec<String>, Vec<String>) = ids
                .iter()
                .cloned()
                .partition(|i| project.matrix.runtime(i).is_some());
            let (py_ids, sdk_ids): (Vec<String>, Vec<String>) = rest
                .into_iter()
                .partition(|id| project.matrix.python(id).is_some());
            let sdks = if !sdk_ids.is_empty() || ids.is_empty() {
                selected(project, &sdk_ids)?
            } else {
                vec![]
            };
            let list: Vec<Provisioned> = sdks
                .into_iter()
                .map(|s| provision::fetch(s, popts))
                .collect();
            print_sdks(&list);
            let mut named_missing = list
                .iter()
                .any(|p| !p.is_ready() && ids.contains(&p.spec.id));
            for r in project
                .matrix
                .runtimes
                .iter()
                .filter(|r| r.pypi.is_some() && (ids.is_empty() || rt_ids.contains(&r.name)))
            {
                let pkg = r.pypi.as_deref().unwrap_or_default();
                match wasiprobe::runtime_fetch::fetch_runtime(r, popts) {
                    Ok(()) => println!("{:<18} runtime   ready       {pkg}", r.name),
                    Err(e) => {
                        println!(
                            "{:<18} runtime   unavailable {pkg}\n{:<18} {e:#}",
                            r.name, ""
                        );
                        named_missing |= rt_ids.contains(&r.name);
                    }
                }
            }
            for spec in project.matrix.pythons.iter().filter(|p| {
                // A source build takes minutes: made when named, or by `run --cpython`.
                let built = matches!(p.source, wasiprobe::matrix::PythonSource::Build { .. });
                py_ids.contains(&p.id) || (ids.is_empty() && !built)
            }) {
                let p = wasiprobe::python::fetch(project, spec, popts);
                println!(
                    "{:<22} {:<11} python {} {}",
                    spec.id,
                    p.status,
                    spec.version,
                    p.reason.clone().unwrap_or_else(|| format!(
                        "{} ({} bytes, sha256 {})",
                        p.wasm
                            .as_deref()
                            .map(|w| w.display().to_string())
                            .unwrap_or_default(),
                        p.wasm_bytes,
                        p.sha256.as_deref().unwrap_or("?")
                    ))
                );
                named_missing |= !p.is_ready() && ids.contains(&spec.id);
            }
            // The C-extension probe's CPython headers (root only; otherwise its cells say why).
            for spec in project
                .matrix
                .python_headers
                .iter()
                .filter(|_| ids.is_empty())
            {
                match wasiprobe::python::extension::fetch_headers(spec, &popts.cache) {
                    Ok(dir) => println!(
                        "{:<22} ready       CPython {} headers in {}",
                        "python-headers",
                        spec.version,
                        dir.display()
                    ),
                    Err(e) => println!(
                        "{:<22} unavailable CPython {} headers: {e}",
                        "python-headers", spec.version
                    ),
                }
            }
            Ok(if named_missing { exit::USAGE } else { exit::OK })
        }
        SdkCmd::Doctor { ids } => {
            let mut bad = 0;
            let rt = wasiprobe_runtimes::WasmtimeRuntime::new()?;
            let dir = tempfile::tempdir()?;
            std::fs::create_dir_all(dir.path().join("c"))?;
            std::fs::write(
                dir.path().join("c/doctor.c"),
                "#include <stdio.h>\nint main(void){puts(\"doctor-ok\");return 0;}\n",
            )?;
            let probe = build::Probe {
                name: "doctor".into(),
                source: dir.path().join("c/doctor.c"),
                requires: vec![],
                flags: vec![],
            };
            let cache = build::Cache::new(popts.cache.join("build"));
            for s in selected(project, &ids)? {
                let p = provision::locate(s, popts);
                if !p.is_ready() {
                    println!("{:<18} unavailable: {}", s.id, p.reason.unwrap_or_default());
                    continue;
                }
                let verdict = match cache.build(&p, &probe)? {
                    build::Built::CompileError { stderr, .. } => {
                        format!("compile error: {}", stderr.trim())
                    }
                    build::Built::Ok { wasm, .. } => {
                        use wasiprobe_runtimes::Runtime;
                        let o = rt.run(&wasm, &Default::default())?;
                        if o.stdout == b"doctor-ok\n" {
                            "ok: compiles, links and runs on wasmtime".to_string()
                        } else {
                            format!(
                                "ran but printed {:?} ({:?})",
                                String::from_utf8_lossy(&o.stdout),
                                o.termination
                            )
                        }
                    }
                };
                if !verdict.starts_with("ok") {
                    bad += 1;
                }
                println!("{:<18} {verdict}", s.id);
            }
            Ok(exit::failures_if(bad > 0))
        }
        SdkCmd::Env { id } => {
            selected(project, std::slice::from_ref(&id))?;
            let p = provision::locate(project.matrix.get(&id).unwrap(), popts);
            match provision::sdk_path(&p, popts) {
                Some(dir) => {
                    println!("WASI_SDK_PATH={}", dir.display());
                    Ok(exit::OK)
                }
                None => Err(UsageError(format!(
                    "sdk {id} has no WASI SDK directory: {}",
                    p.reason.as_deref().unwrap_or(
                        "it is not an official wasi-sdk or a deb-libc entry (zig, Debian's system clang and `path` toolchains are not laid out as an SDK)"
                    )
                ))
                .into()),
            }
        }
        SdkCmd::Diff { a, b, json } => {
            selected(project, &[a.clone(), b.clone()])?;
            let mut sides = Vec::new();
            for id in [&a, &b] {
                let p = provision::locate(project.matrix.get(id).unwrap(), popts);
                if !p.is_ready() {
                    let why = p.reason.unwrap_or_default();
                    return Err(UsageError(format!("sdk {id} is unavailable: {why}")).into());
                }
                sides.push((
                    wasiprobe::symbols::libc_symbols(&p)?,
                    wasiprobe::libc::facts(&p),
                ));
            }
            let d = wasiprobe::symbols::diff(&sides[0].0, &sides[1].0);
            let l = wasiprobe_reports::libcdiff::diff(&sides[0].1, &sides[1].1);
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({ "symbols": d, "libc": l }))?
                );
            } else {
                print!("{}", wasiprobe::symbols::diff_text(&d));
                println!();
                for (id, (_, f)) in [&a, &b].iter().zip(&sides) {
                    print!("{}", wasiprobe_reports::libcdiff::stubs_text(id, f));
                }
                println!();
                print!("{}", wasiprobe_reports::libcdiff::diff_text(&a, &b, &l));
            }
            Ok(exit::OK)
        }
    }
}
