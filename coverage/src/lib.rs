//! Static WASI Preview 1 coverage of a core Wasm module: which
//! `wasi_snapshot_preview1` functions it imports (and whether with the right
//! core signature), what else it imports, and therefore whether a plain WASI
//! runtime can instantiate it at all.
//!
//! Nothing here runs the module; the answers come from the import and export
//! sections of a module that has passed full validation.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use wasmparser::types::{EntityType, Types};
use wasmparser::{
    CompositeInnerType, Encoding, ExternalKind, Parser, Payload, TypeRef, Validator, WasmFeatures,
};

mod p1;

pub use p1::{lookup, P1Func, ValTy, P1_MODULE, PREVIEW1};

/// A core function signature, with value types spelled as in the text format
/// (`i32`, `f64`, `funcref`, ...) so non-P1 types can be shown too.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    pub params: Vec<String>,
    pub results: Vec<String>,
}

impl Signature {
    pub fn of(f: &P1Func) -> Signature {
        let names = |tys: &[ValTy]| tys.iter().map(|t| t.as_str().to_string()).collect();
        Signature {
            params: names(f.params),
            results: names(f.results),
        }
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "({}) -> ({})",
            self.params.join(", "),
            self.results.join(", ")
        )
    }
}

/// One import whose module is `wasi_snapshot_preview1` and whose name is a
/// Preview 1 function.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct P1Import {
    pub name: String,
    /// `func` unless the module imports the name as something else, which a
    /// runtime would refuse to link.
    pub kind: String,
    pub signature_ok: bool,
    /// Set only when `signature_ok` is false.
    pub expected: Option<Signature>,
    /// Set only when `signature_ok` is false and the import is a function.
    pub actual: Option<Signature>,
}

/// An import identified only by where it comes from and what it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtherImport {
    pub module: String,
    pub name: String,
    pub kind: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportsSummary {
    /// Exported function `_start`: a WASI command.
    pub has_start: bool,
    /// Exported function `_initialize`: a WASI reactor.
    pub has_initialize: bool,
    /// Names under which memories are exported; WASI hosts read and write
    /// through the one called `memory`.
    pub memories: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    /// Preview 1 function imports, in import order (a name imported twice
    /// appears twice).
    pub p1_imported: Vec<P1Import>,
    /// Imports from `wasi_snapshot_preview1` whose name is no Preview 1
    /// function; no conforming runtime provides them.
    pub p1_unknown: Vec<OtherImport>,
    /// Imports from any other module (`env`, `wasi_unstable`, `wasi`, ...);
    /// a plain WASI runtime has nothing to satisfy them with.
    pub non_wasi: Vec<OtherImport>,
    /// No `non_wasi`, no `p1_unknown`, and every `p1_imported` has the right
    /// signature.
    pub runnable_on_plain_wasi: bool,
    /// Preview 1 functions the module does not import, in table order.
    pub p1_not_imported: Vec<String>,
    pub exports: ExportsSummary,
}

impl ImportReport {
    /// Distinct Preview 1 function names imported, sorted.
    pub fn p1_names(&self) -> BTreeSet<&str> {
        self.p1_imported.iter().map(|i| i.name.as_str()).collect()
    }
}

/// What changed between two modules' imports, `a` taken as before and `b` as
/// after (e.g. the same program linked against two libc versions).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportDiff {
    /// Preview 1 functions `b` imports and `a` does not.
    pub p1_added: Vec<String>,
    /// Preview 1 functions `a` imports and `b` does not.
    pub p1_removed: Vec<String>,
    /// Non-WASI imports (`module.name`) only in `b`.
    pub non_wasi_added: Vec<String>,
    /// Non-WASI imports (`module.name`) only in `a`.
    pub non_wasi_removed: Vec<String>,
}

impl ImportDiff {
    pub fn is_empty(&self) -> bool {
        self.p1_added.is_empty()
            && self.p1_removed.is_empty()
            && self.non_wasi_added.is_empty()
            && self.non_wasi_removed.is_empty()
    }
}

