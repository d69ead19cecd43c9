//! Liars on random_get: zeros, a repeated block, a biased or seeded stream — each a source a check must reject.

use super::*;

/// A seed from the process's own randomness (std's per-instance hasher keys), so the liars
/// that are not meant to be deterministic differ between runs without another dependency.
pub(super) fn fresh_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
}

pub(super) fn random_liar(linker: &mut Linker<Host>, mode: &str) -> wasmtime::Result<()> {
    use rand_chacha::rand_core::{RngCore, SeedableRng};
    let mode = liar_mode("random_get", mode)?;
    linker.func_wrap(
        P1,
        "random_get",
        move |mut caller: Caller<'_, Host>, buf: i32, len: i32| -> wasmtime::Result<i32> {
            caller.data_mut().count(const { calls::id("random_get") });
            let len = len as u32 as usize;
            if mode == "half-fill" {
                return real(&mut caller, |ctx, m| {
                    p1::random_get(ctx, m, buf, (len / 2) as i32)
                })?;
            }
            let h = caller.data_mut();
            let offset = *h.liar_state.get("offset").unwrap_or(&0) as usize;
            let seed = if mode == "fixed-seed" {
                42
            } else {
                fresh_seed()
            };
            let rng = h
                .liar_rng
                .get_or_insert_with(|| rand_chacha::ChaCha20Rng::seed_from_u64(seed));
            let mut out = vec![0u8; len];
            match mode {
                "zeros" => {}
                "fixed-seed" => rng.fill_bytes(&mut out),
                "repeat-64k" => {
                    if h.liar_block.is_empty() {
                        h.liar_block = vec![0; 1 << 16];
                        rng.fill_bytes(&mut h.liar_block);
                    }
                    for (i, b) in out.iter_mut().enumerate() {
                        *b = h.liar_block[(offset + i) % (1 << 16)];
                    }
                }
                "counter" => {
                    for (i, b) in out.iter_mut().enumerate() {
                        let at = offset + i;
                        *b = ((at / 8) as u64).to_le_bytes()[at % 8];
                    }
                }
                "biased" => {
                    let mut words = vec![0u32; len * 8];
                    for w in words.iter_mut() {
                        *w = rng.next_u32();
                    }
                    // P(bit = 1) = 0.51: a uniform u32 below 0.51 · 2^32.
                    let cut = (0.51 * 4294967296.0) as u32;
                    for (i, b) in out.iter_mut().enumerate() {
                        *b = (0..8).fold(0u8, |acc, k| acc << 1 | (words[i * 8 + k] < cut) as u8);
                    }
                }
                _ => {
                    let mut x = *h.liar_state.get("lcg").unwrap_or(&12345) as u32;
                    for b in out.iter_mut() {
                        x = x.wrapping_mul(1103515245).wrapping_add(12345);
                        *b = x as u8;
                    }
                    h.liar_state.insert("lcg", x as u64);
                }
            }
            h.liar_state.insert("offset", (offset + len) as u64);
            let mem = memory(&mut caller)?;
            mem.write(&mut caller, buf as u32 as usize, &out)?;
            Ok(0)
        },
    )?;
    Ok(())
}
