//! Hand-written inline SVG charts: a few bar and line charts do not justify a plotting crate,
//! and inline SVG renders without script and without fetching anything.

use crate::html::esc;
use std::fmt::Write as _;

/// Categorical colours for series (SDK × runtime); the native floor gets `NATIVE_COLOUR`.
pub(crate) const PALETTE: [&str; 10] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    "#bcbd22", "#7f7f7f",
];
pub(crate) const NATIVE_COLOUR: &str = "#222222";
/// Colours for series that are not SDKs (e.g. raw vs libc reads), distinct from `PALETTE` so
/// they are not mistaken for a toolchain.
pub(crate) const ALT_PALETTE: [&str; 4] = ["#4e79a7", "#f28e2b", "#59a14f", "#b07aa1"];

#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Scale {
    Linear,
    /// Log10; non-positive values draw nothing (a zero count has no bar on a log axis).
    Log,
}

pub(crate) struct Series {
    pub name: String,
    pub colour: String,
    pub values: Vec<f64>,
    /// Upper whisker per value (e.g. p99 above a p50 bar); `NaN` for none.
    pub whiskers: Option<Vec<f64>>,
}

pub(crate) struct BarChart<'a> {
    /// Marks the `<svg>` so tests and readers can find a kind of plot.
    pub kind: &'a str,
    pub title: &'a str,
    pub x_labels: Vec<String>,
    pub x_title: &'a str,
    pub y_title: &'a str,
    pub scale: Scale,
    pub series: Vec<Series>,
    /// A dashed horizontal line, e.g. the count a uniform histogram would have.
    pub reference: Option<(f64, &'a str)>,
    pub width: f64,
    pub height: f64,
    pub fmt_y: fn(f64) -> String,
}

const LEFT: f64 = 62.0;
const RIGHT: f64 = 10.0;
const TOP: f64 = 26.0;
const BOTTOM: f64 = 46.0;

struct Axis {
    scale: Scale,
    lo: f64,
    hi: f64,
    y0: f64,
    y1: f64,
}

impl Axis {
    fn new(scale: Scale, values: impl Iterator<Item = f64>, y0: f64, y1: f64) -> Axis {
        let finite: Vec<f64> = values.filter(|v| v.is_finite()).collect();
        let max = finite.iter().copied().fold(0.0_f64, f64::max);
        match scale {
            Scale::Linear => Axis {
                scale,
                lo: 0.0,
                hi: nice_ceil(max),
                y0,
                y1,
            },
            Scale::Log => {
                let min_pos = finite
                    .iter()
                    .copied()
                    .filter(|v| *v > 0.0)
                    .fold(f64::INFINITY, f64::min);
                let (lo, hi) = if min_pos.is_finite() {
                    let lo = min_pos.log10().floor();
                    let hi = max.log10().ceil().max(lo + 1.0);
                    (lo, hi)
                } else {
                    (0.0, 1.0)
                };
                Axis {
                    scale,
                    lo,
                    hi,
                    y0,
                    y1,
                }
            }
        }
    }

    /// Pixel y of a value; `None` when the value cannot be drawn on this axis.
    fn y(&self, v: f64) -> Option<f64> {
        if !v.is_finite() {
            return None;
        }
        let t = match self.scale {
            Scale::Linear => (v - self.lo) / (self.hi - self.lo),
            Scale::Log if v > 0.0 => (v.log10() - self.lo) / (self.hi - self.lo),
            Scale::Log => return None,
        };
        Some(self.y0 - t.clamp(0.0, 1.0) * (self.y0 - self.y1))
    }

    fn ticks(&self) -> Vec<f64> {
        match self.scale {
            Scale::Linear => (0..=4)
                .map(|i| self.lo + (self.hi - self.lo) * f64::from(i) / 4.0)
                .collect(),
            Scale::Log => {
                let (lo, hi) = (self.lo as i32, self.hi as i32);
                let step = ((hi - lo) / 6).max(1);
                (lo..=hi)
                    .step_by(step as usize)
                    .map(|e| 10f64.powi(e))
                    .collect()
            }
        }
    }

    fn grid(&self, out: &mut String, x0: f64, x1: f64, fmt: fn(f64) -> String) {
        for t in self.ticks() {
            let Some(y) = self.y(t) else { continue };
            let _ = write!(
                out,
                "<line x1=\"{x0:.1}\" x2=\"{x1:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#e6e6e6\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
                x0 - 4.0,
                y + 4.0,
                esc(&fmt(t))
            );
        }
    }
}