/// Validates `wasm` as a core module and reports its WASI Preview 1 imports.
///
/// Components, non-Wasm bytes and invalid modules are an `Err` describing
/// why, so a caller can print it as is.
pub fn analyze(wasm: &[u8]) -> Result<ImportReport, String> {
    // Checked before validation so a component gets a clear message rather
    // than whatever the validator says about component sections.
    if let Some(Ok(Payload::Version {
        encoding: Encoding::Component,
        ..
    })) = Parser::new(0).parse_all(wasm).next()
    {
        return Err("not a core module: this is a Wasm component (Preview 2 binary)".into());
    }

    // Every proposal is accepted: the question is which host functions the
    // module needs, not whether some particular engine supports its code.
    let types = Validator::new_with_features(WasmFeatures::all())
        .validate_all(wasm)
        .map_err(|e| format!("invalid wasm module: {}", one_line(&e)))?;

    let mut p1_imported = Vec::new();
    let mut p1_unknown = Vec::new();
    let mut non_wasi = Vec::new();
    let mut exports = ExportsSummary::default();

    for payload in Parser::new(0).parse_all(wasm) {
        // Unreachable after a successful validation, but a parse error must
        // still never turn into a panic.
        let payload = payload.map_err(|e| format!("invalid wasm module: {}", one_line(&e)))?;
        match payload {
            Payload::ImportSection(section) => {
                for import in section.into_imports() {
                    let import = import.map_err(|e| format!("invalid import section: {e}"))?;
                    classify_import(
                        &types,
                        &import,
                        &mut p1_imported,
                        &mut p1_unknown,
                        &mut non_wasi,
                    );
                }
            }
            Payload::ExportSection(section) => {
                for export in section {
                    let export = export.map_err(|e| format!("invalid export section: {e}"))?;
                    let is_func =
                        matches!(export.kind, ExternalKind::Func | ExternalKind::FuncExact);
                    match (export.name, export.kind) {
                        ("_start", _) if is_func => exports.has_start = true,
                        ("_initialize", _) if is_func => exports.has_initialize = true,
                        (name, ExternalKind::Memory) => exports.memories.push(name.to_string()),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }

    let imported: BTreeSet<&str> = p1_imported.iter().map(|i| i.name.as_str()).collect();
    let p1_not_imported = PREVIEW1
        .iter()
        .filter(|f| !imported.contains(f.name))
        .map(|f| f.name.to_string())
        .collect();

    let runnable_on_plain_wasi =
        non_wasi.is_empty() && p1_unknown.is_empty() && p1_imported.iter().all(|i| i.signature_ok);

    Ok(ImportReport {
        p1_imported,
        p1_unknown,
        non_wasi,
        runnable_on_plain_wasi,
        p1_not_imported,
        exports,
    })
}

fn classify_import(
    types: &Types,
    import: &wasmparser::Import<'_>,
    p1_imported: &mut Vec<P1Import>,
    p1_unknown: &mut Vec<OtherImport>,
    non_wasi: &mut Vec<OtherImport>,
) {
    let kind = type_ref_kind(&import.ty).to_string();
    let other = || OtherImport {
        module: import.module.to_string(),
        name: import.name.to_string(),
        kind: kind.clone(),
    };
    if import.module != P1_MODULE {
        non_wasi.push(other());
        return;
    }
    let Some(expected) = lookup(import.name) else {
        p1_unknown.push(other());
        return;
    };
    let expected = Signature::of(expected);
    let actual = imported_func_signature(types, import);
    let signature_ok = actual.as_ref() == Some(&expected);
    p1_imported.push(P1Import {
        name: import.name.to_string(),
        kind,
        signature_ok,
        expected: (!signature_ok).then_some(expected),
        actual: if signature_ok { None } else { actual },
    });
}

fn type_ref_kind(ty: &TypeRef) -> &'static str {
    match ty {
        TypeRef::Func(_) | TypeRef::FuncExact(_) => "func",
        TypeRef::Table(_) => "table",
        TypeRef::Memory(_) => "memory",
        TypeRef::Global(_) => "global",
        TypeRef::Tag(_) => "tag",
    }
}

// Resolved through the validator's type list rather than the raw type
// section so rec groups and subtyping (GC proposal) index correctly.
fn imported_func_signature(types: &Types, import: &wasmparser::Import<'_>) -> Option<Signature> {
    let id = match types.as_ref().entity_type_from_import(import)? {
        EntityType::Func(id) | EntityType::FuncExact(id) => id,
        _ => return None,
    };
    match &types[id].composite_type.inner {
        CompositeInnerType::Func(ft) => Some(Signature {
            params: ft.params().iter().map(|t| t.to_string()).collect(),
            results: ft.results().iter().map(|t| t.to_string()).collect(),
        }),
        _ => None,
    }
}

/// Compares the Preview 1 (and non-WASI) imports of `a` (before) and `b`
/// (after). Duplicated imports and signature correctness are ignored: this
/// answers "which syscalls does `b` newly need".
pub fn diff(a: &ImportReport, b: &ImportReport) -> ImportDiff {
    let non_wasi = |r: &ImportReport| -> BTreeSet<String> {
        r.non_wasi
            .iter()
            .map(|i| format!("{}.{}", i.module, i.name))
            .collect()
    };
    let (pa, pb) = (a.p1_names(), b.p1_names());
    let (na, nb) = (non_wasi(a), non_wasi(b));
    ImportDiff {
        p1_added: pb.difference(&pa).map(|s| s.to_string()).collect(),
        p1_removed: pa.difference(&pb).map(|s| s.to_string()).collect(),
        non_wasi_added: nb.difference(&na).cloned().collect(),
        non_wasi_removed: na.difference(&nb).cloned().collect(),
    }
}

/// A short human-readable summary for a CLI.
pub fn render_text(report: &ImportReport) -> String {
    use std::fmt::Write;

    let mut s = String::new();
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    let _ = writeln!(
        s,
        "runnable on plain WASI: {}",
        yes_no(report.runnable_on_plain_wasi)
    );
    let memories = if report.exports.memories.is_empty() {
        "none".to_string()
    } else {
        report.exports.memories.join(", ")
    };
    let _ = writeln!(
        s,
        "exports: _start {}, _initialize {}; memories: {}",
        yes_no(report.exports.has_start),
        yes_no(report.exports.has_initialize),
        memories
    );
    let _ = writeln!(
        s,
        "{P1_MODULE}: {}/{} functions imported",
        report.p1_names().len(),
        PREVIEW1.len()
    );
    for i in &report.p1_imported {
        if i.signature_ok {
            let _ = writeln!(s, "  ok   {}", i.name);
        } else {
            let expected = i
                .expected
                .as_ref()
                .map(|e| e.to_string())
                .unwrap_or_default();
            let actual = match &i.actual {
                Some(a) => a.to_string(),
                None => format!("a {}", i.kind),
            };
            let _ = writeln!(s, "  BAD  {}: expected {expected}, got {actual}", i.name);
        }
    }
    if !report.p1_unknown.is_empty() {
        let _ = writeln!(s, "unknown {P1_MODULE} imports:");
        for i in &report.p1_unknown {
            let _ = writeln!(s, "  {} ({})", i.name, i.kind);
        }
    }
    if !report.non_wasi.is_empty() {
        let _ = writeln!(s, "non-WASI imports:");
        for i in &report.non_wasi {
            let _ = writeln!(s, "  {}.{} ({})", i.module, i.name, i.kind);
        }
    }
    let _ = writeln!(
        s,
        "not imported ({}): {}",
        report.p1_not_imported.len(),
        report.p1_not_imported.join(", ")
    );
    s
}

/// wasmparser's messages can carry a pretty-printed array ("expected=[\n    0x0,\n…"): the
/// cause on one line, as a terminal message should be.
fn one_line(e: &impl std::fmt::Display) -> String {
    e.to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}
