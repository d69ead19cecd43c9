//! NIST SP 800-22 rev 1a statistical test suite, following the arithmetic of
//! the NIST STS 2.1.2 reference implementation rather than the prose of the
//! publication wherever the two disagree, because the known answers
//! (Appendix B) were produced by the code.
//!
//! Input is one bit per element, `0` or `1` (any other value is a caller
//! error and gives meaningless results); see [`bits_from_bytes`] and
//! [`bits_from_ascii01`].
//!
//! # Known answers
//!
//! Appendix B (pi, e, sqrt(2), sqrt(3); one p-value per test) is reproduced
//! to 1e-6 by `tests/sp800_22_known_answers.rs`, as are the small worked
//! examples on 10- and 100-bit inputs for frequency, block frequency, runs,
//! longest run, serial, approximate entropy and cumulative sums.
//!
//! Worked examples in the section text that the reference algorithm does
//! *not* reproduce, and so are not used:
//!
//! * the DFT examples (ε = 1001010011 and the 100-bit one; printed 0.029523
//!   and 0.168669) predate STS 2.1.2's threshold `sqrt(ln(1/0.05) n)`; the
//!   2.1.2 algorithm gives 0.468160 and 0.646355;
//! * the overlapping-template toy example (M = 10, K = 2) and Maurer's
//!   (L = 2, Q = 4) use parameters the reference code cannot run, and the
//!   former also uses a different table of category probabilities than the
//!   code (see [`overlapping_template`]).
//!
//! The serial test's 10-bit example (p = 0.808792, 0.670320) does
//! reproduce.

mod basic;
mod entropy;
mod excursions;
mod linear;
mod second_level;
mod spectral;
mod templates;
mod universal;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

pub use basic::{block_frequency, cumulative_sums, frequency, longest_run_of_ones, rank, runs};
pub use entropy::{approximate_entropy, serial};
pub use excursions::{random_excursions, random_excursions_variant};
pub use linear::linear_complexity;
pub use second_level::{
    expected_false_slot_failures, family_false_alarm_bound, second_level, second_level_at,
    slot_false_alarm, SlotSummary, Summary, ALPHA, UNIFORMITY_ALPHA, UNIFORMITY_MIN_SEQUENCES,
    VERDICT_TAIL,
};
pub use spectral::discrete_fourier_transform;
pub use templates::{aperiodic_templates, non_overlapping_template, overlapping_template};
pub use universal::universal;

/// The fifteen tests of SP 800-22, in the order STS reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TestId {
    Frequency,
    BlockFrequency,
    CumulativeSums,
    Runs,
    LongestRun,
    Rank,
    DiscreteFourierTransform,
    NonOverlappingTemplate,
    OverlappingTemplate,
    Universal,
    ApproximateEntropy,
    RandomExcursions,
    RandomExcursionsVariant,
    Serial,
    LinearComplexity,
}

impl TestId {
    pub const ALL: [TestId; 15] = [
        TestId::Frequency,
        TestId::BlockFrequency,
        TestId::CumulativeSums,
        TestId::Runs,
        TestId::LongestRun,
        TestId::Rank,
        TestId::DiscreteFourierTransform,
        TestId::NonOverlappingTemplate,
        TestId::OverlappingTemplate,
        TestId::Universal,
        TestId::ApproximateEntropy,
        TestId::RandomExcursions,
        TestId::RandomExcursionsVariant,
        TestId::Serial,
        TestId::LinearComplexity,
    ];

    /// The name STS uses in its `finalAnalysisReport.txt`.
    pub fn name(self) -> &'static str {
        match self {
            TestId::Frequency => "Frequency",
            TestId::BlockFrequency => "BlockFrequency",
            TestId::CumulativeSums => "CumulativeSums",
            TestId::Runs => "Runs",
            TestId::LongestRun => "LongestRun",
            TestId::Rank => "Rank",
            TestId::DiscreteFourierTransform => "FFT",
            TestId::NonOverlappingTemplate => "NonOverlappingTemplate",
            TestId::OverlappingTemplate => "OverlappingTemplate",
            TestId::Universal => "Universal",
            TestId::ApproximateEntropy => "ApproximateEntropy",
            TestId::RandomExcursions => "RandomExcursions",
            TestId::RandomExcursionsVariant => "RandomExcursionsVariant",
            TestId::Serial => "Serial",
            TestId::LinearComplexity => "LinearComplexity",
        }
    }

    /// Random excursions tests are only defined for sequences with enough
    /// zero crossings, so second-level analysis must count them separately.
    pub fn is_excursion(self) -> bool {
        matches!(
            self,
            TestId::RandomExcursions | TestId::RandomExcursionsVariant
        )
    }
}

/// One p-value of a test, labelled so that second-level analysis can match
/// the same slot (template, excursion state, forward/backward...) across
/// sequences.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PValue {
    pub label: String,
    pub value: f64,
}

