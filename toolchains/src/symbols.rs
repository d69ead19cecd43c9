//! The symbols each SDK's libc defines, and the difference between two SDKs
//! (`wasiprobe sdk diff A B`).
//!
//! Which archives are "the libc" is asked of the toolchain itself: a trivial program is linked
//! with `-v`, and the linker line names them — explicitly (zig builds wasi-libc from source on
//! first use and passes its cached `libc.a`, plus `libzigc.a` from 0.15 on, where zig implements
//! part of libc in Zig), or as `-lc` resolved in the `-L` directories (clang with a sysroot,
//! e.g. Debian's `/usr/lib/wasm32-wasi/libc.a`). The same works for every toolchain kind and
//! builds zig's libc when it is not cached yet.
//!
//! Symbols are read without external tools: the archive members are wasm object files, whose
//! `linking` custom section carries the symbol table. "Defined" means what
//! `llvm-nm --extern-only --defined-only` lists: not undefined, not local (weak and hidden
//! definitions count).

use crate::provision::Provisioned;
use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;
use wasiprobe_util::command_output;

/// Building zig's wasi-libc the first time takes minutes on a small machine.
const LINK_TIMEOUT: Duration = Duration::from_secs(900);

/// Archive file names that are libc: wasi-libc itself, and zig's Zig-implemented part of it.
const LIBC_ARCHIVES: &[&str] = &["libc.a", "libzigc.a"];
/// Archive name prefixes of the compiler runtime, which also defines some libc functions
/// (zig's compiler_rt has memset, memcmp and the math functions; musl's copies are dropped).
const RUNTIME_ARCHIVES: &[&str] = &["libcompiler_rt", "libclang_rt"];

