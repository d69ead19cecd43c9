//! `libc_process_clocks`: libc's process CPU-time interfaces, read in the unit each one's
//! standard gives its numbers (`probes/c/process_clocks.c`): `clock()` in `CLOCKS_PER_SEC`,
//! `times()` in `sysconf(_SC_CLK_TCK)` ticks — its `tms_utime + tms_stime` and the elapsed real
//! time it returns (POSIX: "times() shall return the elapsed real time, in clock ticks") —
//! and `getrusage()` in microseconds.
//!
//! Why it exists: wasi-libc emulates these over the monotonic clock
//! (`libc-bottom-half/clocks/times.c` fills `tms_utime` with `clock()`'s nanoseconds and
//! returns the monotonic clock's nanoseconds, while `sysconf(_SC_CLK_TCK)` says 100), so a
//! POSIX program that divides by `_SC_CLK_TCK` reads 10^7 times the time. CPython is such a
//! program: `time.process_time()` tries `clock_gettime(CLOCK_PROCESS_CPUTIME_ID)`, then
//! `getrusage()`, then `times()` / `sysconf(_SC_CLK_TCK)` (Modules/timemodule.c,
//! `_PyTime_GetProcessTimeWithInfo`), and its WASI build never compiles the second in
//! (Tools/wasm/config.site-wasm32-wasi: `ac_cv_header_sys_resource_h=no`). So on a runtime
//! without CPU-time clocks (wasmtime 48 among them) it counts 10^7 times too fast, which the
//! `py-clocks` cells of a CPython build show. This check names the cause in the libc.
//!
//! Rules, with why an honest libc cannot trip them:
//! - a CPU-time interface may not advance more than 4× the wall time + 50 ms across ~100 ms of
//!   busy work or ~50 ms of sleep. The guest is one thread; 4× leaves room for a libc that
//!   reports the host process's CPU time while other threads of the host run (none in the
//!   matrix does: wasi-libc's emulation counts the monotonic clock) and 50 ms for a coarse
//!   tick. A count in a unit 10× or more too fine fails;
//! - across the busy work it must advance by at least 1% of the wall time, judged only where
//!   that window spans 100 or more of the interface's units: a frozen clock or one in a unit
//!   100× too coarse fails. Only a guest starved of more than 99% of the window could fail an
//!   honest clock (see `clock_cputime`);
//! - `times()`'s return value must follow the wall time within a factor of 4 (± 50 ms);
//! - `sysconf(_SC_CLK_TCK)` must be positive;
//! - an interface that fails (an errno, `(clock_t)-1`) is a fact, not a problem: C allows it.
//!
//! Its probe needs `-D_WASI_EMULATED_PROCESS_CLOCKS -lwasi-emulated-process-clocks`, which the
//! probe's `flags` line gives. Like the other libc checks, its negative controls are probe
//! outputs fed to `judge` in the unit tests: the probe makes only clock calls, and a liar of
//! the monotonic clock would move the wall reference with it.

use crate::protocol::Observation;
use crate::{Case, Judged, Judgement, Observed};
use serde_json::{json, Map, Value};

pub const PROBE: &str = "process_clocks";

const SLACK_NS: i128 = 50_000_000;

check! {
    LibcProcessClocks: "libc_process_clocks", probe PROBE, area "libc",
    case Case::probe(PROBE),
    controls []
}

/// `count` units of `per_sec` per second, in nanoseconds.
fn ns(count: i128, per_sec: i128) -> i128 {
    count * 1_000_000_000 / per_sec
}

/// How many times faster than the wall time a count ran, as a power of ten when it is one.
fn scale(fast: i128, wall: i128) -> String {
    let r = fast as f64 / wall.max(1) as f64;
    let k = r.log10().round();
    if (r / 10f64.powf(k) - 1.0).abs() < 0.5 && k >= 1.0 {
        format!("about 10^{k} times the wall time")
    } else {
        format!("{r:.1} times the wall time")
    }
}

