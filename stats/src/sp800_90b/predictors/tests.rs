use super::*;

fn bits(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11 & 1) as u8
        })
        .collect()
}

/// The reference tool prints its prediction inputs; the estimates must
/// follow from them (cpp/selftest/refdata/truerand_8bit.res).
#[test]
fn prediction_estimate_matches_reference() {
    let cases = [
        (
            3_997_538u64,
            7_999_937u64,
            24u64,
            2usize,
            0.9995628331666655,
        ),
        (3779, 999_937, 3, 256, 7.9885798193670183),
        (4_000_791, 7_999_999, 23, 2, 0.99840155983091283),
        (3912, 999_999, 3, 256, 7.939764556109469),
        (3_997_298, 7_999_998, 21, 2, 0.99966036756343424),
        (3948, 999_998, 3, 256, 7.9268088197517388),
    ];
    for (c, n, r, k, want) in cases {
        let got = prediction_estimate(c, n, r - 1, k);
        assert!((got - want).abs() < 1e-12, "C={c}: {got} vs {want}");
    }
}

#[test]
fn p_local_dominates_for_long_runs() {
    // 1000 predictions, only a run of 300 correct: the run, not the
    // global rate, must set the estimate.
    let h = prediction_estimate(300, 1000, 300, 2);
    assert!(h < 0.2, "{h}");
    // No correct prediction at all: P_global' = 1 - 0.01^(1/N), which
    // here exceeds 1/k.
    let h0 = prediction_estimate(0, 1000, 0, 256);
    assert!((h0 + (1.0 - 0.01f64.powf(1e-3)).log2()).abs() < 1e-12);
}

/// The binary table versions and the dictionary versions are separate
/// code paths in the reference too; on 0/1 data they must agree.
#[test]
fn binary_and_dictionary_predictors_agree() {
    for seed in [1u64, 2, 3] {
        let mut d = bits(seed, 40_000);
        // add structure so that predictors actually win sometimes
        for i in (0..d.len()).step_by(7) {
            d[i] = d[i.saturating_sub(5)];
        }
        let (a, na) = binary_multi_mmc_score(&d).unwrap();
        let (b, nb) = multi_mmc_score(&d).unwrap();
        assert_eq!((a.correct, a.max_run, na), (b.correct, b.max_run, nb));
        let (a, na) = binary_lz78y_score(&d).unwrap();
        let (b, nb) = lz78y_score(&d).unwrap();
        assert_eq!((a.correct, a.max_run, na), (b.correct, b.max_run, nb));
        let (a, na) = lag_score(&d, 2).unwrap();
        let (b, nb) = lag_score(&d, 3).unwrap();
        assert_eq!((a.correct, a.max_run, na), (b.correct, b.max_run, nb));
    }
}

#[test]
fn predictors_learn_a_counter() {
    let ctr: Vec<u8> = (0..20_000u32).map(|i| i as u8).collect();
    assert!(multi_mmc(&ctr, 256).unwrap() < 0.01);
    assert!(lz78y(&ctr, 256).unwrap() < 0.01);
    let periodic: Vec<u8> = (0..20_000u32).map(|i| (i % 5) as u8).collect();
    assert!(lag(&periodic, 5).unwrap() < 0.01);
    assert!(multi_mcw(&vec![3u8; 10_000], 4).unwrap() < 0.01);
}

/// LZ78Y as the reference takes it, all 16 context lengths looked up at every step; also the
/// index of the symbol whose step filled the dictionary.
fn lz78y_scan_all(data: &[u8]) -> (Score, u64, Option<usize>) {
    let mut lz = Lz78y::new(data).unwrap();
    let mut score = Score::default();
    let mut filled = None;
    for i in B_LZ + 1..data.len() {
        score.record(lz.scan_all(pack(&data[i - B_LZ..i]), data[i]) == Some(data[i]));
        if filled.is_none() && lz.fill_window.is_some() {
            filled = Some(i);
        }
    }
    (score, (data.len() - B_LZ - 1) as u64, filled)
}

fn assert_lz78y_agrees(d: &[u8], what: &str) {
    let (a, na) = lz78y_score(d).unwrap();
    let (b, nb, _) = lz78y_scan_all(d);
    assert_eq!(
        (a.correct, a.max_run, na),
        (b.correct, b.max_run, nb),
        "{what}"
    );
}

/// The early stop once the dictionary is full must not change a single prediction.
#[test]
fn lz78y_full_dictionary_shortcut_matches_the_full_scan() {
    use rand_core::{RngCore, SeedableRng};
    for (seed, alph, n) in [
        (1u64, 256u32, 60_000usize),
        (2, 256, 200_000),
        (3, 16, 80_000),
        (4, 5, 80_000),
        (5, 3, 120_000),
        (6, 64, 80_000),
    ] {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
        let mut d: Vec<u8> = (0..n).map(|_| (rng.next_u32() % alph) as u8).collect();
        // A long context can be present while a shorter one is absent only where the
        // dictionary filled: come back to that window again and again, so that the long
        // contexts' counts outgrow the short ones' and decide predictions.
        let f = lz78y_scan_all(&d).2.expect("the dictionary fills");
        let block = d[f - B_LZ..=f].to_vec();
        for _ in 0..300 {
            d.extend_from_slice(&block);
            d.push((rng.next_u32() % alph) as u8);
        }
        d.extend((0..n).map(|_| (rng.next_u32() % alph) as u8));
        assert_lz78y_agrees(&d, &format!("seed {seed}, alphabet {alph}"));
    }
    let ctr: Vec<u8> = (0..300_000u32).map(|i| (i * 7 + i / 256) as u8).collect();
    assert_lz78y_agrees(&ctr, "counter");
}

/// Where the shortcut matters: a long context entered in the filling step (its shorter
/// suffixes refused) ties in count with the last symbol's context, which a scan that stopped
/// at the first absent length would take instead. Each repeat of the filling window's last
/// `keep` symbols (after fresh ones) counts the successor in both contexts, and `k` pairs
/// (last symbol, a larger successor) bring the last symbol's context to a tie at some k. A
/// scan that stops at the first absent length fails this, and so does one that stops when
/// the window shares just one symbol more with the filling window than that length.
#[test]
fn lz78y_shortcut_keeps_the_long_context_that_wins_a_tie() {
    use rand_core::{RngCore, SeedableRng};
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
    let mut head: Vec<u8> = (0..20_000).map(|_| rng.next_u32() as u8).collect();
    let f = lz78y_scan_all(&head).2.expect("the dictionary fills");
    head.truncate(f + 1);
    let (last, next) = (head[f - 1], head[f]);
    assert!(
        next < 255,
        "this seed's successor is 255: no larger symbol to tie with"
    );
    for keep in 1..=B_LZ {
        for k in 0..6 {
            let mut d = head.clone();
            let replay = |d: &mut Vec<u8>, rng: &mut rand_chacha::ChaCha20Rng| {
                d.extend((keep..B_LZ).map(|_| rng.next_u32() as u8));
                d.extend_from_slice(&head[f - keep..=f]);
            };
            for _ in 0..3 {
                replay(&mut d, &mut rng);
            }
            for _ in 0..k {
                d.extend_from_slice(&[rng.next_u32() as u8, last, next + 1]);
            }
            replay(&mut d, &mut rng);
            assert_lz78y_agrees(&d, &format!("keep {keep}, {k} extra pairs"));
        }
    }
}