#[derive(Debug, Clone, Serialize)]
pub struct LibcSymbols {
    pub sdk: String,
    pub archives: Vec<PathBuf>,
    /// Defined global symbols, over all libc archives.
    pub defined: BTreeSet<String>,
    pub runtime_archives: Vec<PathBuf>,
    /// Defined global symbols of the compiler runtime linked beside libc.
    pub runtime: BTreeSet<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SymbolDiff {
    pub a: Side,
    pub b: Side,
    /// Defined in B's libc, not in A's.
    pub added: Vec<String>,
    /// Defined in A's libc, not in B's.
    pub removed: Vec<String>,
    pub common: usize,
    /// Of `added`: those A's compiler runtime defined (moved, not new to a C program).
    pub added_from_runtime: Vec<String>,
    /// Of `removed`: those B's compiler runtime defines (moved, still there for a C program).
    pub removed_to_runtime: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Side {
    pub sdk: String,
    pub archives: Vec<PathBuf>,
    pub symbols: usize,
    pub runtime_archives: Vec<PathBuf>,
    pub runtime_symbols: usize,
}

pub fn diff(a: &LibcSymbols, b: &LibcSymbols) -> SymbolDiff {
    let side = |s: &LibcSymbols| Side {
        sdk: s.sdk.clone(),
        archives: s.archives.clone(),
        symbols: s.defined.len(),
        runtime_archives: s.runtime_archives.clone(),
        runtime_symbols: s.runtime.len(),
    };
    let added: Vec<String> = b.defined.difference(&a.defined).cloned().collect();
    let removed: Vec<String> = a.defined.difference(&b.defined).cloned().collect();
    SymbolDiff {
        a: side(a),
        b: side(b),
        added_from_runtime: added
            .iter()
            .filter(|s| a.runtime.contains(*s))
            .cloned()
            .collect(),
        removed_to_runtime: removed
            .iter()
            .filter(|s| b.runtime.contains(*s))
            .cloned()
            .collect(),
        added,
        removed,
        common: a.defined.intersection(&b.defined).count(),
    }
}

pub fn diff_text(d: &SymbolDiff) -> String {
    let mut out = String::new();
    for s in [&d.a, &d.b] {
        out += &format!("{}: {} defined symbols in", s.sdk, s.symbols);
        for a in &s.archives {
            out += &format!(" {}", a.display());
        }
        out += &format!("; compiler runtime: {}", s.runtime_symbols);
        for a in &s.runtime_archives {
            out += &format!(" {}", a.display());
        }
        out.push('\n');
    }
    out += &format!(
        "{} → {}: {} added ({} from the compiler runtime), {} removed ({} to the compiler runtime), {} in both\n",
        d.a.sdk,
        d.b.sdk,
        d.added.len(),
        d.added_from_runtime.len(),
        d.removed.len(),
        d.removed_to_runtime.len(),
        d.common
    );
    for (sign, list, moved, note) in [
        (
            "+",
            &d.added,
            &d.added_from_runtime,
            "was in the compiler runtime",
        ),
        (
            "-",
            &d.removed,
            &d.removed_to_runtime,
            "now in the compiler runtime",
        ),
    ] {
        for s in list.iter() {
            if moved.contains(s) {
                out += &format!("{sign} {s}  ({note})\n");
            } else {
                out += &format!("{sign} {s}\n");
            }
        }
    }
    out
}

fn symbols_of(archives: &[PathBuf]) -> Result<BTreeSet<String>> {
    let mut defined = BTreeSet::new();
    for a in archives {
        let bytes = std::fs::read(a).with_context(|| format!("reading {}", a.display()))?;
        defined.extend(archive_symbols(&bytes).with_context(|| format!("in {}", a.display()))?);
    }
    Ok(defined)
}

/// The defined symbols of `sdk`'s libc (building it first if the toolchain does so lazily).
pub fn libc_symbols(sdk: &Provisioned) -> Result<LibcSymbols> {
    let found = link_archives(sdk)?;
    Ok(LibcSymbols {
        sdk: sdk.spec.id.clone(),
        defined: symbols_of(&found.libc)?,
        runtime: symbols_of(&found.runtime)?,
        archives: found.libc,
        runtime_archives: found.runtime,
    })
}

/// The archives on a link line: libc, and the compiler runtime.
#[derive(Debug, Default, PartialEq)]
pub struct LinkArchives {
    pub libc: Vec<PathBuf>,
    pub runtime: Vec<PathBuf>,
}

/// The archives the toolchain links a C program against, from its own `-v` output.
pub fn link_archives(sdk: &Provisioned) -> Result<LinkArchives> {
    let c = sdk.compiler.as_ref().with_context(|| {
        format!(
            "{} is not ready: {}",
            sdk.spec.id,
            sdk.reason.as_deref().unwrap_or("?")
        )
    })?;
    let dir = tempfile::tempdir()?;
    let src = dir.path().join("libc_probe.c");
    std::fs::write(
        &src,
        "#include <stdio.h>\nint main(void) { puts(\"\"); return 0; }\n",
    )?;
    let mut cmd = c.command();
    cmd.args(crate::build::CFLAGS)
        .arg("-v")
        .arg(&src)
        .arg("-o")
        .arg(dir.path().join("libc_probe.wasm"))
        .current_dir(dir.path());
    let out = command_output(cmd, LINK_TIMEOUT)?;
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if !out.status.success() {
        bail!(
            "linking a trivial program with {} failed: {}",
            sdk.spec.id,
            text.trim()
        );
    }
    let found = archives_on_link_line(&text);
    if found.libc.is_empty() {
        bail!(
            "{}: the linker line of `-v` names no libc archive (looked for {} and -lc in -L directories)",
            sdk.spec.id,
            LIBC_ARCHIVES.join(", ")
        );
    }
    Ok(found)
}

/// Finds the libc and compiler-runtime archives on the wasm-ld line of a compiler's `-v` output.
pub fn archives_on_link_line(verbose: &str) -> LinkArchives {
    let mut found = LinkArchives::default();
    let Some(line) = verbose.lines().rev().find(|l| l.contains("wasm-ld")) else {
        return found;
    };
    let tokens: Vec<String> = line
        .split_whitespace()
        .map(|t| t.trim_matches('"').to_string())
        .collect();
    let mut search = Vec::new();
    let mut wants_lc = false;
    let mut i = 0;
    while i < tokens.len() {
        let t = &tokens[i];
        if t == "-L" && i + 1 < tokens.len() {
            search.push(PathBuf::from(&tokens[i + 1]));
            i += 1;
        } else if let Some(d) = t.strip_prefix("-L") {
            search.push(PathBuf::from(d));
        } else if t == "-lc" {
            wants_lc = true;
        } else if let Some(name) = Path::new(t).file_name().and_then(|n| n.to_str()) {
            let list = if LIBC_ARCHIVES.contains(&name) {
                Some(&mut found.libc)
            } else if name.ends_with(".a") && RUNTIME_ARCHIVES.iter().any(|r| name.starts_with(r)) {
                Some(&mut found.runtime)
            } else {
                None
            };
            if let Some(list) = list {
                if !list.iter().any(|p| p == Path::new(t)) {
                    list.push(PathBuf::from(t));
                }
            }
        }
        i += 1;
    }
    if wants_lc {
        if let Some(p) = search
            .iter()
            .map(|d| d.join("libc.a"))
            .find(|p| p.is_file())
        {
            if !found.libc.contains(&p) {
                found.libc.push(p);
            }
        }
    }
    found
}

/// One member of an `ar` archive.
struct Member<'a> {
    name: String,
    /// Where its header starts: what the archive's symbol index points at.
    offset: usize,
    data: &'a [u8],
}

/// An archive's members (symbol and name tables left out) and its GNU symbol index:
/// (symbol, offset of the member defining it).
struct Archive<'a> {
    members: Vec<Member<'a>>,
    index: Vec<(String, usize)>,
}

