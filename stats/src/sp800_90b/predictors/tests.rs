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
