//! Re-derives the Preview 1 table from independent sources on this machine:
//! the witx spec wasmtime-wasi ships, and wasi-libc's C bindings (the
//! generated `__imported_wasi_snapshot_preview1_*` declarations in
//! `__wasilibc_real.c`, and the public `__wasi_*` prototypes in `api.h`).
//! A source that is absent fails its test, naming what provides it: the README's test command
//! installs every one (the zig wheels and Debian's wasi-libc through `wasiprobe sdk fetch`), so
//! a pass always means the table was compared.

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use wasiprobe_coverage::{lookup, ValTy, PREVIEW1};

use ValTy::{I32, I64};

type Sig = (Vec<ValTy>, Vec<ValTy>);

fn home() -> PathBuf {
    PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
}

fn table_sig(name: &str) -> Option<Sig> {
    lookup(name).map(|f| (f.params.to_vec(), f.results.to_vec()))
}

/// Compares declarations from one source with the table; returns one line
/// per disagreement.
fn compare(source: &str, decls: &[(String, Sig)]) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, sig) in decls {
        match table_sig(name) {
            None => problems.push(format!("{source}: `{name}` is not in PREVIEW1")),
            Some(t) if &t != sig => problems.push(format!(
                "{source}: `{name}` declared {sig:?}, table has {t:?}"
            )),
            Some(_) => {}
        }
    }
    problems
}

fn note_absent(source: &str, decls: &[(String, Sig)]) {
    let seen: BTreeSet<&str> = decls.iter().map(|(n, _)| n.as_str()).collect();
    let absent: Vec<&str> = PREVIEW1
        .iter()
        .map(|f| f.name)
        .filter(|n| !seen.contains(n))
        .collect();
    println!(
        "note: {source}: {} declarations, all match; not declared there: {absent:?}",
        decls.len()
    );
}

#[test]
fn table_has_46_unique_entries() {
    assert_eq!(PREVIEW1.len(), 46);
    let names: BTreeSet<&str> = PREVIEW1.iter().map(|f| f.name).collect();
    assert_eq!(names.len(), PREVIEW1.len(), "duplicate names in PREVIEW1");
    for f in PREVIEW1 {
        let want: &[ValTy] = if f.name == "proc_exit" { &[] } else { &[I32] };
        assert_eq!(f.results, want, "{}", f.name);
    }
}

// ---------------------------------------------------------------- witx ---

#[derive(Debug, Clone, PartialEq)]
enum Sx {
    Atom(String),
    Str(String),
    List(Vec<Sx>),
}

impl Sx {
    fn atom(&self) -> Option<&str> {
        match self {
            Sx::Atom(a) => Some(a),
            _ => None,
        }
    }
    fn list(&self) -> Option<&[Sx]> {
        match self {
            Sx::List(l) => Some(l),
            _ => None,
        }
    }
    /// `(head ...)` lists directly inside this one.
    fn children<'a>(&'a self, head: &'a str) -> impl Iterator<Item = &'a [Sx]> + 'a {
        self.list()
            .unwrap_or(&[])
            .iter()
            .filter_map(Sx::list)
            .filter(move |l| l.first().and_then(Sx::atom) == Some(head))
    }
}

fn parse_sx(src: &str) -> Vec<Sx> {
    let b = src.as_bytes();
    let mut stack: Vec<Vec<Sx>> = vec![Vec::new()];
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b';' if b.get(i + 1) == Some(&b';') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            c if c.is_ascii_whitespace() => i += 1,
            b'(' => {
                stack.push(Vec::new());
                i += 1;
            }
            b')' => {
                let done = stack.pop().expect("unbalanced )");
                stack.last_mut().expect("unbalanced )").push(Sx::List(done));
                i += 1;
            }
            b'"' => {
                let end = i + 1 + src[i + 1..].find('"').expect("unterminated string");
                stack
                    .last_mut()
                    .unwrap()
                    .push(Sx::Str(src[i + 1..end].to_string()));
                i = end + 1;
            }
            _ => {
                let start = i;
                while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'(' && b[i] != b')' {
                    i += 1;
                }
                stack
                    .last_mut()
                    .unwrap()
                    .push(Sx::Atom(src[start..i].to_string()));
            }
        }
    }
    assert_eq!(stack.len(), 1, "unbalanced (");
    stack.pop().unwrap()
}