/// The GNU symbol index (`/`: 32-bit big-endian offsets, `/SYM64/`: 64-bit).
fn gnu_index(data: &[u8], width: usize) -> Result<Vec<(String, usize)>> {
    let num = |at: usize| -> Result<usize> {
        let b = data.get(at..at + width).context("truncated symbol index")?;
        Ok(b.iter().fold(0usize, |v, &x| v << 8 | x as usize))
    };
    let n = num(0)?;
    let names_at = n
        .checked_add(1)
        .and_then(|k| k.checked_mul(width))
        .filter(|e| *e <= data.len())
        .context("symbol index count past its end")?;
    let names = data[names_at..].split(|&b| b == 0);
    (0..n)
        .zip(names)
        .map(|(i, name)| {
            Ok((
                String::from_utf8_lossy(name).into_owned(),
                num(width * (i + 1))?,
            ))
        })
        .collect()
}

/// Reads a (GNU or BSD) `ar` archive.
fn ar_members(bytes: &[u8]) -> Result<Archive<'_>> {
    if !bytes.starts_with(b"!<arch>\n") {
        bail!("not an ar archive (thin archives are not read)");
    }
    let mut pos = 8;
    let mut long_names: &[u8] = &[];
    let mut out = Vec::new();
    let mut index = Vec::new();
    while pos + 60 <= bytes.len() {
        let h = &bytes[pos..pos + 60];
        if &h[58..60] != b"`\n" {
            bail!("corrupt member header at byte {pos}");
        }
        let field = |r: std::ops::Range<usize>| String::from_utf8_lossy(&h[r]).trim().to_string();
        let size: usize = field(48..58)
            .parse()
            .with_context(|| format!("member size at byte {pos}"))?;
        let start = pos + 60;
        let end = start
            .checked_add(size)
            .filter(|e| *e <= bytes.len())
            .with_context(|| format!("member at byte {pos} runs past the end"))?;
        let raw = field(0..16);
        let mut data = &bytes[start..end];
        let name = if raw == "//" {
            long_names = data;
            None
        } else if raw == "/" || raw == "/SYM64/" {
            index = gnu_index(data, if raw == "/" { 4 } else { 8 })?;
            None
        } else if raw.starts_with("__.SYMDEF") {
            None
        } else if let Some(n) = raw.strip_prefix("#1/") {
            // BSD: the name is the first N bytes of the data.
            let n: usize = n.parse().context("BSD long name length")?;
            let (name, rest) = data.split_at(n.min(data.len()));
            data = rest;
            Some(
                String::from_utf8_lossy(name)
                    .trim_end_matches('\0')
                    .to_string(),
            )
        } else if let Some(off) = raw.strip_prefix('/').and_then(|o| o.parse::<usize>().ok()) {
            let tail = long_names.get(off..).unwrap_or_default();
            let end = tail
                .iter()
                .position(|&b| b == b'\n' || b == b'/')
                .unwrap_or(tail.len());
            Some(String::from_utf8_lossy(&tail[..end]).into_owned())
        } else {
            Some(raw.trim_end_matches('/').to_string())
        };
        if let Some(name) = name {
            out.push(Member {
                name,
                offset: pos,
                data,
            });
        }
        pos = end + (end & 1);
    }
    Ok(Archive {
        members: out,
        index,
    })
}