/// Result of one test on one sequence.
///
/// When `not_applicable` is `Some`, `p_values` is empty: the test's
/// preconditions (length, number of cycles, ...) did not hold, which is not
/// evidence against randomness and must not be counted as a failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestResult {
    pub test: TestId,
    pub name: String,
    pub p_values: Vec<PValue>,
    pub not_applicable: Option<String>,
}

impl TestResult {
    pub(crate) fn single(test: TestId, p: f64) -> Self {
        Self::labelled(test, vec![(String::new(), p)])
    }

    pub(crate) fn labelled(test: TestId, values: Vec<(String, f64)>) -> Self {
        TestResult {
            test,
            name: test.name().to_string(),
            p_values: values
                .into_iter()
                .map(|(label, value)| PValue { label, value })
                .collect(),
            not_applicable: None,
        }
    }

    pub(crate) fn not_applicable(test: TestId, reason: impl Into<String>) -> Self {
        TestResult {
            test,
            name: test.name().to_string(),
            p_values: Vec::new(),
            not_applicable: Some(reason.into()),
        }
    }

    /// First p-value, for the single-valued tests.
    pub fn p(&self) -> Option<f64> {
        self.p_values.first().map(|p| p.value)
    }

    /// The p-value with the given slot label.
    pub fn p_for(&self, label: &str) -> Option<f64> {
        self.p_values
            .iter()
            .find(|p| p.label == label)
            .map(|p| p.value)
    }

    /// True when every p-value is at least `alpha` (vacuously true when not
    /// applicable).
    pub fn passes(&self, alpha: f64) -> bool {
        self.p_values.iter().all(|p| p.value >= alpha)
    }
}

/// Tunable parameters. `Default` gives the STS defaults recommended for
/// n = 10^6 bits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Config {
    pub block_frequency_m: usize,
    pub non_overlapping_m: usize,
    pub overlapping_m: usize,
    pub approximate_entropy_m: usize,
    pub serial_m: usize,
    pub linear_complexity_m: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            block_frequency_m: 128,
            non_overlapping_m: 9,
            overlapping_m: 9,
            approximate_entropy_m: 10,
            serial_m: 16,
            linear_complexity_m: 500,
        }
    }
}

/// Runs all fifteen tests on one sequence, in parallel, returning results in
/// [`TestId::ALL`] order.
pub fn run_battery(bits: &[u8], config: &Config) -> Vec<TestResult> {
    TestId::ALL
        .par_iter()
        .map(|&t| run_test(t, bits, config))
        .collect()
}

/// Runs a single test with the parameters from `config`.
pub fn run_test(test: TestId, bits: &[u8], config: &Config) -> TestResult {
    match test {
        TestId::Frequency => frequency(bits),
        TestId::BlockFrequency => block_frequency(bits, config.block_frequency_m),
        TestId::CumulativeSums => cumulative_sums(bits),
        TestId::Runs => runs(bits),
        TestId::LongestRun => longest_run_of_ones(bits),
        TestId::Rank => rank(bits),
        TestId::DiscreteFourierTransform => discrete_fourier_transform(bits),
        TestId::NonOverlappingTemplate => non_overlapping_template(bits, config.non_overlapping_m),
        TestId::OverlappingTemplate => overlapping_template(bits, config.overlapping_m),
        TestId::Universal => universal(bits),
        TestId::ApproximateEntropy => approximate_entropy(bits, config.approximate_entropy_m),
        TestId::RandomExcursions => random_excursions(bits),
        TestId::RandomExcursionsVariant => random_excursions_variant(bits),
        TestId::Serial => serial(bits, config.serial_m),
        TestId::LinearComplexity => linear_complexity(bits, config.linear_complexity_m),
    }
}

/// Expands bytes to bits, most significant bit first (the order STS uses when
/// reading binary files).
pub fn bits_from_bytes(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() * 8);
    for &b in bytes {
        for k in (0..8).rev() {
            out.push((b >> k) & 1);
        }
    }
    out
}

/// Parses an ASCII string of `0`/`1`, skipping whitespace (STS data files
/// are wrapped). Any other character is an error.
pub fn bits_from_ascii01(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(s.len());
    for (i, c) in s.char_indices() {
        match c {
            '0' => out.push(0),
            '1' => out.push(1),
            c if c.is_whitespace() => {}
            c => return Err(format!("invalid character {c:?} at byte {i}")),
        }
    }
    Ok(out)
}

/// Rolling m-bit window values (MSB = earliest bit) for every start position
/// `0..=len-m` of `bits`. Several tests reduce to histograms of these.
pub(crate) fn windows(bits: &[u8], m: usize) -> impl Iterator<Item = usize> + '_ {
    debug_assert!(m >= 1 && m < usize::BITS as usize);
    let mask = (1usize << m) - 1;
    let mut w = 0usize;
    bits.iter().enumerate().filter_map(move |(i, &b)| {
        w = ((w << 1) | b as usize) & mask;
        (i + 1 >= m).then_some(w)
    })
}
