//! `libc_abi`: the type widths, limits and constants of `probes/c/abi.c` — each one a fact the
//! SDK-update evidence diffs (S_IFIFO 0xc000 → 0x1000 in wasi-libc #463, SDK 22; int_fast16_t
//! 16 → 32 bits and __WORDSIZE 64 → 32 with musl 1.2.6, #797, SDK 34) — judged for the
//! consistency any C program relies on: a limit agrees with its type's width; the file-type
//! bits are distinct and inside `S_IFMT`; the access modes and the open flags do not overlap;
//! errno values are positive and distinct but for the aliases POSIX allows. Deterministic: no
//! false alarms.

use crate::protocol::Observation;
use crate::{Case, Judged, Judgement, Observed};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// errno names POSIX lets share a value.
const ALIASES: &[(&str, &str)] = &[
    ("EWOULDBLOCK", "EAGAIN"),
    ("EOPNOTSUPP", "ENOTSUP"),
    ("EDEADLOCK", "EDEADLK"),
];

/// Every value by name, and the constants by group (`S_IF`, `O_flag`, `errno`, …).
type Values = BTreeMap<String, i64>;
type Groups = BTreeMap<String, Vec<(String, i64)>>;

fn facts(obs: &[Observation]) -> (Values, Groups) {
    let mut flat = BTreeMap::new();
    let mut groups: BTreeMap<String, Vec<(String, i64)>> = BTreeMap::new();
    for o in obs {
        let (Some(what), Some(name)) = (o.str("what"), o.str("name")) else {
            continue;
        };
        match what {
            "sizeof" => {
                if let Some(v) = o.i64("value") {
                    flat.insert(format!("sizeof({name})"), v);
                }
            }
            "const" if o.fields.get("defined") == Some(&Value::Bool(true)) => {
                if let Some(v) = o.i64("value") {
                    flat.insert(name.to_string(), v);
                    groups
                        .entry(o.str("group").unwrap_or("").to_string())
                        .or_default()
                        .push((name.to_string(), v));
                }
            }
            _ => {}
        }
    }
    (flat, groups)
}

/// Every consistency problem in the recorded values.
pub fn problems(flat: &Values, groups: &Groups) -> Vec<String> {
    let mut p = Vec::new();
    let get = |k: &str| flat.get(k).copied();
    for (limit, ty, signed) in [
        ("INT_FAST8_MAX", "int_fast8_t", true),
        ("INT_FAST16_MAX", "int_fast16_t", true),
        ("INT_FAST32_MAX", "int_fast32_t", true),
        ("INT_FAST64_MAX", "int_fast64_t", true),
        ("INTPTR_MAX", "intptr_t", true),
        ("LONG_MAX", "long", true),
        ("SIZE_MAX", "size_t", false),
    ] {
        let (Some(max), Some(bytes)) = (get(limit), get(&format!("sizeof({ty})"))) else {
            p.push(format!("{limit} or sizeof({ty}) was not reported"));
            continue;
        };
        let bits = bytes * 8;
        let want: i128 = if signed {
            (1i128 << (bits - 1)) - 1
        } else {
            (1i128 << bits) - 1
        };
        // SIZE_MAX of a 64-bit size_t does not fit the probe's `long long`: it prints -1.
        let got = if !signed && max < 0 {
            max as i128 + (1i128 << 64)
        } else {
            max as i128
        };
        if got != want {
            p.push(format!(
                "{limit} is {got} but {ty} is {bytes} bytes (its maximum is {want})"
            ));
        }
    }
    if let Some(bits) = get("LONG_BIT") {
        if let Some(b) = get("sizeof(long)") {
            if bits != b * 8 {
                p.push(format!("LONG_BIT is {bits} but long is {b} bytes"));
            }
        }
    }
    match get("CLOCKS_PER_SEC") {
        Some(v) if v > 0 => {}
        v => p.push(format!("CLOCKS_PER_SEC is {v:?}")),
    }
    let group = |g: &str| groups.get(g).cloned().unwrap_or_default();
    if let Some(mask) = get("S_IFMT") {
        let types: Vec<(String, i64)> = group("S_IF")
            .into_iter()
            .filter(|(n, _)| n != "S_IFMT")
            .collect();
        if types.len() < 7 {
            p.push(format!(
                "only {} of the 7 S_IF* file types were reported",
                types.len()
            ));
        }
        for (n, v) in &types {
            if *v == 0 || v & !mask != 0 {
                p.push(format!(
                    "{n} = {v:#x} is not a nonzero value inside S_IFMT ({mask:#x})"
                ));
            }
        }
        for (i, (a, x)) in types.iter().enumerate() {
            for (b, y) in &types[i + 1..] {
                if x == y {
                    p.push(format!("{a} and {b} are both {x:#x}"));
                }
            }
        }
    } else {
        p.push("S_IFMT was not reported".into());
    }
    let access: Vec<(String, i64)> = group("O_access")
        .into_iter()
        .filter(|(n, _)| ["O_RDONLY", "O_WRONLY", "O_RDWR"].contains(&n.as_str()))
        .collect();
    for (i, (a, x)) in access.iter().enumerate() {
        for (b, y) in &access[i + 1..] {
            if x == y {
                p.push(format!("{a} and {b} are both {x:#x}"));
            }
        }
    }
    if let Some(mask) = get("O_ACCMODE") {
        for (n, v) in &access {
            if v & !mask != 0 {
                p.push(format!(
                    "{n} = {v:#x} has bits outside O_ACCMODE ({mask:#x})"
                ));
            }
        }
        for (n, v) in group("O_flag") {
            if v & mask != 0 {
                p.push(format!("{n} = {v:#x} overlaps O_ACCMODE ({mask:#x})"));
            }
        }
    }
    let flags = group("O_flag");
    for (i, (a, x)) in flags.iter().enumerate() {
        for (b, y) in &flags[i + 1..] {
            // O_SYNC includes O_DSYNC's bit (POSIX: O_SYNC implies the data-integrity part).
            let sync_pair = [a.as_str(), b.as_str()].contains(&"O_SYNC")
                && [a.as_str(), b.as_str()].contains(&"O_DSYNC");
            if x & y != 0 && !sync_pair {
                p.push(format!("{a} ({x:#x}) and {b} ({y:#x}) share bits"));
            }
        }
    }
    let errnos = group("errno");
    for (n, v) in &errnos {
        if *v <= 0 {
            p.push(format!("{n} = {v} is not a positive errno value"));
        }
    }
    for (i, (a, x)) in errnos.iter().enumerate() {
        for (b, y) in &errnos[i + 1..] {
            let allowed = ALIASES
                .iter()
                .any(|(p, q)| (a == p && b == q) || (a == q && b == p));
            if x == y && !allowed {
                p.push(format!("{a} and {b} are both {x}"));
            }
        }
    }
    p
}

