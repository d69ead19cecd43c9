//! §2.14 Random excursions and §2.15 random excursions variant.

use super::{TestId, TestResult};
use crate::special::{erfc, igamc};

/// Partial sums S_k of the ±1 walk and the number of cycles J: the number
/// of returns to zero, plus one for the final incomplete excursion when the
/// walk does not end at zero.
fn walk(bits: &[u8]) -> (Vec<i32>, usize) {
    let mut s = 0i32;
    let mut zeros = 0usize;
    let sums: Vec<i32> = bits
        .iter()
        .map(|&b| {
            s += if b == 1 { 1 } else { -1 };
            if s == 0 {
                zeros += 1;
            }
            s
        })
        .collect();
    let j = zeros + usize::from(s != 0);
    (sums, j)
}

/// STS's applicability constraint: J >= max(0.005 sqrt(n), 500).
fn too_few_cycles(n: usize, j: usize) -> Option<String> {
    let constraint = (0.005 * (n as f64).sqrt()).max(500.0);
    ((j as f64) < constraint).then(|| format!("J = {j} cycles < {constraint}"))
}

/// The walk of a sequence both excursion tests can judge (see [`walk`]), or why `test` does
/// not apply to it.
fn cycles(test: TestId, bits: &[u8]) -> Result<(Vec<i32>, usize), TestResult> {
    if bits.is_empty() {
        return Err(TestResult::not_applicable(test, "empty sequence"));
    }
    let (sums, j) = walk(bits);
    match too_few_cycles(bits.len(), j) {
        Some(reason) => Err(TestResult::not_applicable(test, reason)),
        None => Ok((sums, j)),
    }
}

fn state_label(x: i32) -> String {
    format!("x={x:+}")
}

/// Category probabilities pi_k(x) for |x| = 1..4, k = 0..5, as tabulated in
/// STS (10 significant digits).
const PI: [[f64; 6]; 5] = [
    [0.0; 6],
    [
        0.5000000000,
        0.25000000000,
        0.12500000000,
        0.06250000000,
        0.03125000000,
        0.0312500000,
    ],
    [
        0.7500000000,
        0.06250000000,
        0.04687500000,
        0.03515625000,
        0.02636718750,
        0.0791015625,
    ],
    [
        0.8333333333,
        0.02777777778,
        0.02314814815,
        0.01929012346,
        0.01607510288,
        0.0803755143,
    ],
    [
        0.8750000000,
        0.01562500000,
        0.01367187500,
        0.01196289063,
        0.01046752930,
        0.0732727051,
    ],
];

/// §2.14 Random excursions: eight p-values for states -4..-1, +1..+4,
/// labelled `x=-4` ... `x=+4`. Not applicable below 500 cycles. STS aborts
/// when J exceeds max(1000, n/100); that is reported as not applicable too.
pub fn random_excursions(bits: &[u8]) -> TestResult {
    let test = TestId::RandomExcursions;
    let n = bits.len();
    let (sums, j) = match cycles(test, bits) {
        Ok(w) => w,
        Err(na) => return na,
    };
    let zeros = j - usize::from(*sums.last().unwrap() != 0);
    if zeros > 1000.max(n / 100) {
        return TestResult::not_applicable(
            test,
            format!("J = {j} exceeds the reference's cycle limit"),
        );
    }
    const STATES: [i32; 8] = [-4, -3, -2, -1, 1, 2, 3, 4];
    let index = |s: i32| -> Option<usize> {
        match s {
            -4..=-1 => Some((s + 4) as usize),
            1..=4 => Some((s + 3) as usize),
            _ => None,
        }
    };
    // nu[k][state]: number of cycles visiting the state exactly k times
    // (k = 5 meaning >= 5).
    let mut nu = [[0u64; 8]; 6];
    let mut counter = [0u32; 8];
    let mut close_cycle = |counter: &mut [u32; 8]| {
        for (i, c) in counter.iter_mut().enumerate() {
            nu[(*c as usize).min(5)][i] += 1;
            *c = 0;
        }
    };
    for &s in &sums {
        if s == 0 {
            close_cycle(&mut counter);
        } else if let Some(i) = index(s) {
            counter[i] += 1;
        }
    }
    if *sums.last().unwrap() != 0 {
        close_cycle(&mut counter);
    }
    let jf = j as f64;
    let values = STATES
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let row = &PI[x.unsigned_abs() as usize];
            let chi2: f64 = (0..6)
                .map(|k| (nu[k][i] as f64 - jf * row[k]).powi(2) / (jf * row[k]))
                .sum();
            (state_label(x), igamc(2.5, chi2 / 2.0))
        })
        .collect();
    TestResult::labelled(test, values)
}

/// §2.15 Random excursions variant: eighteen p-values for states -9..-1,
/// +1..+9. Not applicable below 500 cycles.
pub fn random_excursions_variant(bits: &[u8]) -> TestResult {
    let test = TestId::RandomExcursionsVariant;
    let (sums, j) = match cycles(test, bits) {
        Ok(w) => w,
        Err(na) => return na,
    };
    let mut visits = [0u64; 19];
    for &s in &sums {
        if (-9..=9).contains(&s) {
            visits[(s + 9) as usize] += 1;
        }
    }
    let jf = j as f64;
    let values = (-9..=9)
        .filter(|&x| x != 0)
        .map(|x: i32| {
            let count = visits[(x + 9) as usize] as f64;
            let p = erfc((count - jf).abs() / (2.0 * jf * (4.0 * x.abs() as f64 - 2.0)).sqrt());
            (state_label(x), p)
        })
        .collect();
    TestResult::labelled(test, values)
}
