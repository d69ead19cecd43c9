//! matrix → provision → build: the toolchains every probe is built with. The matrix file, finding
//! and fetching each toolchain (zig wheels, Debian's compilers and libcs, official SDKs), the
//! probe build cache, and what each toolchain's libc is (symbols, stubs, macros).

pub mod apt;
pub mod build;
pub mod libc;
pub mod matrix;
pub mod provision;
pub mod stubs;
pub mod symbols;