fn judge_interface(l: &Observation, problems: &mut Vec<String>) -> Value {
    let api = l.str("api").unwrap_or("?");
    let errno = l.i64("errno").unwrap_or(-1);
    let per_sec = l.i64("per_sec").unwrap_or(0) as i128;
    if errno != 0 {
        return json!({ "errno": errno });
    }
    if per_sec <= 0 {
        problems.push(format!(
            "{api}: its unit is {per_sec} counts per second; it must be positive"
        ));
        return json!({ "per_sec": per_sec as i64 });
    }
    let [a, b, c] = ["start", "after_busy", "after_sleep"].map(|k| l.i64(k).unwrap_or(0) as i128);
    let busy_wall = l.i64("busy_wall_ns").unwrap_or(0) as i128;
    let sleep_wall = l.i64("sleep_wall_ns").unwrap_or(0) as i128;
    let (busy, sleep) = (ns(b - a, per_sec), ns(c - b, per_sec));
    let unit = if api.starts_with("times") {
        format!("{per_sec} ticks per second (sysconf(_SC_CLK_TCK))")
    } else if api == "clock" {
        format!("{per_sec} per second (CLOCKS_PER_SEC)")
    } else {
        "microseconds".to_string()
    };
    if api == "times.return" {
        let (count, wall) = (busy + sleep, busy_wall + sleep_wall);
        if count > 4 * wall + SLACK_NS || count < wall / 4 - SLACK_NS {
            problems.push(format!(
                "times() returned elapsed real time that, read in {unit} as POSIX gives it, \
                 is {count} ns across {wall} ns: {}",
                scale(count, wall)
            ));
        }
    } else {
        if b < a || c < b {
            problems.push(format!("{api}: went backwards ({a}, {b}, {c})"));
        }
        if busy > 4 * busy_wall + SLACK_NS || sleep > 4 * sleep_wall + SLACK_NS {
            problems.push(format!(
                "{api}: read in {unit}, advanced {busy} ns during {busy_wall} ns of busy work \
                 and {sleep} ns during {sleep_wall} ns of sleep: {}",
                scale(busy.max(sleep), busy_wall.max(sleep_wall))
            ));
        }
        let spans = busy_wall * per_sec / 1_000_000_000;
        if spans >= 100 && busy * 100 < busy_wall {
            problems.push(format!(
                "{api}: read in {unit}, advanced {busy} ns during {busy_wall} ns of busy work"
            ));
        }
    }
    // A guest's counts are not trusted to fit: the evidence saturates rather than wraps.
    let n = |x: i128| i64::try_from(x).unwrap_or(if x < 0 { i64::MIN } else { i64::MAX });
    json!({ "per_sec": n(per_sec), "busy_ns": n(busy), "busy_wall_ns": n(busy_wall),
            "sleep_ns": n(sleep), "sleep_wall_ns": n(sleep_wall) })
}

