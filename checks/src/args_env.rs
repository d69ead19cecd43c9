//! `args_env`: argv, the environment and the exit status arrive exactly as given — including
//! empty strings, spaces, `=` inside values, multi-byte UTF-8 and a 4 KiB argument.

use super::{unhex, Case, Judged, Judgement, Observed};
use serde_json::json;

/// The exit status the probe is asked to end with; not 0 or 1, so a runtime that flattens
/// statuses is caught.
pub const EXIT_CODE: i32 = 42;

check! {
    ArgsEnv: "args_env", probe "args_env", area "process",
    case Case {
        args: vec![
            "args_env".into(),
            String::new(),
            "plain".into(),
            "with space".into(),
            "ünïcødé ✓ 😀".into(),
            "a=b".into(),
            "--flag".into(),
            "x".repeat(4096),
        ],
        env: vec![
            ("WASIPROBE_EXIT".into(), EXIT_CODE.to_string()),
            ("EMPTY".into(), String::new()),
            ("UTF8".into(), "ünïcødé ✓ 😀".into()),
            ("EQUALS".into(), "a=b=c".into()),
            ("SPACE".into(), "x y".into()),
        ],
        ..Default::default()
    },
    controls ["args_get:truncate", "environ_get:drop-value", "proc_exit:zero"]
}

impl ArgsEnv {
    fn judge(&self, case: &Case, o: &Observed) -> Judged {
        let obs = o.parsed()?;
        let mut problems = Vec::new();
        let mut args: Vec<Option<Vec<u8>>> = Vec::new();
        let mut env: Vec<Vec<u8>> = Vec::new();
        let mut argc = None;
        for ob in obs {
            match ob.str("what") {
                Some("argc") => argc = ob.i64("value"),
                Some("arg") => {
                    let i = ob.i64("index").unwrap_or(-1);
                    let v = ob.str("hex").and_then(unhex);
                    if i < 0 || v.is_none() {
                        problems.push(format!("malformed arg observation: {:?}", ob.fields));
                        continue;
                    }
                    let i = i as usize;
                    if args.len() <= i {
                        args.resize(i + 1, None);
                    }
                    args[i] = v;
                }
                Some("env") => match ob.str("hex").and_then(unhex) {
                    Some(v) => env.push(v),
                    None => problems.push(format!("malformed env observation: {:?}", ob.fields)),
                },
                _ => {}
            }
        }
        if argc != Some(case.args.len() as i64) {
            problems.push(format!("argc is {argc:?}, expected {}", case.args.len()));
        }
        for (i, want) in case.args.iter().enumerate() {
            match args.get(i).cloned().flatten() {
                Some(got) if got == want.as_bytes() => {}
                Some(got) => problems.push(format!(
                    "argv[{i}] is {:?} ({} bytes), expected {:?} ({} bytes)",
                    shorten(&got),
                    got.len(),
                    shorten(want.as_bytes()),
                    want.len()
                )),
                None => problems.push(format!("argv[{i}] was not reported")),
            }
        }
        if args.len() > case.args.len() {
            problems.push(format!("{} extra arguments", args.len() - case.args.len()));
        }
        for (k, v) in &case.env {
            let want = format!("{k}={v}").into_bytes();
            let n = env.iter().filter(|e| **e == want).count();
            if n != 1 {
                let seen: Vec<String> = env
                    .iter()
                    .filter(|e| e.starts_with(format!("{k}=").as_bytes()))
                    .map(|e| shorten(e))
                    .collect();
                problems.push(format!(
                    "environment has {n} copies of {:?}; entries for {k}: {seen:?}",
                    shorten(&want)
                ));
            }
        }
        let expected: Vec<Vec<u8>> = case
            .env
            .iter()
            .map(|(k, v)| format!("{k}={v}").into_bytes())
            .collect();
        let extra: Vec<String> = env
            .iter()
            .filter(|e| !expected.contains(e))
            .map(|e| shorten(e))
            .collect();
        if !extra.is_empty() {
            problems.push(format!("unexpected environment entries: {extra:?}"));
        }
        let code = match o.outcome.termination {
            wasiprobe_model::run::Termination::Exited { code } => Some(code),
            _ => None,
        };
        if code != Some(EXIT_CODE) {
            problems.push(format!("exit status {code:?}, expected {EXIT_CODE}"));
        }
        Ok(Judgement::from_problems(
            problems,
            json!({ "argc": argc, "env_entries": env.len(), "exit": code }),
        ))
    }
}