/// Rounds a maximum up to 1, 2, 2.5 or 5 times a power of ten so the ticks read well.
fn nice_ceil(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let e = 10f64.powf(v.log10().floor());
    let f = v / e;
    let n = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .find(|n| f <= *n + 1e-9)
        .unwrap_or(10.0);
    n * e
}

/// Compact counts: 95162 → "95k".
pub(crate) fn fmt_count(v: f64) -> String {
    in_units(v, &[(1e6, "M"), (1e3, "k"), (1.0, "")])
}

/// Durations given in nanoseconds.
pub(crate) fn fmt_ns(v: f64) -> String {
    in_units(v, &[(1e9, " s"), (1e6, " ms"), (1e3, " µs"), (1.0, " ns")])
}

/// `v` in the largest of `units` (size, suffix; largest first) that it reaches; the last unit
/// takes whatever reaches none, so it must have size 1.
fn in_units(v: f64, units: &[(f64, &str)]) -> String {
    let last = units.last().expect("at least one unit");
    let (size, suffix) = units
        .iter()
        .find(|(size, _)| v.abs() >= *size)
        .unwrap_or(last);
    format!("{}{suffix}", trim(v / size))
}

fn trim(v: f64) -> String {
    let s = if v.abs() >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    };
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

fn header(out: &mut String, kind: &str, title: &str, w: f64, h: f64) {
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" data-plot=\"{}\" role=\"img\" width=\"{w:.0}\" \
         height=\"{h:.0}\" viewBox=\"0 0 {w:.0} {h:.0}\" font-family=\"sans-serif\" font-size=\"11\">\
         <title>{}</title><rect width=\"{w:.0}\" height=\"{h:.0}\" fill=\"#ffffff\"/>\
         <text x=\"{:.1}\" y=\"16\" text-anchor=\"middle\" font-size=\"12\" font-weight=\"600\">{}</text>",
        esc(kind),
        esc(title),
        w / 2.0,
        esc(title)
    );
}

fn legend(out: &mut String, series: &[Series], x: f64, y: f64, w: f64) {
    if series.len() < 2 {
        return;
    }
    let (mut cx, mut cy) = (x, y);
    for s in series {
        let label_w = 18.0 + 6.5 * s.name.chars().count() as f64;
        if cx + label_w > x + w && cx > x {
            cx = x;
            cy += 14.0;
        }
        let _ = write!(
            out,
            "<rect x=\"{cx:.1}\" y=\"{:.1}\" width=\"10\" height=\"10\" fill=\"{}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            cy - 9.0,
            esc(&s.colour),
            cx + 13.0,
            cy,
            esc(&s.name)
        );
        cx += label_w;
    }
}

/// Rows the legend needs, so the chart can reserve room for it.
fn legend_rows(series: &[Series], w: f64) -> usize {
    if series.len() < 2 {
        return 0;
    }
    let (mut rows, mut cx) = (1, 0.0);
    for s in series {
        let label_w = 18.0 + 6.5 * s.name.chars().count() as f64;
        if cx + label_w > w && cx > 0.0 {
            rows += 1;
            cx = 0.0;
        }
        cx += label_w;
    }
    rows
}