/// The members of an `ar` archive as (name, bytes), symbol and name tables left out.
pub fn archive_members(bytes: &[u8]) -> Result<Vec<(String, &[u8])>> {
    Ok(ar_members(bytes)?
        .members
        .into_iter()
        .map(|m| (m.name, m.data))
        .collect())
}

/// Defined, non-local symbols of every object in an archive: read from the `linking` section of
/// wasm objects; for members that are not (zig 0.10-0.13 build wasi-libc as LLVM bitcode for
/// LTO), from the archive's symbol index, which lists exactly the same set for wasm members
/// (checked on Debian's and zig 0.15's libc.a).
pub fn archive_symbols(bytes: &[u8]) -> Result<BTreeSet<String>> {
    let archive = ar_members(bytes)?;
    let mut out = BTreeSet::new();
    let mut opaque = BTreeSet::new();
    for m in &archive.members {
        if m.data.starts_with(b"\0asm") {
            object_symbols(m.data, &mut out).with_context(|| format!("member {}", m.name))?;
        } else {
            opaque.insert(m.offset);
        }
    }
    if !opaque.is_empty() && archive.index.is_empty() {
        bail!(
            "{} members are not wasm objects (LLVM bitcode?) and the archive has no symbol index",
            opaque.len()
        );
    }
    out.extend(
        archive
            .index
            .into_iter()
            .filter(|(_, at)| opaque.contains(at))
            .map(|(name, _)| name),
    );
    Ok(out)
}

fn object_symbols(wasm: &[u8], out: &mut BTreeSet<String>) -> Result<()> {
    use wasmparser::SymbolFlags;
    for (flags, name) in linking_symbols(wasm)? {
        if !flags.intersects(SymbolFlags::UNDEFINED | SymbolFlags::BINDING_LOCAL) {
            out.insert(name);
        }
    }
    Ok(())
}

