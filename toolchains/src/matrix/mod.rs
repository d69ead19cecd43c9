//! `sdk-matrix.toml`: the toolchains every probe is built with.

pub use wasiprobe_model::python::{PythonSource, PythonSpec};
pub use wasiprobe_model::sdk::{Kind, LibcCommit, Provenance, SdkSpec, DEFAULT_DEB_COMPILER};

use serde::Deserialize;
use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use toml::Spanned;
use wasiprobe_model::cli::{self as cli_rt, CliKind, CliSpec};

mod python;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMatrix {
    schema: Spanned<u32>,
    #[serde(default)]
    sdk: Vec<RawSdk>,
    #[serde(default)]
    runtime: Vec<RawRuntime>,
    #[serde(default)]
    python: Vec<python::RawPython>,
    #[serde(default)]
    python_headers: Vec<wasiprobe_model::python::HeaderSpec>,
    #[serde(default)]
    python_source: Vec<Spanned<wasiprobe_model::python::SourceSpec>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum RuntimeKind {
    Adapter,
    Command,
    AdapterModule,
}

/// A `[[runtime]]`: a runtime with a command line (see `wasiprobe_runtimes::cli_rt`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRuntime {
    name: Spanned<String>,
    kind: RuntimeKind,
    #[serde(default)]
    adapter: Option<String>,
    #[serde(default)]
    command: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    runtime: Option<String>,
    #[serde(default)]
    pypi: Option<Spanned<String>>,
    #[serde(default)]
    capabilities: Option<RawCaps>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCaps {
    #[serde(default)]
    enforced_limits: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    host_call_counting: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSdk {
    id: Spanned<String>,
    kind: Kind,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    cpython: Vec<String>,
    #[serde(default)]
    llvm: Option<String>,
    #[serde(default)]
    wasi_libc: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    sha256: Option<Spanned<String>>,
    #[serde(default)]
    packages: Vec<String>,
    #[serde(default)]
    cc: Option<PathBuf>,
    #[serde(default)]
    sysroot: Option<PathBuf>,
    #[serde(default)]
    target: Option<String>,
    #[serde(default)]
    cflags: Vec<String>,
    #[serde(default)]
    suite: Option<Spanned<String>>,
    #[serde(default)]
    package: Option<String>,
    #[serde(default)]
    compiler: Option<Spanned<String>>,
    #[serde(default)]
    snapshot: Option<String>,
    #[serde(default)]
    libc_of: Option<Spanned<String>>,
    #[serde(default)]
    libc_match: Option<Spanned<String>>,
    #[serde(default)]
    libc_differs: Vec<LibcCommit>,
}

#[derive(Debug, Clone)]
pub struct Matrix {
    pub path: PathBuf,
    pub sdks: Vec<SdkSpec>,
    /// The `[[runtime]]` entries. Their `root` is the matrix file's directory until
    /// `run::Project::load` sets the project root.
    pub runtimes: Vec<CliSpec>,
    pub pythons: Vec<PythonSpec>,
    /// `[[python_headers]]`: the CPython source the C-extension probe builds against.
    pub python_headers: Vec<wasiprobe_model::python::HeaderSpec>,
    /// `[[python_source]]`: CPython sources `source`-built `[[python]]` entries are made from.
    pub python_sources: Vec<wasiprobe_model::python::SourceSpec>,
}

/// A matrix error that names the file, the line and the field.
#[derive(Debug)]
pub struct MatrixError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for MatrixError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{}: {}", self.file.display(), l, self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

impl std::error::Error for MatrixError {}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

impl Matrix {
    /// Reads and parses the matrix; `[[runtime]]` names in `reserved` (the built-in runtimes,
    /// which the runtimes crate names) are refused.
    pub fn load(path: &Path, reserved: &[&str]) -> Result<Matrix, MatrixError> {
        let text = std::fs::read_to_string(path).map_err(|e| MatrixError {
            file: path.to_owned(),
            line: None,
            message: format!("cannot read: {e}"),
        })?;
        Matrix::parse_reserving(&text, path, reserved)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Matrix, MatrixError> {
        Matrix::parse_reserving(text, path, &[])
    }

    pub fn parse_reserving(
        text: &str,
        path: &Path,
        reserved: &[&str],
    ) -> Result<Matrix, MatrixError> {
        let err = |offset: Option<usize>, message: String| MatrixError {
            file: path.to_owned(),
            line: offset.map(|o| line_of(text, o)),
            message,
        };
        let raw: RawMatrix = toml::from_str(text).map_err(|e| {
            // toml's message already names the field ("missing field `kind`", "unknown
            // variant"), its span gives the line; strip its own multi-line source excerpt.
            err(
                e.span().map(|s| s.start),
                e.message().trim().replace('\n', " "),
            )
        })?;
        if *raw.schema.get_ref() != 1 {
            return Err(err(
                Some(raw.schema.span().start),
                format!(
                    "field `schema`: version {} is not supported (this wasiprobe reads 1)",
                    raw.schema.get_ref()
                ),
            ));
        }
        let mut seen = HashSet::new();
        let mut sdks = Vec::new();
        for s in raw.sdk {
            let at = Some(s.id.span().start);
            let id = s.id.get_ref().clone();
            check_id(&id).map_err(|m| err(at, m))?;
            if !seen.insert(id.clone()) {
                return Err(err(at, format!("field `id`: '{id}' is declared twice")));
            }
            let need = |field: &str, present: bool| {
                if present {
                    Ok(())
                } else {
                    Err(err(
                        at,
                        format!(
                            "sdk '{id}': field `{field}` is required for kind {:?}",
                            s.kind
                        ),
                    ))
                }
            };
            match s.kind {
                Kind::WasiSdk | Kind::Zig | Kind::Debian => need("version", s.version.is_some())?,
                Kind::DebLibc => {
                    need("version", s.version.is_some())?;
                    need("suite", s.suite.is_some())?;
                    need("sha256", s.sha256.is_some())?;
                }
                Kind::Path => need("cc", s.cc.is_some())?,
            }
            if s.kind != Kind::DebLibc {
                for (field, present) in [
                    ("suite", s.suite.is_some()),
                    ("package", s.package.is_some()),
                    ("compiler", s.compiler.is_some()),
                    ("snapshot", s.snapshot.is_some()),
                ] {
                    if present {
                        return Err(err(
                            at,
                            format!("sdk '{id}': field `{field}` applies to kind deb-libc only"),
                        ));
                    }
                }
            }
            if let Some(c) = &s.compiler {
                let ok = c
                    .get_ref()
                    .strip_prefix("clang-")
                    .is_some_and(|n| !n.is_empty() && n.chars().all(|d| d.is_ascii_digit()));
                if !ok {
                    return Err(err(
                        Some(c.span().start),
                        format!(
                            "sdk '{id}': field `compiler`: '{}' is not clang-N (a Debian clang package)",
                            c.get_ref()
                        ),
                    ));
                }
            }
            let suite = match s.suite {
                Some(x) => {
                    let v = x.get_ref();
                    if v.is_empty() || !v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                        return Err(err(
                            Some(x.span().start),
                            format!("sdk '{id}': field `suite`: '{v}' is not a Debian suite name"),
                        ));
                    }
                    Some(v.clone())
                }
                None => None,
            };
            let provenance = match (s.libc_of, s.libc_match) {
                (None, None) if s.libc_differs.is_empty() => None,
                (None, _) => {
                    return Err(err(
                        at,
                        format!("sdk '{id}': `libc_match`/`libc_differs` need `libc_of` (the official SDK whose libc this is)"),
                    ))
                }
                (Some(of), m) => {
                    let exact = match m.as_ref().map(|m| m.get_ref().as_str()) {
                        Some("exact") => true,
                        Some("close") => false,
                        Some(other) => {
                            return Err(err(
                                m.as_ref().map(|m| m.span().start),
                                format!("sdk '{id}': field `libc_match`: '{other}' is not `exact` or `close`"),
                            ))
                        }
                        None => {
                            return Err(err(
                                Some(of.span().start),
                                format!("sdk '{id}': field `libc_match` (`exact`, or `close` with `libc_differs`) is required with `libc_of`"),
                            ))
                        }
                    };
                    if exact != s.libc_differs.is_empty() {
                        return Err(err(
                            m.as_ref().map(|m| m.span().start),
                            format!("sdk '{id}': `libc_match = \"close\"` needs `libc_differs` (the commits between the two libcs), and `exact` allows none"),
                        ));
                    }
                    Some(Provenance {
                        libc_of: of.into_inner(),
                        exact,
                        differs: s.libc_differs,
                    })
                }
            };
            let sha256 = match s.sha256 {
                Some(h) => {
                    let v = h.get_ref().to_ascii_lowercase();
                    if v.len() != 64 || !v.chars().all(|c| c.is_ascii_hexdigit()) {
                        return Err(err(
                            Some(h.span().start),
                            format!("sdk '{id}': field `sha256` must be 64 hex digits"),
                        ));
                    }
                    Some(v)
                }
                None => None,
            };
            sdks.push(SdkSpec {
                id,
                kind: s.kind,
                version: s.version,
                cpython: s.cpython,
                llvm: s.llvm,
                wasi_libc: s.wasi_libc,
                url: s.url,
                sha256,
                packages: s.packages,
                cc: s.cc,
                sysroot: s.sysroot,
                target: s.target.unwrap_or_else(|| "wasm32-wasi".into()),
                cflags: s.cflags,
                suite,
                package: s.package,
                compiler: s.compiler.map(Spanned::into_inner),
                snapshot: s.snapshot,
                provenance,
            });
        }
        let mut runtimes = Vec::new();
        let mut names = HashSet::new();
        for r in raw.runtime {
            let at = Some(r.name.span().start);
            let name = r.name.get_ref().clone();
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            {
                return Err(err(
                    at,
                    format!("field `name`: '{name}' must be non-empty and use only letters, digits, '-', '_' and '.'"),
                ));
            }
            if reserved.contains(&name.as_str()) {
                return Err(err(
                    at,
                    format!("field `name`: '{name}' is the name of a built-in runtime"),
                ));
            }
            if !names.insert(name.clone()) {
                return Err(err(at, format!("field `name`: '{name}' is declared twice")));
            }
            let field =
                |f: &str, what: &str| err(at, format!("runtime '{name}': field `{f}` {what}"));
            let kind = match (r.kind, r.adapter, r.command) {
                (RuntimeKind::Adapter, Some(a), None) => CliKind::Adapter(a),
                (RuntimeKind::Adapter, None, _) => {
                    return Err(field("adapter", "is required for kind adapter"))
                }
                (RuntimeKind::Adapter, Some(_), Some(_)) => {
                    return Err(field("command", "is not allowed for kind adapter"))
                }
                (RuntimeKind::AdapterModule, Some(a), None) => CliKind::AdapterModule(a),
                (RuntimeKind::AdapterModule, None, _) => {
                    return Err(field("adapter", "is required for kind adapter-module"))
                }
                (RuntimeKind::AdapterModule, Some(_), Some(_)) => {
                    return Err(field("command", "is not allowed for kind adapter-module"))
                }
                (RuntimeKind::Command, None, Some(c)) => {
                    let line = Some(c.span().start);
                    let c = c.into_inner();
                    cli_rt::validate_template(&c).map_err(|e| {
                        err(line, format!("runtime '{name}': field `command`: {e}"))
                    })?;
                    if r.runtime.is_none() {
                        return Err(field(
                            "runtime",
                            "is required for kind command (it is `{runtime}`)",
                        ));
                    }
                    CliKind::Command(c)
                }
                (RuntimeKind::Command, _, None) => {
                    return Err(field("command", "is required for kind command"))
                }
                (RuntimeKind::Command, Some(_), Some(_)) => {
                    return Err(field("adapter", "is not allowed for kind command"))
                }
            };
            let pypi = match r.pypi {
                Some(p) => {
                    let v = p.get_ref();
                    let ok = v.split_once("==").is_some_and(|(a, b)| {
                        !a.is_empty() && !b.is_empty() && !v.contains(char::is_whitespace)
                    });
                    if !ok {
                        return Err(err(
                            Some(p.span().start),
                            format!(
                                "runtime '{name}': field `pypi`: '{v}' is not PACKAGE==VERSION"
                            ),
                        ));
                    }
                    if r.runtime.is_none() {
                        return Err(field(
                            "runtime",
                            "is required with `pypi` (the executable's path inside the package)",
                        ));
                    }
                    Some(v.clone())
                }
                None => None,
            };
            let (enforced_limits, host_call_counting) = match r.capabilities {
                Some(c) => {
                    let limits = match c.enforced_limits {
                        Some(l) => {
                            if let Some(bad) = l
                                .get_ref()
                                .iter()
                                .find(|n| !cli_rt::LIMIT_NAMES.contains(&n.as_str()))
                            {
                                return Err(err(
                                    Some(l.span().start),
                                    format!(
                                        "runtime '{name}': field `capabilities.enforced_limits`: unknown limit '{bad}'; valid: {}",
                                        cli_rt::LIMIT_NAMES.join(", ")
                                    ),
                                ));
                            }
                            Some(l.into_inner())
                        }
                        None => None,
                    };
                    (limits, c.host_call_counting)
                }
                None => (None, None),
            };
            runtimes.push(CliSpec {
                name,
                kind,
                runtime: r.runtime,
                pypi,
                enforced_limits,
                host_call_counting,
                root: path.parent().map(Path::to_path_buf).unwrap_or_default(),
            });
        }
        let python_sources = python::sources(&raw.python_source, &runtimes, &err)?;
        let pythons = python::pythons(raw.python, &raw.python_source, &sdks, &mut seen, &err)?;
        Ok(Matrix {
            path: path.to_owned(),
            sdks,
            runtimes,
            pythons,
            python_headers: raw.python_headers,
            python_sources,
        })
    }

    pub fn runtime(&self, name: &str) -> Option<&CliSpec> {
        self.runtimes.iter().find(|r| r.name == name)
    }

    pub fn get(&self, id: &str) -> Option<&SdkSpec> {
        self.sdks.iter().find(|s| s.id == id)
    }

    pub fn ids(&self) -> Vec<&str> {
        self.sdks.iter().map(|s| s.id.as_str()).collect()
    }

    pub fn python(&self, id: &str) -> Option<&PythonSpec> {
        self.pythons.iter().find(|s| s.id == id)
    }

    pub fn python_ids(&self) -> Vec<&str> {
        self.pythons.iter().map(|s| s.id.as_str()).collect()
    }
}

fn check_id(id: &str) -> Result<(), String> {
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(format!(
            "field `id`: '{id}' must be non-empty and use only letters, digits, '-', '_' and '.'"
        ));
    }
    Ok(())
}

fn hex64(s: &str) -> Option<String> {
    let v = s.to_ascii_lowercase();
    (v.len() == 64 && v.chars().all(|c| c.is_ascii_hexdigit())).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(t: &str) -> Result<Matrix, MatrixError> {
        Matrix::parse(t, Path::new("m.toml"))
    }

    #[test]
    fn the_committed_matrix_parses_with_the_real_pins() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdk-matrix.toml");
        let m = Matrix::load(&root, &[]).unwrap();
        for (id, py) in [
            ("wasi-sdk-21", "3.11"),
            ("wasi-sdk-24", "3.13"),
            ("wasi-sdk-33", "3.15"),
            ("wasi-sdk-34", "main"),
        ] {
            let s = m.get(id).unwrap_or_else(|| panic!("{id} missing"));
            assert!(
                s.cpython.iter().any(|c| c == py),
                "{id} should be locked for {py}"
            );
            assert!(s.url.as_deref().unwrap().ends_with(".tar.gz"));
            assert_eq!(s.sha256.as_ref().unwrap().len(), 64);
        }
        let zigs: Vec<_> = m.sdks.iter().filter(|s| s.kind == Kind::Zig).collect();
        assert!(zigs.len() >= 3);
        assert!(m.sdks.iter().any(|s| s.kind == Kind::Debian));
    }