impl LibcProcessClocks {
    fn judge(&self, _case: &Case, o: &Observed) -> Judged {
        let done = o.done("the probe did not finish")?;
        let obs = o.parsed()?;
        let lines: Vec<&Observation> = obs
            .iter()
            .filter(|x| x.str("what") == Some("interface"))
            .collect();
        let mut problems = Vec::new();
        if lines.len() < 4 {
            problems.push(format!(
                "the probe reported {} of 4 interfaces",
                lines.len()
            ));
        }
        let mut ev = Map::new();
        for l in &lines {
            let v = judge_interface(l, &mut problems);
            ev.insert(l.str("api").unwrap_or("?").to_string(), v);
        }
        // Stable, comparable facts: what an SDK bump changes (see `wasiprobe evidence`).
        let errno = |api: &str| lines.iter().find(|l| l.str("api") == Some(api)).and_then(|l| l.i64("errno"));
        let facts = json!({
            "clk_tck": done.i64("clk_tck"),
            "clocks_per_sec": done.i64("clocks_per_sec"),
            "clock_errno": errno("clock"),
            "times_errno": errno("times.return"),
            "getrusage_errno": errno("getrusage.ru_utime+ru_stime"),
        });
        ev.insert("facts".into(), facts);
        Ok(Judgement::from_problems(problems, Value::Object(ev)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{assert_fails_saying, assert_verdict, judge_stdout};
    use wasiprobe_model::report::Verdict;

    /// A probe output: (api, per_sec, errno, [start, after_busy, after_sleep]) with 100 ms of
    /// busy work and 50 ms of sleep.
    fn out(rows: &[(&str, i64, i64, [i64; 3])], clk_tck: i64) -> Vec<u8> {
        let mut s: String = rows
            .iter()
            .map(|(api, per_sec, errno, [a, b, c])| {
                format!("{{\"probe\":\"process_clocks\",\"check\":\"libc_process_clocks\",\"what\":\"interface\",\"api\":\"{api}\",\"errno\":{errno},\"per_sec\":{per_sec},\"start\":{a},\"after_busy\":{b},\"after_sleep\":{c},\"busy_wall_ns\":100000000,\"sleep_wall_ns\":50000000}}\n")
            })
            .collect();
        s.push_str(&format!("{{\"probe\":\"process_clocks\",\"check\":\"libc_process_clocks\",\"what\":\"done\",\"clk_tck\":{clk_tck},\"clocks_per_sec\":1000000000}}\n"));
        s.into_bytes()
    }

    /// A libc that counts as POSIX says: CPU time only while busy, in each interface's unit.
    fn honest() -> Vec<(&'static str, i64, i64, [i64; 3])> {
        vec![
            ("clock", 1_000_000_000, 0, [1_000, 98_001_000, 98_501_000]),
            ("times.tms_utime+tms_stime", 100, 0, [0, 10, 10]),
            ("times.return", 100, 0, [5_000, 5_010, 5_015]),
            ("getrusage.ru_utime+ru_stime", 1_000_000, 0, [3, 99_003, 99_503]),
        ]
    }

    #[test]
    fn a_libc_counting_in_its_declared_units_passes() {
        let j = judge_stdout(&LibcProcessClocks, out(&honest(), 100));
        assert_verdict(&j, Verdict::Pass);
        assert_eq!(j.evidence["facts"]["clk_tck"], 100);
        // wasi-libc's clock() counts the monotonic clock: wall time is CPU time, and allowed.
        let mut wall = honest();
        wall[0].3 = [0, 100_000_000, 150_000_000];
        assert_verdict(&judge_stdout(&LibcProcessClocks, out(&wall, 100)), Verdict::Pass);
        // An interface that fails cleanly is a fact.
        let mut failing = honest();
        failing[3].2 = 52;
        let j = judge_stdout(&LibcProcessClocks, out(&failing, 100));
        assert_verdict(&j, Verdict::Pass);
        assert_eq!(j.evidence["facts"]["getrusage_errno"], 52);
    }

    /// The negative control: wasi-libc's times(), nanoseconds in fields that
    /// sysconf(_SC_CLK_TCK) = 100 says are ticks.
    #[test]
    fn times_in_nanoseconds_against_clk_tck_100_fails_naming_the_scale() {
        let mut wasi = honest();
        wasi[1].3 = [6_000, 100_006_000, 150_006_000];
        wasi[2].3 = [9_000_000, 109_000_000, 159_000_000];
        let j = judge_stdout(&LibcProcessClocks, out(&wasi, 100));
        assert_fails_saying(&j, "times.tms_utime+tms_stime: read in 100 ticks per second");
        assert_fails_saying(&j, "about 10^7 times the wall time");
        assert_fails_saying(&j, "times() returned elapsed real time");
    }

    type Rows = Vec<(&'static str, i64, i64, [i64; 3])>;

    /// The honest output edited by `edit` (with `clk_tck`) must fail, saying `needle`.
    #[track_caller]
    fn fails(edit: fn(&mut Rows), clk_tck: i64, needle: &str) {
        let mut rows = honest();
        edit(&mut rows);
        assert_fails_saying(&judge_stdout(&LibcProcessClocks, out(&rows, clk_tck)), needle);
    }

    #[test]
    fn frozen_backwards_coarse_and_unitless_clocks_fail() {
        fails(|r| r[0].3 = [7, 7, 7], 100, "clock: read in");
        fails(|r| r[3].3 = [99_003, 3, 503], 100, "went backwards");
        // Microseconds where nanoseconds are declared: 1000 times too slow.
        fails(
            |r| r[0].3 = [1, 98_001, 98_501],
            100,
            "clock: read in 1000000000 per second",
        );
        fails(|r| (r[1].1, r[2].1) = (0, 0), 0, "it must be positive");
        // A ticks-per-second clock of 100 Hz is not judged frozen over 10 ticks' window.
        let mut coarse = honest();
        coarse[1].3 = [0, 0, 0];
        assert_verdict(&judge_stdout(&LibcProcessClocks, out(&coarse, 100)), Verdict::Pass);
    }

    #[test]
    fn an_unfinished_or_partial_run_fails() {
        let mut o = out(&honest(), 100);
        let cut = o.len() - 90;
        o.truncate(o[..cut].iter().rposition(|&b| b == b'\n').unwrap() + 1);
        assert_verdict(&judge_stdout(&LibcProcessClocks, o), Verdict::Fail);
        let j = judge_stdout(&LibcProcessClocks, out(&honest()[..2], 100));
        assert_fails_saying(&j, "2 of 4 interfaces");
    }
}
