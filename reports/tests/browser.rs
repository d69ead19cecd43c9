//! The dashboard in a real headless browser (Debian's `chromium` package): it must load with
//! no script error or failed fetch, and its plots must actually paint, with and without JS.
//!
//! Needs `chromium` on PATH (`apt-get install -y chromium`); without it these tests fail.

mod common;

use common::{add_value, page_of, report_with_extra_cells, sample_report, tags};
use serde_json::json;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use wasiprobe_reports::History;

/// A hung browser fails the test instead of hanging it.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(60);
const WIDTH: u32 = 1400;
const HEIGHT: u32 = 3000;
/// Plot-coloured pixels below which a screenshot counts as blank: a single legend swatch is
/// ~100 pixels, one histogram ~10 000.
const MIN_PLOT_PIXELS: usize = 5_000;

/// Records what the page does wrong into attributes of `<html>` that `--dump-dom` prints.
/// Injected before the page's CSP `<meta>`, which only governs what comes after it. Capture
/// phase on `window` sees failed loads of elements, which do not bubble.
const RECORDER: &str = r#"<script>(function(){var errs=[];
function put(){document.documentElement.setAttribute("data-probe-errors",JSON.stringify(errs));}
window.addEventListener("error",function(e){var t=e.target;
if(t&&t!==window&&(t.src||t.href)){errs.push("failed to load "+(t.src||t.href));}
else{errs.push("uncaught: "+e.message);}put();},true);
window.addEventListener("unhandledrejection",function(e){errs.push("unhandled rejection: "+e.reason);put();});
document.addEventListener("securitypolicyviolation",function(e){errs.push("CSP blocked "+e.violatedDirective+" "+e.blockedURI);put();});
var ce=console.error;console.error=function(){errs.push("console.error: "+Array.prototype.join.call(arguments," "));put();return ce.apply(console,arguments);};
window.addEventListener("load",function(){document.documentElement.setAttribute("data-probe-loaded","1");put();});
put();})();</script>"#;

fn chromium() -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("chromium"))
            .find(|f| f.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "`chromium` is not on PATH, and the browser tests need it. On Debian/Ubuntu: \
             `apt-get update && apt-get install -y chromium` (as root)."
        )
    })
}