impl BarChart<'_> {
    pub(crate) fn render(&self) -> String {
        let (mut out, area) = begin(self.kind, self.title, self.width, self.height, &self.series);
        let Area { x0, x1, y0, y1, .. } = area;
        let all = self.series.iter().flat_map(|s| {
            s.values
                .iter()
                .copied()
                .chain(s.whiskers.iter().flatten().copied())
        });
        let axis = Axis::new(self.scale, all.chain(self.reference.map(|r| r.0)), y0, y1);
        axis.grid(&mut out, x0, x1, self.fmt_y);
        let groups = self.x_labels.len().max(1);
        let gw = (x1 - x0) / groups as f64;
        let ns = self.series.len().max(1);
        let bw = (gw * 0.8 / ns as f64).max(1.0);
        // Skip labels rather than let them overlap: long method names need several groups.
        let widest = self
            .x_labels
            .iter()
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(0) as f64
            * 6.2
            + 8.0;
        let label_every = (widest / gw).ceil().max(1.0) as usize;
        for (g, label) in self.x_labels.iter().enumerate() {
            let gx = x0 + gw * g as f64;
            if g % label_every == 0 {
                let _ = write!(
                    out,
                    "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                    gx + gw / 2.0,
                    y0 + 14.0,
                    esc(label)
                );
            }
            for (si, s) in self.series.iter().enumerate() {
                let v = s.values.get(g).copied().unwrap_or(f64::NAN);
                let bx = gx + gw * 0.1 + bw * si as f64;
                let base = axis.y(match self.scale {
                    Scale::Linear => 0.0,
                    Scale::Log => 10f64.powf(axis.lo),
                });
                if let (Some(top), Some(base)) = (axis.y(v), base) {
                    let _ = write!(
                        out,
                        "<rect class=\"bar\" x=\"{bx:.1}\" y=\"{top:.1}\" width=\"{:.1}\" \
                         height=\"{:.1}\" fill=\"{}\"><title>{}: {} = {}</title></rect>",
                        (bw - 0.5).max(0.5),
                        (base - top).max(0.0),
                        esc(&s.colour),
                        esc(&s.name),
                        esc(label),
                        esc(&(self.fmt_y)(v))
                    );
                }
                let whisker = s.whiskers.as_ref().and_then(|w| w.get(g)).copied();
                if let (Some(wv), Some(top)) = (whisker, axis.y(v)) {
                    if let Some(wy) = axis.y(wv) {
                        let cx = bx + bw / 2.0;
                        let _ = write!(
                            out,
                            "<line x1=\"{cx:.1}\" x2=\"{cx:.1}\" y1=\"{top:.1}\" y2=\"{wy:.1}\" \
                             stroke=\"#333\"/><line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{wy:.1}\" \
                             y2=\"{wy:.1}\" stroke=\"#333\"/>",
                            cx - bw / 4.0,
                            cx + bw / 4.0
                        );
                    }
                }
            }
        }
        if let Some((v, label)) = self.reference {
            if let Some(y) = axis.y(v) {
                let _ = write!(
                    out,
                    "<line x1=\"{x0:.1}\" x2=\"{x1:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" \
                     stroke=\"#444\" stroke-dasharray=\"4 3\"><title>{}</title></line>",
                    esc(label)
                );
            }
        }
        finish(out, area, &self.series, self.x_title, self.y_title)
    }
}

/// Where a chart plots, in pixels: `x0..x1` left to right, `y0` (the x axis) up to `y1`; the
/// legend goes below, its first row at `legend_y`.
#[derive(Clone, Copy)]
struct Area {
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
    legend_y: f64,
}

/// Starts a chart of `width` × `height` plus the rows its legend needs.
fn begin(kind: &str, title: &str, width: f64, height: f64, series: &[Series]) -> (String, Area) {
    let mut out = String::new();
    let rows = legend_rows(series, width - LEFT - RIGHT);
    header(&mut out, kind, title, width, height + 14.0 * rows as f64);
    let area = Area {
        x0: LEFT,
        x1: width - RIGHT,
        y0: height - BOTTOM,
        y1: TOP,
        legend_y: height - 4.0,
    };
    (out, area)
}

/// Ends a chart that [`begin`] started: axes on top of the plot, then the legend.
fn finish(mut out: String, area: Area, series: &[Series], x_title: &str, y_title: &str) -> String {
    let Area { x0, x1, y0, y1, .. } = area;
    axes(&mut out, x0, x1, y0, y1, x_title, y_title);
    legend(&mut out, series, x0, area.legend_y, x1 - x0);
    out.push_str("</svg>");
    out
}

fn axes(out: &mut String, x0: f64, x1: f64, y0: f64, y1: f64, x_title: &str, y_title: &str) {
    let _ = write!(
        out,
        "<line x1=\"{x0:.1}\" x2=\"{x1:.1}\" y1=\"{y0:.1}\" y2=\"{y0:.1}\" stroke=\"#555\"/>\
         <line x1=\"{x0:.1}\" x2=\"{x0:.1}\" y1=\"{y0:.1}\" y2=\"{y1:.1}\" stroke=\"#555\"/>\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\
         <text transform=\"translate(12 {:.1}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
        (x0 + x1) / 2.0,
        y0 + 28.0,
        esc(x_title),
        (y0 + y1) / 2.0,
        esc(y_title)
    );
}

pub(crate) struct LineChart<'a> {
    pub kind: &'a str,
    pub title: &'a str,
    pub x_labels: Vec<String>,
    pub y_title: &'a str,
    pub series: Vec<Series>,
    pub width: f64,
    pub height: f64,
}

