//! The stub census: functions a libc defines so that programs link, but that cannot work —
//! the bodies only set `errno` and return −1, or return a fixed error number.
//!
//! They are the classic trap of an SDK bump: a build system's configure finds the function,
//! the program calls it, and it fails at run time. wasi-libc #463 (SDK 22) added `chmod`,
//! `fchmod`, `fchmodat`, `statvfs` and `fstatvfs` stubs; CPython's configure took them for real
//! and `test_tarfile`, `test_dbm`, `test_dbm_dumb` broke with `OSError: [Errno 52] Function not
//! implemented` until `config.site-wasm32-wasi` said `ac_cv_func_chmod=no` and friends. Later
//! SDKs added pthread stubs (#518 opt-in, #602 in libc itself) and `pthread_create` returning
//! ENOTSUP (#716).
//!
//! Static part (this module): every defined, non-local function of the libc archives the
//! toolchain links (`symbols::link_archives`) is read with wasmparser and interpreted
//! abstractly. A function is a stub when its body ignores its arguments (no `local.get` of a
//! parameter), calls nothing, loads nothing, branches nowhere, stores only constants into
//! `errno` (found through the object's relocations: the `errno` data symbol, directly or as a
//! TLS offset from `__tls_base`), and returns a constant: `errno` stubs set errno and return
//! it; `error-code` stubs set nothing and return an error number (1..=133), as pthread
//! functions do. Such a body has no way to succeed, whatever it is given.
//!
//! Dynamic part: `probes/c/libc_stubs.c` includes a header generated per SDK from this census
//! ([`header`]) that declares each stub with its exact wasm signature under an assembler label
//! (so it links to the libc's definition without its C prototype) and calls it with zero
//! arguments — harmless, since the body reads none — recording what came back. The check
//! `libc_stubs` compares each call with the static prediction.

pub use wasiprobe_model::libc::{config_site, Census, Stub, StubKind};

use crate::provision::Provisioned;
use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The census of the libc `sdk` links C programs against.
pub fn census(sdk: &Provisioned) -> Result<Census> {
    let found = crate::symbols::link_archives(sdk)?;
    let mut stubs = Vec::new();
    let mut unreadable = 0;
    for a in &found.libc {
        let bytes = std::fs::read(a).with_context(|| format!("reading {}", a.display()))?;
        let name = a
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (s, u) =
            census_archive(&bytes, &name).with_context(|| format!("in {}", a.display()))?;
        stubs.extend(s);
        unreadable += u;
    }
    stubs.sort();
    stubs.dedup_by(|a, b| a.name == b.name);
    Ok(Census {
        archives: found.libc,
        stubs,
        unreadable,
    })
}

