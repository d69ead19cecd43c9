//! §2.6 Discrete Fourier transform (spectral) test.

use super::{TestId, TestResult};
use crate::special::erfc;
use realfft::RealFftPlanner;
use std::cell::RefCell;
use std::f64::consts::SQRT_2;

thread_local! {
    // A planner keeps its plans, and a plan's twiddle factors cost as much to compute as a
    // transform: a second-level run transforms 100 sequences of one length, so a planner per
    // call spent half this test's time on sines and cosines.
    static PLANNER: RefCell<RealFftPlanner<f64>> = RefCell::new(RealFftPlanner::new());
}

/// Uses the STS 2.1.2 threshold `sqrt(ln(1/0.05) n)` (the code's literal
/// 2.995732274) and `N0 = 0.95 n / 2`. Like the reference, the moduli
/// counted are those of frequencies `0..n/2` (DC included, n/2 excluded),
/// which is what the FFTPACK output layout it indexes yields. The modulus is STS's
/// `sqrt(re² + im²)` (dft.c), not `hypot`, which is several times slower and rounds alike
/// everywhere but in the last bit. The input is real, so the transform is real-to-complex:
/// its n/2 + 1 outputs are the complex transform's first half, the only half counted.
pub fn discrete_fourier_transform(bits: &[u8]) -> TestResult {
    let n = bits.len();
    if n < 2 {
        return TestResult::not_applicable(TestId::DiscreteFourierTransform, "n < 2");
    }
    let mut input: Vec<f64> = bits
        .iter()
        .map(|&b| if b == 1 { 1.0 } else { -1.0 })
        .collect();
    let fft = PLANNER.with(|p| p.borrow_mut().plan_fft_forward(n));
    let mut buf = fft.make_output_vec();
    fft.process(&mut input, &mut buf)
        .expect("the buffers are the plan's own lengths");
    let upper = (2.995732274 * n as f64).sqrt();
    let count = buf[..n / 2]
        .iter()
        .filter(|c| (c.re * c.re + c.im * c.im).sqrt() < upper)
        .count();
    let n_l = count as f64;
    let n_o = 0.95 * n as f64 / 2.0;
    let d = (n_l - n_o) / (n as f64 / 4.0 * 0.95 * 0.05).sqrt();
    TestResult::single(TestId::DiscreteFourierTransform, erfc(d.abs() / SQRT_2))
}