/// The named symbols of a wasm object file's `linking` symbol table, with their flags, in
/// table order: an undefined function or global without an explicit name is named by its
/// import; section symbols, and symbols still without a name, are left out.
pub fn linking_symbols(obj: &[u8]) -> Result<Vec<(wasmparser::SymbolFlags, String)>> {
    use wasmparser::{KnownCustom, Linking, Parser, Payload, SymbolInfo, TypeRef};
    let mut func_imports = Vec::new();
    let mut global_imports = Vec::new();
    let mut out = Vec::new();
    for payload in Parser::new(0).parse_all(obj) {
        match payload? {
            Payload::ImportSection(r) => {
                for imp in r.into_imports() {
                    let imp = imp?;
                    match imp.ty {
                        TypeRef::Func(_) => func_imports.push(imp.name.to_string()),
                        TypeRef::Global(_) => global_imports.push(imp.name.to_string()),
                        _ => {}
                    }
                }
            }
            Payload::CustomSection(c) => {
                let KnownCustom::Linking(reader) = c.as_known() else {
                    continue;
                };
                for sub in reader {
                    let Linking::SymbolTable(symbols) = sub? else {
                        continue;
                    };
                    for s in symbols {
                        let (flags, name) = match s? {
                            SymbolInfo::Func { flags, name, index } => (
                                flags,
                                name.map(String::from)
                                    .or_else(|| func_imports.get(index as usize).cloned()),
                            ),
                            SymbolInfo::Global { flags, name, index } => (
                                flags,
                                name.map(String::from)
                                    .or_else(|| global_imports.get(index as usize).cloned()),
                            ),
                            SymbolInfo::Data { flags, name, .. } => (flags, Some(name.to_string())),
                            SymbolInfo::Event { flags, name, .. }
                            | SymbolInfo::Table { flags, name, .. } => {
                                (flags, name.map(String::from))
                            }
                            SymbolInfo::Section { .. } => continue,
                        };
                        if let Some(n) = name {
                            out.push((flags, n));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_line_names_zig_archives_and_resolves_lc() {
        let zig = "wasm-ld --error-limit=0 -O3 -o t.wasm /c/o/1/crt1-command.o /c/o/2/libc.a /c/o/3/t.o /c/o/4/libzigc.a /c/o/5/libcompiler_rt.a";
        assert_eq!(
            archives_on_link_line(zig),
            LinkArchives {
                libc: vec![
                    PathBuf::from("/c/o/2/libc.a"),
                    PathBuf::from("/c/o/4/libzigc.a")
                ],
                runtime: vec![PathBuf::from("/c/o/5/libcompiler_rt.a")],
            }
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("libc.a"), b"!<arch>\n").unwrap();
        let clang = format!(
            " \"/usr/bin/wasm-ld-16\" -m wasm32 -L{} /x/crt1.o /tmp/t.o -lc /x/libclang_rt.builtins-wasm32.a -o t.wasm",
            dir.path().display()
        );
        assert_eq!(
            archives_on_link_line(&format!("clang version 16\n{clang}\n")),
            LinkArchives {
                libc: vec![dir.path().join("libc.a")],
                runtime: vec![PathBuf::from("/x/libclang_rt.builtins-wasm32.a")],
            }
        );
        assert_eq!(
            archives_on_link_line("no linker here"),
            LinkArchives::default()
        );
    }

    /// A wasm object with a linking section: defined `f` (global), local `g`, undefined `h`
    /// (without an explicit name: named by its import, function 0), weak defined `w`, data `d`.
    fn object() -> Vec<u8> {
        fn leb(mut v: u32, out: &mut Vec<u8>) {
            loop {
                let b = (v & 0x7f) as u8;
                v >>= 7;
                if v == 0 {
                    out.push(b);
                    break;
                }
                out.push(b | 0x80);
            }
        }
        fn name(s: &str, out: &mut Vec<u8>) {
            leb(s.len() as u32, out);
            out.extend_from_slice(s.as_bytes());
        }
        let mut syms = Vec::new();
        leb(5, &mut syms);
        for (flags, n) in [(0u32, "f"), (2, "g"), (1, "w")] {
            syms.push(0); // function
            leb(flags, &mut syms);
            leb(1, &mut syms);
            name(n, &mut syms);
        }
        syms.push(0); // undefined function, no explicit name
        leb(0x10, &mut syms);
        leb(0, &mut syms);
        syms.push(1); // data, defined: segment 0, offset 0, size 4
        leb(0, &mut syms);
        name("d", &mut syms);
        leb(0, &mut syms);
        leb(0, &mut syms);
        leb(4, &mut syms);
        let mut linking = Vec::new();
        name("linking", &mut linking);
        leb(2, &mut linking); // version
        linking.push(8); // WASM_SYMBOL_TABLE
        leb(syms.len() as u32, &mut linking);
        linking.extend(syms);
        let mut imports = Vec::new();
        leb(1, &mut imports);
        name("env", &mut imports);
        name("h", &mut imports);
        imports.extend([0, 0]); // a function of type 0
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        m.push(2); // import section
        leb(imports.len() as u32, &mut m);
        m.extend(imports);
        m.push(0); // custom section
        leb(linking.len() as u32, &mut m);
        m.extend(linking);
        m
    }

    fn header(name: &str, size: usize) -> Vec<u8> {
        format!("{name:<16}{:<12}{:<6}{:<6}{:<8}{size:<10}`\n", 0, 0, 0, 644).into_bytes()
    }

    /// An archive of `members` (the second one named through a GNU long-name table) and, when
    /// `index` names any, a GNU symbol index (symbol, member number) at the end.
    fn ar(members: &[(&str, &[u8])], index: &[(&str, usize)]) -> Vec<u8> {
        let mut a = b"!<arch>\n".to_vec();
        let long = b"a_long_member_name.o/\n";
        a.extend(header("//", long.len()));
        a.extend_from_slice(long);
        let mut offsets = Vec::new();
        for (i, (n, data)) in members.iter().enumerate() {
            offsets.push(a.len());
            let n = if i == 1 { "/0".into() } else { format!("{n}/") };
            a.extend(header(&n, data.len()));
            a.extend_from_slice(data);
            if data.len() % 2 == 1 {
                a.push(b'\n');
            }
        }
        if !index.is_empty() {
            let mut d = (index.len() as u32).to_be_bytes().to_vec();
            for (_, m) in index {
                d.extend((offsets[*m] as u32).to_be_bytes());
            }
            for (s, _) in index {
                d.extend(s.as_bytes());
                d.push(0);
            }
            a.extend(header("/", d.len()));
            a.extend(d);
        }
        a
    }

    #[test]
    fn the_linking_symbols_of_an_object_with_their_flags_an_unnamed_import_named_by_its_import() {
        let syms: Vec<(String, u32)> = linking_symbols(&object())
            .unwrap()
            .into_iter()
            .map(|(flags, name)| (name, flags.bits()))
            .collect();
        let want = [("f", 0), ("g", 2), ("w", 1), ("h", 0x10), ("d", 0)];
        assert_eq!(syms, want.map(|(n, f)| (n.to_string(), f)));
        assert!(linking_symbols(b"\0asm\x01\0\0\0\x02\x05\x01").is_err());
    }

    #[test]
    fn defined_global_symbols_of_wasm_members_and_the_index_for_the_others() {
        let obj = object();
        let bitcode: &[u8] = b"BC\xc0\xde";
        let a = ar(
            &[("x.o", &obj), ("long", bitcode), ("y.o", &obj)],
            &[("f", 0), ("from_bitcode", 1), ("f", 2)],
        );
        let names: Vec<String> = ar_members(&a)
            .unwrap()
            .members
            .into_iter()
            .map(|m| m.name)
            .collect();
        assert_eq!(names, ["x.o", "a_long_member_name.o", "y.o"]);
        let syms = archive_symbols(&a).unwrap();
        assert_eq!(
            syms.into_iter().collect::<Vec<_>>(),
            ["d", "f", "from_bitcode", "w"]
        );
        // Without an index a bitcode member cannot be read: an error, not a silent gap.
        let e = archive_symbols(&ar(&[("x.o", &obj), ("long", bitcode)], &[])).unwrap_err();
        assert!(e.to_string().contains("no symbol index"), "{e}");
        assert!(archive_symbols(b"not an archive").is_err());
    }

    #[test]
    fn diff_lists_added_and_removed_and_what_moved_to_the_runtime() {
        let s = |id: &str, v: &[&str], rt: &[&str]| LibcSymbols {
            sdk: id.into(),
            archives: vec![],
            defined: v.iter().map(|x| x.to_string()).collect(),
            runtime_archives: vec![],
            runtime: rt.iter().map(|x| x.to_string()).collect(),
        };
        let d = diff(&s("a", &["x", "y", "m"], &[]), &s("b", &["y", "z"], &["m"]));
        assert_eq!(d.added, ["z"]);
        assert_eq!(d.removed, ["m", "x"]);
        assert_eq!(d.removed_to_runtime, ["m"]);
        assert!(d.added_from_runtime.is_empty());
        assert_eq!(d.common, 1);
        assert!(diff_text(&d).contains("- m  (now in the compiler runtime)\n- x\n"));
    }
}