check! {
    LibcAbi: "libc_abi", probe "abi", area "libc",
    case Case::probe("abi"),
    controls []
}

impl LibcAbi {
    fn judge(&self, _case: &Case, o: &Observed) -> Judged {
        o.done("the probe did not report `done`: its output is cut short")?;
        let obs = o.parsed()?;
        let (flat, groups) = facts(obs);
        let mut facts = Map::new();
        for (k, v) in &flat {
            facts.insert(k.clone(), json!(v));
        }
        let undefined: Vec<&str> = obs
            .iter()
            .filter(|x| {
                x.str("what") == Some("const")
                    && x.fields.get("defined") == Some(&Value::Bool(false))
            })
            .filter_map(|x| x.str("name"))
            .collect();
        facts.insert("undefined".into(), json!(undefined));
        let mut notes = Vec::new();
        if let (Some(w), Some(l)) = (flat.get("__WORDSIZE"), flat.get("sizeof(long)")) {
            if *w != l * 8 {
                // musl's wasm32 port said 64 until 1.2.6 (wasi-libc #797): a fact, not a fault
                // of the platform, but what a C extension checking __WORDSIZE would get wrong.
                notes.push(format!("__WORDSIZE is {w} while long is {} bits", l * 8));
            }
        }
        Ok(Judgement::from_problems(
            problems(&flat, &groups),
            json!({ "facts": facts, "notes": notes }),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{assert_fails_saying, assert_verdict, judge_stdout};
    use wasiprobe_model::report::Verdict;

    fn line(what: &str, group: &str, name: &str, v: Option<i64>) -> String {
        match (what, v) {
            ("sizeof", Some(v)) => format!(
                "{{\"probe\":\"abi\",\"check\":\"libc_abi\",\"what\":\"sizeof\",\"name\":\"{name}\",\"value\":{v}}}\n"
            ),
            (_, Some(v)) => format!(
                "{{\"probe\":\"abi\",\"check\":\"libc_abi\",\"what\":\"const\",\"group\":\"{group}\",\"name\":\"{name}\",\"defined\":true,\"value\":{v}}}\n"
            ),
            _ => format!(
                "{{\"probe\":\"abi\",\"check\":\"libc_abi\",\"what\":\"const\",\"group\":\"{group}\",\"name\":\"{name}\",\"defined\":false}}\n"
            ),
        }
    }

    /// wasi-libc 161b3195's values (SDK 33), as the probe prints them, but for the names `set`
    /// gives another value.
    fn honest(set: &[(&str, i64)]) -> Vec<u8> {
        let edit = |n: &str, v: i64| set.iter().find(|(m, _)| *m == n).map_or(v, |(_, x)| *x);
        let mut s = String::new();
        for (n, v) in [
            ("int_fast8_t", 1),
            ("int_fast16_t", 2),
            ("int_fast32_t", 4),
            ("int_fast64_t", 8),
            ("intptr_t", 4),
            ("long", 4),
            ("size_t", 4),
        ] {
            s += &line("sizeof", "", n, Some(edit(n, v)));
        }
        for (g, n, v) in [
            ("limit", "INT_FAST8_MAX", 127),
            ("limit", "INT_FAST16_MAX", 32767),
            ("limit", "INT_FAST32_MAX", 2147483647),
            ("limit", "INT_FAST64_MAX", i64::MAX),
            ("limit", "INTPTR_MAX", 2147483647),
            ("limit", "LONG_MAX", 2147483647),
            ("limit", "SIZE_MAX", 4294967295),
            ("limit", "CLOCKS_PER_SEC", 1000000),
            ("limit", "__WORDSIZE", 64),
            ("S_IF", "S_IFMT", 0xf000),
            ("S_IF", "S_IFSOCK", 0xc000),
            ("S_IF", "S_IFLNK", 0xa000),
            ("S_IF", "S_IFREG", 0x8000),
            ("S_IF", "S_IFBLK", 0x6000),
            ("S_IF", "S_IFDIR", 0x4000),
            ("S_IF", "S_IFCHR", 0x2000),
            ("S_IF", "S_IFIFO", 0x1000),
            ("O_access", "O_RDONLY", 0x4000000),
            ("O_access", "O_WRONLY", 0x10000000),
            ("O_access", "O_RDWR", 0x14000000),
            ("O_mask", "O_ACCMODE", 0x1c000000),
            ("O_flag", "O_CREAT", 1 << 12),
            ("O_flag", "O_EXCL", 4 << 12),
            ("O_flag", "O_TRUNC", 8 << 12),
            ("O_flag", "O_APPEND", 1),
            ("O_flag", "O_DSYNC", 2),
            ("O_flag", "O_NONBLOCK", 4),
            ("O_flag", "O_SYNC", 16 | 2),
            ("errno", "EAGAIN", 6),
            ("errno", "EWOULDBLOCK", 6),
            ("errno", "ENOSYS", 52),
            ("errno", "ENOTSUP", 58),
            ("errno", "EOPNOTSUPP", 58),
        ] {
            s += &line("const", g, n, Some(edit(n, v)));
        }
        s += &line("const", "limit", "PATH_MAX", None);
        s += "{\"probe\":\"abi\",\"check\":\"libc_abi\",\"what\":\"done\"}\n";
        s.into_bytes()
    }

    #[test]
    fn honest_values_pass_and_are_facts() {
        let j = judge_stdout(&LibcAbi, honest(&[]));
        assert_verdict(&j, Verdict::Pass);
        assert_eq!(j.evidence["facts"]["S_IFIFO"], 0x1000);
        assert_eq!(j.evidence["facts"]["sizeof(int_fast16_t)"], 2);
        assert_eq!(j.evidence["facts"]["undefined"], json!(["PATH_MAX"]));
        assert!(j.evidence["notes"][0]
            .as_str()
            .unwrap()
            .contains("__WORDSIZE is 64"));
    }

    #[test]
    fn inconsistent_values_are_rejected() {
        // The one value that makes the set inconsistent, and what the evidence must say.
        for (set, needle) in [
            // A limit that does not fit its type.
            (
                ("int_fast16_t", 4),
                "INT_FAST16_MAX is 32767 but int_fast16_t is 4 bytes",
            ),
            // Two file types with one value.
            (("S_IFSOCK", 0x1000), "S_IFSOCK and S_IFIFO are both 0x1000"),
            // A file type outside S_IFMT.
            (("S_IFIFO", 0x10000), "S_IFIFO = 0x10000"),
            // Two errno values that may not alias.
            (("ENOSYS", 58), "ENOSYS and ENOTSUP are both 58"),
            // An open flag inside the access mode.
            (
                ("O_TRUNC", 0x4000000),
                "O_TRUNC = 0x4000000 overlaps O_ACCMODE",
            ),
            // Open flags sharing a bit.
            (
                ("O_EXCL", 1 << 12),
                "O_CREAT (0x1000) and O_EXCL (0x1000) share bits",
            ),
        ] {
            assert_fails_saying(&judge_stdout(&LibcAbi, honest(&[set])), needle);
        }
        let cut: Vec<u8> = honest(&[])
            .split(|b| *b == b'\n')
            .take(5)
            .flat_map(|l| l.iter().copied().chain([b'\n']))
            .collect();
        assert_verdict(&judge_stdout(&LibcAbi, cut), Verdict::Fail);
    }
}
