//! stdout/stderr as wasmer-wasix virtual files over `host::CappedBuf`; the write past the cap fails and asks the watchdog to stop the guest.

use super::*;

/// A stdout/stderr sink that keeps at most `cap` bytes; the write that would pass them keeps
/// what fits, fails, and asks the watchdog to stop the guest.
#[derive(Clone)]
pub(super) struct CappedOut {
    pub(super) buf: CappedBuf,
    pub(super) name: &'static str,
    pub(super) run: Arc<RunState>,
}

impl std::fmt::Debug for CappedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CappedOut({})", self.name)
    }
}

impl CappedOut {
    pub(super) fn new(cap: usize, name: &'static str, run: Arc<RunState>) -> Self {
        CappedOut {
            buf: CappedBuf::new(cap),
            name,
            run,
        }
    }
    pub(super) fn overflowed(&self) -> bool {
        self.buf.overflowed()
    }
    pub(super) fn take(&self) -> Vec<u8> {
        self.buf.take()
    }
    pub(super) fn push(&self, bytes: &[u8]) -> std::io::Result<usize> {
        if !self.buf.push(bytes) {
            self.run.stop();
            return Err(std::io::Error::other(format!(
                "{} limit of {} bytes reached",
                self.name,
                self.buf.cap()
            )));
        }
        Ok(bytes.len())
    }
}

mod sink_impls {
    use super::CappedOut;
    use std::io::{self, SeekFrom};
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use tokio::io::{AsyncRead, AsyncSeek, AsyncWrite, ReadBuf};
    use wasmer_wasix::virtual_fs::VirtualFile;

    impl AsyncWrite for CappedOut {
        fn poll_write(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            Poll::Ready(self.push(buf))
        }
        fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }
    impl AsyncRead for CappedOut {
        fn poll_read(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            _buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            Poll::Ready(Err(io::ErrorKind::Unsupported.into()))
        }
    }
    impl AsyncSeek for CappedOut {
        fn start_seek(self: Pin<&mut Self>, _position: SeekFrom) -> io::Result<()> {
            // A pipe: Preview 1 guests must see ESPIPE, as they would on a host pipe.
            Err(io::Error::from_raw_os_error(libc::ESPIPE))
        }
        fn poll_complete(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
            Poll::Ready(Err(io::Error::from_raw_os_error(libc::ESPIPE)))
        }
    }
    impl VirtualFile for CappedOut {
        fn last_accessed(&self) -> u64 {
            0
        }
        fn last_modified(&self) -> u64 {
            0
        }
        fn created_time(&self) -> u64 {
            0
        }
        fn size(&self) -> u64 {
            0
        }
        fn set_len(&mut self, _new_size: u64) -> wasmer_wasix::virtual_fs::Result<()> {
            Err(wasmer_wasix::FsError::PermissionDenied)
        }
        fn unlink(&mut self) -> wasmer_wasix::virtual_fs::Result<()> {
            Ok(())
        }
        fn poll_read_ready(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
            Poll::Ready(Ok(0))
        }
        fn poll_write_ready(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
        ) -> Poll<io::Result<usize>> {
            Poll::Ready(Ok(1 << 16))
        }
    }
}