    #[test]
    fn missing_field_names_line_and_field() {
        let e = parse("schema = 1\n\n[[sdk]]\nid = \"a\"\nversion = \"1\"\n").unwrap_err();
        assert!(e.message.contains("kind"), "{e}");
        assert!(e.line.is_some(), "{e}");
        assert!(e.to_string().starts_with("m.toml:"), "{e}");
    }

    #[test]
    fn unknown_kind_and_unknown_field_are_rejected() {
        let e = parse("schema = 1\n[[sdk]]\nid = \"a\"\nkind = \"emscripten\"\nversion = \"1\"\n")
            .unwrap_err();
        assert_eq!(e.line, Some(4), "{e}");
        assert!(e.message.contains("emscripten"), "{e}");
        let e = parse(
            "schema = 1\n[[sdk]]\nid = \"a\"\nkind = \"zig\"\nversion = \"1\"\nshaa256 = \"x\"\n",
        )
        .unwrap_err();
        assert!(e.message.contains("shaa256"), "{e}");
        assert_eq!(e.line, Some(6), "{e}");
    }

    #[test]
    fn duplicate_id_bad_hash_and_schema_are_rejected() {
        let e = parse("schema = 1\n[[sdk]]\nid = \"a\"\nkind = \"zig\"\nversion = \"1\"\n[[sdk]]\nid = \"a\"\nkind = \"zig\"\nversion = \"2\"\n").unwrap_err();
        assert_eq!(e.line, Some(7), "{e}");
        assert!(e.message.contains("twice"), "{e}");
        let e = parse("schema = 1\n[[sdk]]\nid = \"a\"\nkind = \"wasi-sdk\"\nversion = \"1\"\nsha256 = \"abc\"\n").unwrap_err();
        assert!(e.message.contains("sha256"), "{e}");
        let e = parse("schema = 2\n").unwrap_err();
        assert_eq!(e.line, Some(1));
        let e = parse("schema = 1\n[[sdk]]\nid = \"p\"\nkind = \"path\"\n").unwrap_err();
        assert!(e.message.contains("`cc`"), "{e}");
    }

