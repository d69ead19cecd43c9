//! The probe output protocol (see `probes/PROTOCOL.md`): line-delimited JSON objects on stdout,
//! each with `probe` and `check`; an object with `payload_bytes: N` is followed by exactly N raw
//! bytes on the same stream.

use serde_json::{Map, Value};

/// The guest path of each case's scratch directory (see probes/PROTOCOL.md).
pub const SCRATCH_GUEST: &str = "/scratch";

/// The preopened directory's name inside a case's root: a check that inspects the host tree
/// after a run finds the guest's `/scratch` here.
pub const SCRATCH_DIR: &str = "scratch";

#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub fields: Map<String, Value>,
    pub payload: Option<Vec<u8>>,
}

impl Observation {
    pub fn str(&self, k: &str) -> Option<&str> {
        self.fields.get(k).and_then(Value::as_str)
    }
    pub fn i64(&self, k: &str) -> Option<i64> {
        self.fields.get(k).and_then(Value::as_i64)
    }
}

/// The first observation whose `what` is `what`. Probes name each step so, and end with a
/// `done` line that says the run got to its end.
pub fn first<'a>(obs: &'a [Observation], what: &str) -> Option<&'a Observation> {
    obs.iter().find(|o| o.str("what") == Some(what))
}

/// Parses a whole stream. Any deviation is an error naming the line, because a probe whose
/// output is garbled is itself evidence (e.g. a runtime that drops bytes).
pub fn parse(stream: &[u8]) -> Result<Vec<Observation>, String> {
    let mut out = Vec::new();
    let mut pos = 0;
    let mut line_no = 0;
    while pos < stream.len() {
        line_no += 1;
        let rest = &stream[pos..];
        let nl = rest.iter().position(|&b| b == b'\n').ok_or_else(|| {
            format!(
                "line {line_no}: stream ends without a newline after {} bytes: {}",
                rest.len(),
                preview(rest)
            )
        })?;
        let line = &rest[..nl];
        pos += nl + 1;
        let v: Value = serde_json::from_slice(line)
            .map_err(|e| format!("line {line_no}: not JSON ({e}): {}", preview(line)))?;
        let Value::Object(fields) = v else {
            return Err(format!(
                "line {line_no}: not a JSON object: {}",
                preview(line)
            ));
        };
        for k in ["probe", "check"] {
            if !fields.get(k).is_some_and(Value::is_string) {
                return Err(format!("line {line_no}: no string field `{k}`"));
            }
        }
        let payload = match fields.get("payload_bytes") {
            None => None,
            Some(n) => {
                let n = n
                    .as_u64()
                    .ok_or_else(|| format!("line {line_no}: payload_bytes is not a count"))?
                    as usize;
                if stream.len() - pos < n {
                    return Err(format!(
                        "line {line_no}: announces a {n}-byte payload but only {} bytes follow",
                        stream.len() - pos
                    ));
                }
                let p = stream[pos..pos + n].to_vec();
                pos += n;
                Some(p)
            }
        };
        out.push(Observation { fields, payload });
    }
    Ok(out)
}

fn preview(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(&b[..b.len().min(120)]).into_owned();
    if b.len() > 120 {
        format!("{s:?}…")
    } else {
        format!("{s:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_payloads() {
        let mut s = b"{\"probe\":\"p\",\"check\":\"c\",\"x\":1}\n{\"probe\":\"p\",\"check\":\"c\",\"payload_bytes\":3}\n".to_vec();
        s.extend_from_slice(b"\n\0\xff");
        s.extend_from_slice(b"{\"probe\":\"p\",\"check\":\"c\"}\n");
        let v = parse(&s).unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!(v[0].i64("x"), Some(1));
        assert_eq!(v[1].payload.as_deref(), Some(&b"\n\0\xff"[..]));
        assert!(parse(b"").unwrap().is_empty());
    }

    #[test]
    fn broken_streams_are_rejected_with_the_line() {
        assert!(parse(b"{\"probe\":\"p\",\"check\":\"c\"}")
            .unwrap_err()
            .contains("without a newline"));
        assert!(parse(b"{\"probe\":\"p\",\"check\":\"c\"}\nhello\n")
            .unwrap_err()
            .starts_with("line 2"));
        assert!(parse(b"{\"check\":\"c\"}\n").unwrap_err().contains("probe"));
        assert!(parse(b"[1]\n").unwrap_err().contains("object"));
        let e = parse(b"{\"probe\":\"p\",\"check\":\"c\",\"payload_bytes\":10}\nabc").unwrap_err();
        assert!(e.contains("only 3 bytes"), "{e}");
    }
}