fn shorten(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s.into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{judge, outcome};
    use crate::{hex, Check};
    use wasiprobe_model::report::Verdict;

    /// What an honest runtime makes the probe print, built from the case itself.
    fn honest(args: &[String], env: &[(String, String)]) -> Vec<u8> {
        let mut s = format!(
            "{{\"probe\":\"args_env\",\"check\":\"args_env\",\"what\":\"argc\",\"value\":{}}}\n",
            args.len()
        );
        for (i, a) in args.iter().enumerate() {
            s += &format!("{{\"probe\":\"args_env\",\"check\":\"args_env\",\"what\":\"arg\",\"index\":{i},\"hex\":\"{}\"}}\n", hex(a.as_bytes()));
        }
        for (k, v) in env {
            s += &format!("{{\"probe\":\"args_env\",\"check\":\"args_env\",\"what\":\"env\",\"hex\":\"{}\"}}\n", hex(format!("{k}={v}").as_bytes()));
        }
        s.into_bytes()
    }

    #[test]
    fn honest_outcome_passes() {
        let c = ArgsEnv.case();
        let j = judge(
            &ArgsEnv,
            &outcome(EXIT_CODE, honest(&c.args, &c.env), vec![]),
        );
        assert_eq!(j.verdict, Verdict::Pass, "{}", j.evidence);
    }

    #[test]
    fn truncated_argument_fails() {
        let mut c = ArgsEnv.case();
        c.args[7].truncate(2048);
        let j = judge(
            &ArgsEnv,
            &outcome(EXIT_CODE, honest(&c.args, &c.env), vec![]),
        );
        assert_eq!(j.verdict, Verdict::Fail);
        assert!(j.evidence.to_string().contains("argv[7]"), "{}", j.evidence);
    }

    #[test]
    fn empty_argument_dropped_fails() {
        let mut c = ArgsEnv.case();
        c.args.remove(1);
        let j = judge(
            &ArgsEnv,
            &outcome(EXIT_CODE, honest(&c.args, &c.env), vec![]),
        );
        assert_eq!(j.verdict, Verdict::Fail);
    }

    #[test]
    fn lost_env_value_extra_variable_and_wrong_exit_fail() {
        let c = ArgsEnv.case();
        let mut env = c.env.clone();
        env[2].1.clear();
        assert_eq!(
            judge(&ArgsEnv, &outcome(EXIT_CODE, honest(&c.args, &env), vec![])).verdict,
            Verdict::Fail
        );
        let mut env = c.env.clone();
        env.push(("HOME".into(), "/".into()));
        assert_eq!(
            judge(&ArgsEnv, &outcome(EXIT_CODE, honest(&c.args, &env), vec![])).verdict,
            Verdict::Fail
        );
        assert_eq!(
            judge(&ArgsEnv, &outcome(0, honest(&c.args, &c.env), vec![])).verdict,
            Verdict::Fail
        );
    }

    #[test]
    fn garbled_stdout_fails() {
        let c = ArgsEnv.case();
        let mut s = honest(&c.args, &c.env);
        s.truncate(s.len() - 5);
        let j = judge(&ArgsEnv, &outcome(EXIT_CODE, s, vec![]));
        assert_eq!(j.verdict, Verdict::Fail);
        assert!(j.evidence.get("protocol_error").is_some());
    }
}