/// Lowers a witx type passed by value to core Wasm the way the Preview 1 ABI
/// does.
fn lower(ty: &Sx, types: &HashMap<String, Sx>) -> Vec<ValTy> {
    match ty {
        Sx::Atom(a) if a == "string" => vec![I32, I32],
        Sx::Atom(a) if a == "u64" || a == "s64" => vec![I64],
        Sx::Atom(a) if ["u8", "u16", "u32", "s8", "s16", "s32"].contains(&a.as_str()) => {
            vec![I32]
        }
        Sx::Atom(a) if a.starts_with('$') => lower(
            types.get(a).unwrap_or_else(|| panic!("unknown type {a}")),
            types,
        ),
        Sx::List(l) => match l.iter().map(|x| x.atom().unwrap_or("")).collect::<Vec<_>>()[..] {
            ["@witx", "pointer" | "const_pointer", ..] => vec![I32],
            ["handle", ..] => vec![I32],
            ["list", ..] => vec![I32, I32],
            ["enum" | "flags", ..] => {
                let repr = l[1].list().expect("enum/flags without (@witx tag/repr)");
                assert!(matches!(repr[1].atom(), Some("tag" | "repr")), "{l:?}");
                lower(&repr[2], types)
            }
            _ => panic!("type not passable by value in Preview 1: {ty:?}"),
        },
        _ => panic!("unexpected witx type {ty:?}"),
    }
}

fn witx_dir() -> Option<PathBuf> {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| home().join(".cargo"));
    let mut candidates = Vec::new();
    for reg in fs::read_dir(cargo_home.join("registry/src"))
        .ok()?
        .flatten()
    {
        for krate in fs::read_dir(reg.path()).into_iter().flatten().flatten() {
            let name = krate.file_name().to_string_lossy().into_owned();
            let dir = krate.path().join("witx/p1");
            if name.starts_with("wasmtime-wasi-") && dir.join("typenames.witx").exists() {
                candidates.push((name != "wasmtime-wasi-48.0.8", dir));
            }
        }
    }
    // Prefer the exact version the table was written from.
    candidates.sort();
    candidates.into_iter().next().map(|(_, d)| d)
}

fn witx_decls(dir: &Path) -> Vec<(String, Sig)> {
    let read = |f: &str| fs::read_to_string(dir.join(f)).unwrap();
    let mut types = HashMap::new();
    for item in parse_sx(&read("typenames.witx")) {
        let l = item.list().unwrap();
        if l[0].atom() == Some("typename") {
            types.insert(l[1].atom().unwrap().to_string(), l[2].clone());
        }
    }
    let doc = parse_sx(&read("wasi_snapshot_preview1.witx"));
    let module = doc
        .iter()
        .find(|x| x.list().and_then(|l| l[0].atom()) == Some("module"))
        .expect("no (module ...) in witx");
    let mut out = Vec::new();
    for func in module.children("@interface") {
        assert_eq!(func[1].atom(), Some("func"));
        let func = Sx::List(func.to_vec());
        let name = match &func.children("export").next().unwrap()[1] {
            Sx::Str(s) => s.clone(),
            other => panic!("export name {other:?}"),
        };
        let mut params = Vec::new();
        for p in func.children("param") {
            params.extend(lower(&p[2], &types));
        }
        let mut results = Vec::new();
        for r in func.children("result") {
            let expected = r[2].list().expect("result is (expected ...)");
            assert_eq!(expected[0].atom(), Some("expected"));
            for part in &expected[1..] {
                match part.list() {
                    Some([Sx::Atom(e), err]) if e == "error" => {
                        results.extend(lower(err, &types));
                    }
                    // Each ok value is written through a trailing out-pointer.
                    Some([Sx::Atom(t), elems @ ..]) if t == "tuple" => {
                        params.extend(elems.iter().map(|_| I32));
                    }
                    _ => params.push(I32),
                }
            }
        }
        let noreturn = func
            .children("@witx")
            .any(|l| l.get(1).and_then(Sx::atom) == Some("noreturn"));
        assert!(
            noreturn == results.is_empty(),
            "{name}: a function without an errno result must be noreturn"
        );
        out.push((name, (params, results)));
    }
    out
}

#[test]
fn table_matches_witx() {
    // wasmtime-wasi is a dependency of the workspace, so its sources are in the registry.
    let dir = witx_dir().expect("wasmtime-wasi's witx/p1 not found in the cargo registry");
    let decls = witx_decls(&dir);
    let problems = compare(&dir.display().to_string(), &decls);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // witx is the spec, so it must cover the table exactly, not just agree.
    assert_eq!(decls.len(), PREVIEW1.len(), "witx function count");
    note_absent(&dir.display().to_string(), &decls);
}

