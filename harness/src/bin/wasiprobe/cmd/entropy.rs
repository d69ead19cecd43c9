//! `wasiprobe entropy assess` and `wasiprobe coverage`: judging captured data and modules.

use anyhow::{Context, Result};
use std::path::PathBuf;
use wasiprobe::exit;
use wasiprobe::run::UsageError;

pub fn entropy_assess(
    file: &std::path::Path,
    format: &str,
    sequences: usize,
    json: bool,
) -> Result<i32> {
    let raw = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let bytes = if format == "ascii01" {
        let bits = wasiprobe_stats::sp800_22::bits_from_ascii01(&String::from_utf8_lossy(&raw))
            .map_err(|e| UsageError(format!("{}: {e}", file.display())))?;
        bits.chunks(8)
            .map(|c| c.iter().fold(0u8, |a, &b| a << 1 | b) << (8 - c.len()))
            .collect()
    } else {
        raw
    };
    let need = wasiprobe::checks::entropy::sp800_22::SEQUENCE_BITS;
    if sequences == 0 {
        return Err(UsageError("--sequences must be at least 1".into()).into());
    }
    if bytes.len() * 8 < need {
        return Err(UsageError(format!(
            "{}: {} bits; one SP 800-22 sequence needs {need} bits ({} bytes)",
            file.display(),
            bytes.len() * 8,
            need / 8
        ))
        .into());
    }
    let (battery, per_sequence) =
        wasiprobe::checks::entropy::sp800_22::assess_per_sequence(&bytes, sequences);
    let n = bytes
        .len()
        .min(wasiprobe::checks::entropy::min_entropy::SAMPLE_BYTES);
    let h =
        wasiprobe_stats::sp800_90b::assess_bytes(&bytes[..n]).map_err(|e| anyhow::anyhow!(e))?;
    let passed = battery["passed"] == true
        && h.min_entropy >= wasiprobe::checks::entropy::min_entropy::MIN_BITS_PER_BYTE;
    let p_values: Vec<serde_json::Value> = per_sequence
        .iter()
        .enumerate()
        .map(|(i, tests)| serde_json::json!({ "sequence": i + 1, "tests": tests }))
        .collect();
    let v = serde_json::json!({ "file": file, "bytes": bytes.len(), "sp800_22": battery, "p_values": p_values, "sp800_90b": h, "passed": passed });
    if json {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("{}: {} bytes", file.display(), bytes.len());
        println!(
            "SP 800-22: {} sequences, {} of {} slots fail (≤ {} allowed at tail {}), gross {} → {}",
            battery["sequences"],
            battery["failed_slots"],
            battery["slots"],
            battery["allowed_failed_slots"],
            battery["tail"],
            battery["gross_failures"],
            if battery["passed"] == true {
                "pass"
            } else {
                "FAIL"
            }
        );
        // Per sequence, every test's p-values, as STS's per-test results list them.
        for (i, tests) in per_sequence.iter().enumerate() {
            println!("sequence {}:", i + 1);
            for t in tests {
                match &t.not_applicable {
                    Some(why) => println!("  {:<28} not applicable: {why}", t.name),
                    None => {
                        let ps: Vec<String> = t
                            .p_values
                            .iter()
                            .map(|p| {
                                if p.label.is_empty() {
                                    format!("{:.6}", p.value)
                                } else {
                                    format!("{}={:.6}", p.label, p.value)
                                }
                            })
                            .collect();
                        println!("  {:<28} {}", t.name, ps.join(" "));
                    }
                }
            }
        }
        println!(
            "SP 800-90B: min-entropy {:.3} bits/byte over {n} bytes (threshold {})",
            h.min_entropy,
            wasiprobe::checks::entropy::min_entropy::MIN_BITS_PER_BYTE
        );
    }
    Ok(exit::failures_if(!passed))
}

pub fn coverage(files: &[PathBuf], json: bool) -> Result<i32> {
    let mut all = Vec::new();
    let mut bad = false;
    for f in files {
        let bytes = std::fs::read(f).with_context(|| format!("reading {}", f.display()))?;
        let r = wasiprobe_coverage::analyze(&bytes)
            .map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?;
        bad |= !r.runnable_on_plain_wasi;
        if !json {
            println!(
                "== {}\n{}",
                f.display(),
                wasiprobe_coverage::render_text(&r)
            );
        }
        all.push(serde_json::json!({ "file": f, "report": r }));
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&all)?);
    }
    Ok(exit::failures_if(bad))
}