impl LineChart<'_> {
    pub(crate) fn render(&self) -> String {
        let (mut out, area) = begin(self.kind, self.title, self.width, self.height, &self.series);
        let Area { x0, x1, y0, y1, .. } = area;
        let axis = Axis::new(
            Scale::Linear,
            self.series.iter().flat_map(|s| s.values.iter().copied()),
            y0,
            y1,
        );
        axis.grid(&mut out, x0, x1, fmt_count);
        let n = self.x_labels.len();
        let px = |i: usize| {
            if n <= 1 {
                (x0 + x1) / 2.0
            } else {
                x0 + 12.0 + (x1 - x0 - 24.0) * i as f64 / (n - 1) as f64
            }
        };
        let label_every = (n as f64 / ((x1 - x0) / 110.0)).ceil().max(1.0) as usize;
        for (i, label) in self.x_labels.iter().enumerate() {
            if i % label_every == 0 || i + 1 == n {
                // The end labels lean inwards so they are not cut off at the chart's edge.
                let anchor = match i {
                    _ if n == 1 => "middle",
                    0 => "start",
                    _ if i + 1 == n => "end",
                    _ => "middle",
                };
                let _ = write!(
                    out,
                    "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{}</text>",
                    px(i),
                    y0 + 14.0,
                    esc(label)
                );
            }
        }
        for s in &self.series {
            let pts: Vec<(f64, f64)> = s
                .values
                .iter()
                .enumerate()
                .filter_map(|(i, v)| axis.y(*v).map(|y| (px(i), y)))
                .collect();
            if pts.len() > 1 {
                let d: Vec<String> = pts.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
                let _ = write!(
                    out,
                    "<polyline class=\"line\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\" \
                     points=\"{}\"/>",
                    esc(&s.colour),
                    d.join(" ")
                );
            }
            for ((x, y), (i, v)) in pts.iter().zip(s.values.iter().enumerate()) {
                let _ = write!(
                    out,
                    "<circle class=\"point\" cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3.5\" fill=\"{}\">\
                     <title>{} @ {}: {}</title></circle>",
                    esc(&s.colour),
                    esc(&s.name),
                    esc(self.x_labels.get(i).map(String::as_str).unwrap_or("")),
                    fmt_count(*v)
                );
            }
        }
        finish(out, area, &self.series, "run", self.y_title)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(values: Vec<f64>, scale: Scale) -> String {
        BarChart {
            kind: "t",
            title: "T <x>",
            x_labels: (0..values.len()).map(|i| i.to_string()).collect(),
            x_title: "x",
            y_title: "y",
            scale,
            series: vec![Series {
                name: "s".into(),
                colour: "#123456".into(),
                values,
                whiskers: None,
            }],
            reference: None,
            width: 300.0,
            height: 200.0,
            fmt_y: fmt_count,
        }
        .render()
    }

    #[test]
    fn bars_are_drawn_for_drawable_values_only() {
        let svg = chart(vec![1.0, 0.0, 100.0], Scale::Log);
        // A zero count has no bar on a log axis; the other two do.
        assert_eq!(svg.matches("class=\"bar\"").count(), 2, "{svg}");
        let svg = chart(vec![1.0, 0.0, 100.0], Scale::Linear);
        assert_eq!(svg.matches("class=\"bar\"").count(), 3, "{svg}");
        assert!(svg.contains("T &lt;x&gt;") && !svg.contains("T <x>"));
    }

    #[test]
    fn taller_values_get_taller_bars() {
        let svg = chart(vec![10.0, 40.0], Scale::Linear);
        let heights: Vec<f64> = svg
            .split("class=\"bar\"")
            .skip(1)
            .map(|s| {
                let h = s.split("height=\"").nth(1).unwrap();
                h[..h.find('"').unwrap()].parse().unwrap()
            })
            .collect();
        assert_eq!(heights.len(), 2);
        assert!((heights[1] / heights[0] - 4.0).abs() < 0.05, "{heights:?}");
    }

    #[test]
    fn number_formats() {
        assert_eq!(fmt_ns(1_203_834.0), "1.2 ms");
        assert_eq!(fmt_ns(981.0), "981 ns");
        assert_eq!(fmt_count(95_162.0), "95.2k");
        assert_eq!(nice_ceil(87.0), 100.0);
        assert_eq!(nice_ceil(17.0), 20.0);
    }
}