// ---------------------------------------------------------------- wasi-libc

fn c_scalar(ty: &str) -> Option<ValTy> {
    match ty {
        "int32_t" | "uint32_t" => Some(I32),
        "int64_t" | "uint64_t" => Some(I64),
        _ => None,
    }
}

/// Parses the generated import declarations, e.g.
/// `int32_t __imported_wasi_snapshot_preview1_fd_write(int32_t arg0, ...)`.
fn parse_imported_decls(src: &str) -> Vec<(String, Sig)> {
    const PREFIX: &str = "__imported_wasi_snapshot_preview1_";
    let mut out = Vec::new();
    for line in src.lines() {
        let Some((ret, rest)) = line.split_once(PREFIX) else {
            continue;
        };
        let ret = ret.trim().trim_start_matches("_Noreturn").trim();
        // Call sites (`int32_t ret = __imported...(`) are not declarations.
        let results = match ret {
            "void" => vec![],
            t => match c_scalar(t) {
                Some(v) => vec![v],
                None => continue,
            },
        };
        let (name, rest) = rest.split_once('(').expect("declaration without (");
        let args = &rest[..rest.find(')').expect("declaration without )")];
        let params = args
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty() && *a != "void")
            .map(|a| {
                let ty = a.rsplit_once(' ').map_or(a, |(t, _)| t).trim();
                if ty.contains('*') {
                    I32
                } else {
                    c_scalar(ty).unwrap_or_else(|| panic!("unknown C type `{ty}` in {name}"))
                }
            })
            .collect();
        out.push((name.to_string(), (params, results)));
    }
    out
}

/// Parses the public `__wasi_*` prototypes of `api.h`. These are the C API,
/// not the import ABI, and differ in one place: a witx `string` is a lone
/// `const char *` whose length the wrapper in `__wasilibc_real.c` passes as
/// `strlen`, so it is counted as (ptr, len) here.
fn parse_api_h(src: &str) -> Vec<(String, Sig)> {
    let mut typedefs = HashMap::new();
    for line in src.lines() {
        let words: Vec<&str> = line.trim_end_matches(';').split_whitespace().collect();
        if let ["typedef", base, alias] = words[..] {
            typedefs.insert(alias.to_string(), base.to_string());
        }
    }
    let lower_c = |ty: &str, name: &str| -> Vec<ValTy> {
        if ty == "const char *" || ty == "const char*" {
            return vec![I32, I32];
        }
        if ty.contains('*') {
            return vec![I32];
        }
        let base = typedefs.get(ty).map(String::as_str).unwrap_or(ty);
        match base {
            "uint64_t" | "int64_t" => vec![I64],
            "int" | "int32_t" | "uint32_t" | "uint16_t" | "uint8_t" | "size_t"
            | "__SIZE_TYPE__" => vec![I32],
            _ => panic!("unknown C type `{ty}` (base `{base}`) in {name}"),
        }
    };

    let mut out = Vec::new();
    let mut lines = src.lines();
    while let Some(line) = lines.next() {
        let results = if let Some(rest) = line.strip_prefix("__wasi_errno_t __wasi_") {
            (vec![I32], rest)
        } else if let Some(rest) = line.strip_prefix("_Noreturn void __wasi_") {
            (vec![], rest)
        } else {
            continue;
        };
        let (results, rest) = results;
        let Some(name) = rest.strip_suffix('(') else {
            continue;
        };
        let mut params_src = String::new();
        for l in lines.by_ref() {
            let t = l.trim();
            if t.starts_with(')') {
                break;
            }
            if t.starts_with("/*") || t.starts_with('*') {
                continue;
            }
            params_src.push_str(t);
            params_src.push(' ');
        }
        let mut params = Vec::new();
        for p in params_src.split(',').map(str::trim) {
            if p.is_empty() || p == "void" {
                continue;
            }
            // Keep the `*`s with the type: `uint8_t * * argv` -> `uint8_t * *`.
            let ident_start = p
                .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .map_or(0, |i| i + 1);
            let ty = p[..ident_start].trim();
            params.extend(lower_c(ty, name));
        }
        out.push((name.to_string(), (params, results)));
    }
    out
}