    #[test]
    fn source_built_pythons_name_an_existing_source_toolchain_and_runtime() {
        let head = "schema = 1\n[[sdk]]\nid = \"tc\"\nkind = \"zig\"\nversion = \"1\"\n[[runtime]]\nname = \"wt\"\nkind = \"command\"\nruntime = \"wasmtime\"\ncommand = [\"{runtime}\", \"{wasm}\"]\n";
        let src = format!("[[python_source]]\nversion = \"3.13.5\"\ndebian_source = \"python3.13\"\nsuite = \"trixie\"\norig = \"p.tar.xz\"\nsha256 = \"{}\"\nbuild_runtime = \"wt\"\n", "a".repeat(64));
        let py = |source: &str, tc: &str| {
            format!("[[python]]\nid = \"py\"\nversion = \"3.13.5\"\nsource = \"{source}\"\ntoolchain = \"{tc}\"\n")
        };
        let m = parse(&format!("{head}{src}{}", py("3.13.5", "tc"))).unwrap();
        assert!(
            matches!(&m.pythons[0].source, PythonSource::Build { source, toolchain } if source == "3.13.5" && toolchain == "tc")
        );
        assert_eq!(m.python_sources[0].branch(), "3.13");
        let e = parse(&format!("{head}{src}{}", py("3.14.0", "tc")))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no [[python_source]] has version '3.14.0'"),
            "{e}"
        );
        let e = parse(&format!("{head}{src}{}", py("3.13.5", "nope")))
            .unwrap_err()
            .to_string();
        assert!(e.contains("field `toolchain`"), "{e}");
        let e = parse(&format!(
            "{head}{}{}",
            src.replace("\"wt\"", "\"nope\""),
            py("3.13.5", "tc")
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("field `build_runtime`"), "{e}");
        let e = parse(&format!("{head}{}", src.replace(&"a".repeat(64), "xyz")))
            .unwrap_err()
            .to_string();
        assert!(e.contains("`sha256` must be 64 hex digits"), "{e}");
        let e = parse(&format!(
            "{head}{src}{}pypi = \"x==1\"\n",
            py("3.13.5", "tc")
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("exclude"), "{e}");
    }

    #[test]
    fn python_entries_parse_and_broken_ones_name_line_and_field() {
        let m = parse("schema = 1\n[[python]]\nid = \"py\"\nversion = \"3.12.0\"\nsdk = \"clang 16\"\npypi = \"x==1\"\nwasm = \"x/python.wasm\"\n[[python]]\nid = \"py2\"\nversion = \"3.13\"\npath = \"build\"\n").unwrap();
        assert_eq!(m.pythons.len(), 2);
        assert!(
            matches!(&m.pythons[0].source, PythonSource::Pypi { wasm, .. } if wasm == "x/python.wasm")
        );
        assert!(matches!(&m.pythons[1].source, PythonSource::Path { .. }));
        let e = parse("schema = 1\n[[python]]\nid = \"py\"\nversion = \"3\"\npypi = \"x==1\"\nwasm = \"a.wasm\"\nwheel = \"y\"\n").unwrap_err();
        assert!(e.message.contains("wheel"), "{e}");
        assert_eq!(e.line, Some(7), "{e}");
        let e = parse("schema = 1\n[[python]]\nid = \"py\"\nversion = \"3\"\npypi = \"x==1\"\n")
            .unwrap_err();
        assert!(e.message.contains("`wasm`"), "{e}");
        assert_eq!(e.line, Some(3), "{e}");
        let e = parse("schema = 1\n[[python]]\nid = \"py\"\nversion = \"3\"\npypi = \"x\"\nwasm = \"a.wasm\"\n").unwrap_err();
        assert!(e.message.contains("pin"), "{e}");
        let e = parse("schema = 1\n[[python]]\nid = \"py\"\nversion = \"3\"\n").unwrap_err();
        assert!(e.message.contains("`path`"), "{e}");
        let e = parse("schema = 1\n[[python]]\nid = \"py\"\nversion = \"3\"\npath = \"d\"\npypi = \"x==1\"\nwasm = \"a\"\n").unwrap_err();
        assert!(e.message.contains("exclude"), "{e}");
        let e = parse("schema = 1\n[[python]]\nid = \"py\"\npath = \"d\"\n").unwrap_err();
        assert!(e.message.contains("version"), "{e}");
        let e = parse("schema = 1\n[[sdk]]\nid = \"a\"\nkind = \"zig\"\nversion = \"1\"\n[[python]]\nid = \"a\"\nversion = \"3\"\npath = \"d\"\n").unwrap_err();
        assert!(e.message.contains("twice"), "{e}");
        assert_eq!(e.line, Some(7), "{e}");
        let e = parse("schema = 1\n[[python]]\nid = \"py\"\nversion = \"3\"\npypi = \"x==1\"\nwasm = \"../a.wasm\"\n").unwrap_err();
        assert!(e.message.contains("relative"), "{e}");
    }

    #[test]
    fn garbage_is_a_parse_error_with_a_line() {
        let e = parse("schema = 1\n[[sdk]\nid = 3\n").unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
    }
}
