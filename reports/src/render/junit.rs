//! junit.xml: one testcase per cell.

use super::*;
use std::collections::BTreeMap;
use wasiprobe_model::report::{Report, Verdict};

pub fn junit(r: &Report) -> String {
    use quick_junit::{NonSuccessKind, Report as JReport, TestCase, TestCaseStatus, TestSuite};
    let mut report = JReport::new("wasiprobe");
    let mut suites: BTreeMap<String, TestSuite> = BTreeMap::new();
    for c in &r.results {
        let suite = suites
            .entry(format!("{}::{}", c.sdk, c.runtime))
            .or_insert_with_key(|k| TestSuite::new(k.clone()));
        let status = match c.verdict {
            Verdict::Pass => TestCaseStatus::success(),
            Verdict::Skip | Verdict::Unavailable => {
                let mut s = TestCaseStatus::skipped();
                s.set_message(one_line(&c.evidence));
                s
            }
            Verdict::Fail => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(one_line(&c.evidence));
                s.set_description(c.evidence.to_string());
                s
            }
            v => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
                s.set_message(format!("{}: {}", v.as_str(), one_line(&c.evidence)));
                s.set_type(v.as_str());
                s.set_description(c.evidence.to_string());
                s
            }
        };
        let mut tc = TestCase::new(format!("{}::{}", c.probe, c.check), status);
        tc.set_classname(format!("{}.{}.{}", c.sdk, c.runtime, c.area));
        tc.set_time(std::time::Duration::from_secs_f64(c.duration_ms / 1000.0));
        suite.add_test_case(tc);
    }
    report.add_test_suites(suites.into_values());
    report.to_string().unwrap_or_default()
}
