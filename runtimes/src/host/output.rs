//! A stdout/stderr sink that keeps at most `cap` bytes.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// The bytes a guest wrote to one stream, up to the cap. Clones share the buffer, so the
/// engine's stream object and the runtime that reads the outcome see the same bytes.
#[derive(Clone, Debug, Default)]
pub struct CappedBuf {
    buf: Arc<Mutex<Vec<u8>>>,
    cap: usize,
    overflow: Arc<AtomicBool>,
}

impl CappedBuf {
    pub fn new(cap: usize) -> Self {
        CappedBuf {
            buf: Default::default(),
            cap,
            overflow: Default::default(),
        }
    }
    pub fn cap(&self) -> usize {
        self.cap
    }
    /// Whether a write ever passed the cap; the engine then stops the guest and the outcome is
    /// `output_limit`, whatever else it did.
    pub fn overflowed(&self) -> bool {
        self.overflow.load(Ordering::SeqCst)
    }
    pub fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.buf.lock().unwrap())
    }
    /// Appends `bytes`; when they do not fit, keeps what fits, marks the overflow and returns
    /// false (the caller fails the write and stops the guest, rather than letting a flooding
    /// guest spin on write errors).
    pub fn push(&self, bytes: &[u8]) -> bool {
        let mut b = self.buf.lock().unwrap();
        let room = self.cap.saturating_sub(b.len());
        if bytes.len() > room {
            b.extend_from_slice(&bytes[..room]);
            self.overflow.store(true, Ordering::SeqCst);
            return false;
        }
        b.extend_from_slice(bytes);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_what_fits_and_marks_the_overflow() {
        let b = CappedBuf::new(4);
        assert!(b.push(b"ab"));
        assert!(!b.overflowed());
        assert!(!b.push(b"cdef"));
        assert!(b.overflowed());
        assert_eq!(b.take(), b"abcd");
    }
}