/// The stubs among the wasm object members of an `ar` archive, and how many members were
/// not wasm objects (LLVM bitcode cannot be read this way).
pub fn census_archive(bytes: &[u8], archive: &str) -> Result<(Vec<Stub>, usize)> {
    let mut out = Vec::new();
    let mut unreadable = 0;
    for m in crate::symbols::archive_members(bytes)? {
        if m.1.starts_with(b"\0asm") {
            out.extend(
                object_stubs(m.1, archive, &m.0).with_context(|| format!("member {}", m.0))?,
            );
        } else {
            unreadable += 1;
        }
    }
    Ok((out, unreadable))
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Val {
    Const(i64),
    /// The address of `errno` (or the TLS base it is an offset from).
    Errno,
    TlsBase,
    Other,
}

/// What the abstract interpretation of one body found, or `None`: not a stub.
fn interpret(
    body: &wasmparser::FunctionBody,
    params: usize,
    has_result: bool,
    errno_at: &dyn Fn(std::ops::Range<usize>) -> Option<Val>,
) -> Result<Option<(Option<i64>, Option<i64>)>> {
    use wasmparser::Operator as O;
    let mut locals: BTreeMap<u32, Val> = BTreeMap::new();
    let mut stack: Vec<Val> = Vec::new();
    let mut errno: Option<i64> = None;
    let ops: Vec<(O, usize)> = body
        .get_operators_reader()?
        .into_iter_with_offsets()
        .collect::<Result<_, _>>()?;
    let end_of_body = body.range().end;
    for (i, (op, at)) in ops.iter().enumerate() {
        let next = ops.get(i + 1).map_or(end_of_body, |x| x.1);
        let reloc = errno_at(*at..next);
        match op {
            O::I32Const { value } => stack.push(reloc.unwrap_or(Val::Const(*value as i64))),
            O::I64Const { value } => stack.push(reloc.unwrap_or(Val::Const(*value))),
            O::GlobalGet { .. } => stack.push(match reloc {
                Some(Val::TlsBase) => Val::TlsBase,
                _ => Val::Other,
            }),
            O::LocalGet { local_index } => {
                if (*local_index as usize) < params {
                    return Ok(None);
                }
                stack.push(*locals.get(local_index).unwrap_or(&Val::Const(0)));
            }
            O::LocalSet { local_index } | O::LocalTee { local_index } => {
                if (*local_index as usize) < params {
                    return Ok(None);
                }
                let v = *stack.last().unwrap_or(&Val::Other);
                if matches!(op, O::LocalSet { .. }) {
                    stack.pop();
                }
                locals.insert(*local_index, v);
            }
            O::I32Add | O::I64Add => {
                let (b, a) = (stack.pop(), stack.pop());
                stack.push(match (a, b) {
                    (Some(Val::Const(x)), Some(Val::Const(y))) => Val::Const(x.wrapping_add(y)),
                    (Some(Val::Errno), _) | (_, Some(Val::Errno)) => Val::Errno,
                    _ => Val::Other,
                });
            }
            O::I32Store { .. } | O::I64Store { .. } => {
                let (value, addr) = (stack.pop(), stack.pop());
                let to_errno = addr == Some(Val::Errno) || reloc == Some(Val::Errno);
                match (to_errno, value) {
                    (true, Some(Val::Const(v))) => errno = Some(v),
                    _ => return Ok(None),
                }
            }
            O::Drop => {
                stack.pop();
            }
            O::Nop => {}
            O::Return => break,
            O::End if next == end_of_body => break,
            _ => return Ok(None),
        }
    }
    let returns = if has_result {
        match stack.last() {
            Some(Val::Const(v)) => Some(*v),
            _ => return Ok(None),
        }
    } else {
        None
    };
    Ok(Some((errno, returns)))
}

fn val_type(t: &wasmparser::ValType) -> String {
    use wasmparser::ValType as V;
    match t {
        V::I32 => "i32",
        V::I64 => "i64",
        V::F32 => "f32",
        V::F64 => "f64",
        _ => "other",
    }
    .into()
}

/// The stubs defined by one wasm object file.
fn object_stubs(wasm: &[u8], archive: &str, member: &str) -> Result<Vec<Stub>> {
    use wasmparser::{
        CompositeInnerType, KnownCustom, Linking, Parser, Payload, SymbolFlags, SymbolInfo, TypeRef,
    };
    let mut types = Vec::new();
    let mut imported_funcs = 0u32;
    let mut func_types = Vec::new();
    let mut bodies = Vec::new();
    let mut code_start = 0usize;
    let mut symbols: Vec<SymbolInfo> = Vec::new();
    let mut relocs = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload? {
            Payload::TypeSection(r) => {
                for rg in r {
                    for st in rg?.into_types() {
                        types.push(match &st.composite_type.inner {
                            CompositeInnerType::Func(f) => Some(f.clone()),
                            _ => None,
                        });
                    }
                }
            }
            Payload::ImportSection(r) => {
                for imp in r.into_imports() {
                    if matches!(imp?.ty, TypeRef::Func(_)) {
                        imported_funcs += 1;
                    }
                }
            }
            Payload::FunctionSection(r) => {
                for t in r {
                    func_types.push(t?);
                }
            }
            Payload::CodeSectionStart { range, .. } => code_start = range.start,
            Payload::CodeSectionEntry(body) => bodies.push(body),
            Payload::CustomSection(c) => match c.as_known() {
                KnownCustom::Linking(reader) => {
                    for sub in reader {
                        if let Linking::SymbolTable(t) = sub? {
                            for s in t {
                                symbols.push(s?);
                            }
                        }
                    }
                }
                KnownCustom::Reloc(r) if c.name() == "reloc.CODE" => {
                    for e in r.entries() {
                        relocs.push(e?);
                    }
                }
                _ => {}
            },
            _ => {}
        }
    }
    // Relocations by absolute byte position, pointing at errno (or the TLS base).
    let target = |sym: u32| -> Option<Val> {
        match symbols.get(sym as usize)? {
            SymbolInfo::Data { name: "errno", .. } => Some(Val::Errno),
            SymbolInfo::Global {
                name: Some("__tls_base"),
                ..
            } => Some(Val::TlsBase),
            _ => None,
        }
    };
    let marks: Vec<(usize, Val)> = relocs
        .iter()
        .filter_map(|r| Some((code_start + r.offset as usize, target(r.index)?)))
        .collect();
    let errno_at = |range: std::ops::Range<usize>| {
        marks
            .iter()
            .find(|(at, _)| range.contains(at))
            .map(|(_, v)| *v)
    };
    let mut out = Vec::new();
    for s in &symbols {
        let SymbolInfo::Func {
            flags,
            index,
            name: Some(name),
        } = s
        else {
            continue;
        };
        // Hidden visibility (clang's default for wasm objects) still links statically.
        if flags.intersects(SymbolFlags::UNDEFINED | SymbolFlags::BINDING_LOCAL)
            || name.starts_with('_')
            || *index < imported_funcs
        {
            continue;
        }
        let i = (*index - imported_funcs) as usize;
        let (Some(body), Some(Some(ty))) = (
            bodies.get(i),
            func_types.get(i).and_then(|t| types.get(*t as usize)),
        ) else {
            continue;
        };
        if ty.results().len() > 1 {
            continue;
        }
        let has_result = !ty.results().is_empty();
        let Some((errno, returns)) = interpret(body, ty.params().len(), has_result, &errno_at)?
        else {
            continue;
        };
        let kind = match (errno, returns) {
            (Some(_), _) => StubKind::Errno,
            (None, Some(r)) if (1..=133).contains(&r) && !ty.params().is_empty() => {
                StubKind::ErrorCode
            }
            _ => continue,
        };
        out.push(Stub {
            name: name.to_string(),
            kind,
            errno,
            returns,
            params: ty.params().iter().map(val_type).collect(),
            result: ty.results().first().map(val_type),
            archive: archive.to_string(),
            member: member.to_string(),
            weak: flags.contains(SymbolFlags::BINDING_WEAK),
        });
    }
    Ok(out)
}

