//! Expectation files (TOML): skip, expected fail.

use super::*;
use anyhow::Result;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Expectation {
    pub skip: bool,
    pub expected_fail: bool,
}

/// One expectation file: suite name → test name → expectation, with where each entry is (for
/// warnings about entries that match nothing).
#[derive(Debug, Clone, Default)]
pub struct Expectations {
    pub file: PathBuf,
    pub suites: HashMap<String, HashMap<String, (Expectation, usize)>>,
}

#[derive(serde::Deserialize)]
pub(crate) struct RawExpectations {
    version: Option<toml::Spanned<i64>>,
    #[serde(default)]
    suite: Vec<RawSuite>,
}

#[derive(serde::Deserialize)]
pub(crate) struct RawSuite {
    name: toml::Spanned<String>,
    #[serde(default)]
    test: Vec<RawTest>,
}

#[derive(serde::Deserialize)]
pub(crate) struct RawTest {
    name: toml::Spanned<String>,
    action: Option<toml::Spanned<String>>,
    expected: Option<toml::Spanned<String>>,
}

impl Expectations {
    pub fn load(path: &Path) -> Result<Expectations> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| usage(format!("{}: cannot read: {e}", path.display())))?;
        Expectations::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Expectations> {
        let err = |offset: usize, msg: String| {
            usage(format!(
                "{}:{}: {msg}",
                path.display(),
                line_col(text, offset)
            ))
        };
        let raw: RawExpectations = toml::from_str(text).map_err(|e| {
            let at = e.span().map_or(0, |s| s.start);
            err(at, e.message().trim().replace('\n', " "))
        })?;
        warn_unknown_keys(text, path);
        if let Some(v) = &raw.version {
            if *v.get_ref() != 1 {
                return Err(err(
                    v.span().start,
                    format!(
                        "field `version`: expectation file version {} is not supported (1 is)",
                        v.get_ref()
                    ),
                ));
            }
        }
        let mut suites = HashMap::new();
        for s in raw.suite {
            let mut tests = HashMap::new();
            for t in s.test {
                let mut x = Expectation::default();
                if let Some(a) = &t.action {
                    match a.get_ref().as_str() {
                        "skip" => x.skip = true,
                        other => {
                            return Err(err(
                                a.span().start,
                                format!("field `action`: {other:?} is not one of [\"skip\"]"),
                            ))
                        }
                    }
                }
                if let Some(a) = &t.expected {
                    match a.get_ref().as_str() {
                        "fail" => x.expected_fail = true,
                        "pass" => {}
                        other => {
                            return Err(err(
                                a.span().start,
                                format!(
                                    "field `expected`: {other:?} is not one of [\"pass\", \"fail\"]"
                                ),
                            ))
                        }
                    }
                }
                if t.action.is_none() && t.expected.is_none() {
                    return Err(err(
                        t.name.span().start,
                        format!(
                            "test {:?}: each test entry must set `action` and/or `expected`",
                            t.name.get_ref()
                        ),
                    ));
                }
                let line = line_col(text, t.name.span().start);
                tests.insert(t.name.into_inner(), (x, line));
            }
            // A repeated suite replaces the earlier one, as in the reference.
            suites.insert(s.name.into_inner(), tests);
        }
        Ok(Expectations {
            file: path.to_owned(),
            suites,
        })
    }

    pub fn get(&self, suite: &str, test: &str) -> Expectation {
        self.suites
            .get(suite)
            .and_then(|t| t.get(test))
            .map_or_else(Expectation::default, |(x, _)| *x)
    }
}
