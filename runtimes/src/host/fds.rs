//! Open-file accounting: neither wasmtime-wasi, wasi-common nor wasmer-wasix has a descriptor
//! limit, so each engine shadows `path_open` / `fd_close` and asks this budget.

/// Preview 1's `errno::mfile`, what a POSIX kernel's open(2) fails with past RLIMIT_NOFILE.
pub const ERRNO_MFILE: i32 = 33;

/// The descriptors a guest opened with `path_open` and has not closed.
#[derive(Debug, Clone, Copy)]
pub struct FdBudget {
    open: u32,
    max: u32,
}

impl FdBudget {
    pub fn new(max: u32) -> Self {
        FdBudget { open: 0, max }
    }
    /// Whether another open would pass the limit.
    pub fn full(&self) -> bool {
        self.open >= self.max
    }
    pub fn opened(&mut self) {
        self.open += 1;
    }
    /// After `fd_close(fd)` returned `errno`. Preopens and stdio are not counted on open, so
    /// closing them must not underflow the count.
    pub fn closed(&mut self, fd: i32, errno: i32) {
        if errno == 0 && fd > 2 {
            self.open = self.open.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_at_the_limit_and_closing_stdio_does_not_underflow() {
        let mut b = FdBudget::new(2);
        b.closed(1, 0);
        b.closed(3, 0);
        assert!(!b.full());
        b.opened();
        b.opened();
        assert!(b.full());
        b.closed(5, 8);
        assert!(b.full(), "a failed close frees nothing");
        b.closed(5, 0);
        assert!(!b.full());
    }
}