fn c_type(t: &str) -> Option<&'static str> {
    match t {
        "i32" => Some("int32_t"),
        "i64" => Some("int64_t"),
        "f32" => Some("float"),
        "f64" => Some("double"),
        _ => None,
    }
}

/// Whether the generated probe can call `s` (integer and float types only).
pub fn callable(s: &Stub) -> bool {
    s.params.iter().all(|p| c_type(p).is_some())
        && s.result.as_deref().is_none_or(|r| r == "i32" || r == "i64")
        && s.name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The header `probes/c/libc_stubs.c` includes (`wp_stubs.h`): one declaration per stub
/// under its own name as an assembler label, and `wp_call_stubs()`, calling each with zero
/// arguments and reporting through `wp_stub_line` what the static census predicted beside what
/// came back.
pub fn header(sdk: &str, census: &Census) -> String {
    let mut decls = String::new();
    let mut calls = String::new();
    let stubs: Vec<&Stub> = census.stubs.iter().filter(|s| callable(s)).collect();
    for (i, s) in stubs.iter().enumerate() {
        let params: Vec<&str> = s.params.iter().filter_map(|p| c_type(p)).collect();
        let ret = s.result.as_deref().and_then(c_type).unwrap_or("void");
        decls += &format!(
            "extern {ret} wp_stub_{i}({}) __asm__(\"{}\");\n",
            if params.is_empty() {
                "void".to_string()
            } else {
                params.join(", ")
            },
            s.name
        );
        let args = vec!["0"; params.len()].join(", ");
        let call = if ret == "void" {
            format!("wp_stub_{i}({args}); r = 0;")
        } else {
            format!("r = (long long)wp_stub_{i}({args});")
        };
        calls += &format!(
            "    {{ long long r; errno = 0; {call} int e = errno; wp_stub_line(\"{}\", \"{}\", {}, {}, r, e); }}\n",
            s.name,
            match s.kind {
                StubKind::Errno => "errno",
                StubKind::ErrorCode => "error-code",
            },
            s.errno.unwrap_or(-1),
            s.returns.unwrap_or(0),
        );
    }
    format!(
        "/* Generated by wasiprobe from the static stub census of {sdk}'s libc. */\n\
         #include <stdint.h>\n\
         #define WP_STUBS {}\n\
         #define WP_STUBS_UNREADABLE {}\n\
         {decls}\
         static void wp_call_stubs(void) {{\n{calls}}}\n",
        stubs.len(),
        census.unreadable
    )
}

/// Writes the generated header for `sdk` into `dir` (`dir/wp_stubs.h`), returning `dir`.
pub fn write_header(dir: &Path, sdk: &str, census: &Census) -> Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    wasiprobe_util::atomic_write(&dir.join("wp_stubs.h"), header(sdk, census).as_bytes())?;
    Ok(dir.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Compiles C into a wasm object with the first Debian clang found; `None` when there is
    /// none (the matrix test measures the real libcs, where a compiler is always there).
    fn object(src: &str) -> Option<Vec<u8>> {
        let cc = ["clang-19", "clang-16", "clang"].into_iter().find(|c| {
            std::process::Command::new(c)
                .arg("--version")
                .output()
                .is_ok()
        })?;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("x.c"), src).unwrap();
        let o = std::process::Command::new(cc)
            .args([
                "--target=wasm32-wasi",
                "-O2",
                "-nostdlib",
                "-c",
                "x.c",
                "-o",
                "x.o",
            ])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        Some(std::fs::read(dir.path().join("x.o")).unwrap())
    }

    const SRC: &str = r#"
        extern int errno;
        extern int real_work(int);
        int chmod_like(const char *p, int m) { errno = 52; return -1; }
        int create_like(void *t, void *a, void *f, void *arg) { return 58; }
        int reads_arg(int x) { errno = 52; return x ? -1 : 0; }
        int calls(int x) { return real_work(x) ? -1 : 0; }
        int sets_other(int x) { static int y; y = 3; return -1; }
        int noop(void) { return 0; }
        int loads(void) { extern int g; return g; }
        int branches(int x) { if (x) { errno = 1; return -1; } return 0; }
        static int hidden_stub(void) { errno = 52; return -1; }
        int uses_hidden(void) { return hidden_stub(); }
        int __internal(void) { errno = 52; return -1; }
    "#;

    #[test]
    fn a_stub_is_a_body_that_cannot_succeed_and_nothing_else_is() {
        let Some(obj) = object(SRC) else {
            eprintln!("no clang: the census is covered by the matrix test's real libcs");
            return;
        };
        let stubs = object_stubs(&obj, "libx.a", "x.o").unwrap();
        let names: Vec<(&str, StubKind, Option<i64>, Option<i64>)> = stubs
            .iter()
            .map(|s| (s.name.as_str(), s.kind, s.errno, s.returns))
            .collect();
        // uses_hidden: clang inlines the static stub, so it is itself a stub.
        assert_eq!(
            names,
            vec![
                ("chmod_like", StubKind::Errno, Some(52), Some(-1)),
                ("create_like", StubKind::ErrorCode, None, Some(58)),
                ("uses_hidden", StubKind::Errno, Some(52), Some(-1)),
            ],
            "{stubs:#?}"
        );
        let h = header(
            "t",
            &Census {
                archives: vec![],
                stubs,
                unreadable: 0,
            },
        );
        assert!(
            h.contains("extern int32_t wp_stub_0(int32_t, int32_t) __asm__(\"chmod_like\");"),
            "{h}"
        );
        assert!(
            h.contains("wp_stub_line(\"create_like\", \"error-code\", -1, 58, r, e)"),
            "{h}"
        );
        assert!(h.contains("#define WP_STUBS 3"), "{h}");
    }
}
