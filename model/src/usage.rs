//! A mistake in what the user asked for (exit 2), as opposed to a finding or the tool's own
//! failure. Any stage may return it; the binary maps it to the usage exit code.

#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// "unknown WHAT 'NAME'; valid: …", the one wording for every unknown name.
pub fn unknown(what: &str, name: &str, valid: &[&str]) -> UsageError {
    UsageError(format!(
        "unknown {what} '{name}'; valid: {}",
        valid.join(", ")
    ))
}