/// Runs chromium on `page` in a fresh profile; returns (stdout, stderr). Killed, with its whole
/// process group, if it outlives `BROWSER_TIMEOUT`.
fn run_chromium(dir: &Path, extra: &[String], page: &Path) -> (String, String) {
    let profile = tempfile::tempdir_in(dir).unwrap();
    let (out, err) = (dir.join("chromium.out"), dir.join("chromium.err"));
    let mut child = Command::new(chromium())
        .args([
            "--headless=new",
            "--no-sandbox", // tests run as root in CI containers
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--window-size={WIDTH},{HEIGHT}"))
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .process_group(0)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + BROWSER_TIMEOUT;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            kill_group(child.id());
            let _ = child.wait();
            panic!(
                "chromium did not finish within {BROWSER_TIMEOUT:?}; stderr:\n{}",
                std::fs::read_to_string(&err).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // Helpers chromium left behind belong to the group we created.
    kill_group(child.id());
    let stderr = std::fs::read_to_string(&err).unwrap_or_default();
    assert!(status.success(), "chromium failed ({status}):\n{stderr}");
    (std::fs::read_to_string(&out).unwrap(), stderr)
}

fn kill_group(pid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pid}")])
        .stderr(Stdio::null())
        .status();
}

struct Inspection {
    /// The recorder ran and saw the load event (else its silence would prove nothing).
    loaded: bool,
    errors: Vec<String>,
    dom: String,
    png: Vec<u8>,
}

impl Inspection {
    fn assert_reports(&self, what: &str) {
        assert!(
            self.errors.iter().any(|e| e.contains(what)),
            "no error mentions {what:?}: {:?}",
            self.errors
        );
    }
}

fn inject_recorder(html: &str) -> String {
    match html.find("<head>") {
        Some(i) => format!("{}{RECORDER}{}", &html[..i + 6], &html[i + 6..]),
        None => format!("{RECORDER}{html}"),
    }
}

/// Errors the browser reported: the recorder's list from the DOM, plus uncaught errors, CSP
/// blocks and failed loads that chromium logged to stderr.
fn console_errors(dom: &str, stderr: &str) -> Vec<String> {
    let mut errors: Vec<String> = tags(dom, "<html")
        .first()
        .and_then(|a| a.get("data-probe-errors").cloned())
        .map(|j| serde_json::from_str(&j).expect("recorder wrote JSON"))
        .unwrap_or_default();
    for line in stderr.lines().filter(|l| l.contains(":CONSOLE")) {
        if ["Uncaught", "violates", "Failed to load", "ERR_"]
            .iter()
            .any(|m| line.contains(m))
        {
            errors.push(line.to_string());
        }
    }
    errors
}

/// The page with its own scripts forbidden by its CSP. (Chromium's
/// `--blink-settings=scriptEnabled=false` also stops headless `--screenshot` from writing.)
fn without_page_scripts(html: &str) -> String {
    let start = html
        .find("script-src 'sha256-")
        .expect("the page allows one hashed script");
    let end = start + html[start..].find(';').unwrap();
    format!("{}script-src 'none'{}", &html[..start], &html[end..])
}

/// Loads `html` twice in chromium: once for the DOM and the errors, once for a screenshot.
/// With `script` false, the page's own scripts are blocked (the recorder still runs).
fn inspect(html: &str, script: bool) -> Inspection {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("page.html");
    let html = if script {
        html.to_string()
    } else {
        without_page_scripts(html)
    };
    std::fs::write(&page, inject_recorder(&html)).unwrap();
    let (dom, stderr) = run_chromium(dir.path(), &["--dump-dom".to_string()], &page);
    let loaded = dom.contains("data-probe-loaded=\"1\"");
    let errors = console_errors(&dom, &stderr);
    let shot = dir.path().join("shot.png");
    run_chromium(
        dir.path(),
        &[format!("--screenshot={}", shot.display())],
        &page,
    );
    let png = std::fs::read(&shot).expect("chromium wrote no screenshot");
    Inspection {
        loaded,
        errors,
        dom,
        png,
    }
}

/// Fill colours of the plots' bars and points, as the page declares them.
fn plot_colours(html: &str) -> Vec<(u8, u8, u8)> {
    let mut out: Vec<(u8, u8, u8)> = ["<rect class=\"bar\"", "<circle class=\"point\""]
        .iter()
        .flat_map(|t| tags(html, t))
        .filter_map(|a| a.get("fill").cloned())
        .filter_map(|f| {
            let h = f.strip_prefix('#')?;
            let c = |i: usize| u8::from_str_radix(h.get(i..i + 2)?, 16).ok();
            Some((c(0)?, c(2)?, c(4)?))
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Decodes the screenshot and counts pixels within a small tolerance of a plot colour.
fn plot_pixels(png_bytes: &[u8], colours: &[(u8, u8, u8)]) -> (u32, u32, usize) {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().expect("screenshot is not a PNG");
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader
        .next_frame(&mut buf)
        .expect("screenshot does not decode");
    let channels = info.color_type.samples();
    assert!(
        channels >= 3,
        "unexpected PNG colour type {:?}",
        info.color_type
    );
    let near = |a: u8, b: u8| a.abs_diff(b) <= 6;
    let n = buf[..info.buffer_size()]
        .chunks_exact(channels)
        .filter(|p| {
            colours
                .iter()
                .any(|c| near(p[0], c.0) && near(p[1], c.1) && near(p[2], c.2))
        })
        .count();
    (info.width, info.height, n)
}

fn is_blank(png_bytes: &[u8], colours: &[(u8, u8, u8)]) -> bool {
    plot_pixels(png_bytes, colours).2 < MIN_PLOT_PIXELS
}

fn dashboard_with_history() -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut h = History::open(dir.path().join("h.db")).unwrap();
    let first = sample_report();
    let mut second = report_with_extra_cells();
    second["started_at"] = json!("2026-11-26T04:50:44Z");
    add_value(&mut h, &first).unwrap();
    add_value(&mut h, &second).unwrap();
    let runs = h.runs().unwrap();
    assert_eq!(runs.len(), 2);
    page_of(&report_with_extra_cells(), &runs).unwrap()
}

#[test]
fn dashboard_loads_cleanly_and_paints_its_plots() {
    let html = dashboard_with_history();
    let colours = plot_colours(&html);
    assert!(colours.len() >= 5, "{colours:?}");

    let with_js = inspect(&html, true);
    assert!(with_js.loaded, "the page never finished loading");
    assert_eq!(with_js.errors, Vec::<String>::new(), "console errors");
    // The page's own script ran (it adds the filter box), so "no errors" covers it.
    assert!(with_js.dom.contains("id=\"cell-filter\""));
    let (w, h, n) = plot_pixels(&with_js.png, &colours);
    assert_eq!((w, h), (WIDTH, HEIGHT));
    assert!(!is_blank(&with_js.png, &colours), "only {n} plot pixels");

    // Plots are SVG in the markup: they paint with the page's script blocked too.
    let no_js = inspect(&html, false);
    assert!(no_js.loaded);
    assert!(
        !no_js.dom.contains("id=\"cell-filter\""),
        "the page's script still ran"
    );
    no_js.assert_reports("CSP blocked");
    assert!(
        !is_blank(&no_js.png, &colours),
        "only {} plot pixels without JS",
        plot_pixels(&no_js.png, &colours).2
    );
}

#[test]
fn a_thrown_error_and_a_failed_load_are_reported() {
    let html = dashboard_with_history();
    let with_body = |tag: &str| html.replacen("<body>", &format!("<body>{tag}"), 1);
    // Drop the CSP so that the error is the throw itself, not a blocked inline script.
    let thrown = strip_csp(&with_body(
        "<script>throw new Error('deliberate failure')</script>",
    ));
    let r = inspect(&thrown, true);
    assert!(r.loaded);
    r.assert_reports("deliberate failure");

    let missing = strip_csp(&with_body("<img src=\"no-such-image.png\" alt=\"\">"));
    inspect(&missing, true).assert_reports("no-such-image.png");

    // With the CSP in place, a fetch is blocked and reported too.
    let fetch = with_body("<img src=\"https://example.invalid/x.png\" alt=\"\">");
    inspect(&fetch, true).assert_reports("example.invalid");
}

fn strip_csp(html: &str) -> String {
    let start = html
        .find("<meta http-equiv=\"Content-Security-Policy\"")
        .unwrap();
    let end = start + html[start..].find('>').unwrap() + 1;
    format!("{}{}", &html[..start], &html[end..])
}

#[test]
fn an_empty_page_is_reported_blank() {
    let colours = plot_colours(&dashboard_with_history());
    let r = inspect(
        "<!DOCTYPE html><html><head><title>empty</title></head><body></body></html>",
        true,
    );
    assert!(r.loaded && r.errors.is_empty(), "{:?}", r.errors);
    let (w, h, n) = plot_pixels(&r.png, &colours);
    assert_eq!((w, h), (WIDTH, HEIGHT), "the screenshot itself is fine");
    assert!(
        is_blank(&r.png, &colours),
        "{n} plot pixels on an empty page"
    );
}