/// The tool's cache, as the binary finds it: `$WASIPROBE_CACHE`, else `~/.cache/wasiprobe`.
fn tool_cache() -> PathBuf {
    std::env::var_os("WASIPROBE_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| home().join(".cache/wasiprobe"))
}

/// `rel` in the libc sources of every zig the cache holds. None is a failure, not a pass: the
/// README's test command installs the zig wheels (`wasiprobe sdk fetch`) before the tests.
fn zig_libc_files(rel: &str) -> Vec<PathBuf> {
    let root = tool_cache().join("zig");
    let mut out: Vec<PathBuf> = fs::read_dir(&root)
        .into_iter()
        .flatten()
        .flatten()
        .map(|v| v.path().join("ziglang/lib/libc").join(rel))
        .filter(|p| p.exists())
        .collect();
    out.sort();
    assert!(
        !out.is_empty(),
        "no zig under {} has libc/{rel}: run `wasiprobe sdk fetch` first (the README's test command does)",
        root.display()
    );
    out
}

fn check_c_source(path: &Path, parse: fn(&str) -> Vec<(String, Sig)>) {
    let src = fs::read_to_string(path).unwrap();
    let decls = parse(&src);
    let source = path.display().to_string();
    // Guards against a parser that silently matches nothing.
    assert!(
        decls.len() >= 40,
        "{source}: only {} declarations parsed",
        decls.len()
    );
    let problems = compare(&source, &decls);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    note_absent(&source, &decls);
}

#[test]
fn table_matches_wasilibc_imported_declarations() {
    for f in zig_libc_files("wasi/libc-bottom-half/sources/__wasilibc_real.c") {
        check_c_source(&f, parse_imported_decls);
    }
}

#[test]
fn table_matches_api_h_prototypes() {
    let mut files = vec![PathBuf::from("/usr/include/wasm32-wasi/wasi/api.h")];
    files.extend(zig_libc_files("include/wasm-wasi-musl/wasi/api.h"));
    for f in files {
        // Debian's wasi-libc comes with the debian-clang-16 toolchain (`wasiprobe sdk fetch`).
        assert!(
            f.exists(),
            "{} absent: run `wasiprobe sdk fetch` as root first (the README's test command does)",
            f.display()
        );
        check_c_source(&f, parse_api_h);
    }
}

#[test]
fn c_parsers_detect_a_wrong_declaration() {
    // Negative control: the comparisons above would notice a disagreement.
    let bad_import = "int32_t __imported_wasi_snapshot_preview1_fd_seek(int32_t arg0, int32_t arg1, int32_t arg2, int32_t arg3) __attribute__((\n\
                      int32_t ret = __imported_wasi_snapshot_preview1_fd_seek((int32_t) fd);\n\
                      _Noreturn void __imported_wasi_snapshot_preview1_bogus(int32_t arg0) __attribute__((";
    let decls = parse_imported_decls(bad_import);
    assert_eq!(decls.len(), 2, "{decls:?}");
    let problems = compare("synthetic", &decls);
    assert_eq!(problems.len(), 2, "{problems:?}");

    let bad_api = "typedef uint64_t __wasi_filesize_t;\n\
                   __wasi_errno_t __wasi_path_unlink_file(\n    __wasi_fd_t fd,\n    /**\n     * doc\n     */\n    const char *path,\n    __wasi_filesize_t extra\n) __attribute__((__warn_unused_result__));\n\
                   typedef int __wasi_fd_t;";
    let decls = parse_api_h(bad_api);
    assert_eq!(
        decls,
        [(
            "path_unlink_file".to_string(),
            (vec![I32, I32, I32, I64], vec![I32])
        )]
    );
    assert_eq!(compare("synthetic", &decls).len(), 1);
}

#[test]
fn witx_lowering_handles_each_shape() {
    // Negative control for the witx side: the lowering is not a constant.
    let types: HashMap<String, Sx> = parse_sx(
        "(typename $fs u64) (typename $fl (flags (@witx repr u16) $a)) (typename $ls (list $fs))",
    )
    .into_iter()
    .map(|x| {
        let l = x.list().unwrap().to_vec();
        (l[1].atom().unwrap().to_string(), l[2].clone())
    })
    .collect();
    let one = |src: &str| lower(&parse_sx(src)[0], &types);
    assert_eq!(one("$fs"), [I64]);
    assert_eq!(one("$fl"), [I32]);
    assert_eq!(one("$ls"), [I32, I32]);
    assert_eq!(one("string"), [I32, I32]);
    assert_eq!(one("(@witx pointer $fs)"), [I32]);
}
