//! Statistical test batteries for wasiprobe's randomness probes.
//!
//! * [`sp800_22`]: the fifteen NIST SP 800-22 rev 1a tests, reproducing the
//!   NIST STS 2.1.2 reference implementation's p-values (Appendix B known
//!   answers), with the multi-sequence second-level analysis.
//! * [`sp800_90b`]: the NIST SP 800-90B §6.3 non-IID min-entropy
//!   estimators, following NIST's `ea_non_iid` tool.
//!
//! ```
//! use wasiprobe_stats::sp800_22::{bits_from_ascii01, frequency, run_battery, Config};
//!
//! let bits = bits_from_ascii01(
//!     "1100100100001111110110101010001000100001011010001100001000110100\
//!      110001001100011001100010100010111000",
//! )
//! .unwrap();
//! assert!((frequency(&bits).p().unwrap() - 0.109599).abs() < 1e-6);
//! // Tests that need more data say so instead of failing.
//! let all = run_battery(&bits, &Config::default());
//! assert!(all.iter().any(|r| r.not_applicable.is_some()));
//! ```

pub mod sp800_22;
pub mod sp800_90b;
mod special;
