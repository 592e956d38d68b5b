//! A plugin's stdout and stderr: kept up to a cap, and past it dropped and counted.
//! A write past the cap succeeds: a failed write would make Rust's `println!` panic and
//! lose the plugin's whole answer for a chatty log line.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};

/// What one stream kept and how much it dropped.
#[derive(Debug, Default)]
struct Captured {
    kept: Vec<u8>,
    dropped: u64,
}

/// An output stream that keeps its first `capacity` bytes and counts the rest.
#[derive(Debug, Clone)]
pub(super) struct CappedPipe {
    capacity: usize,
    inner: Arc<Mutex<Captured>>,
}

/// How much a guest may write in one go (what `check-write` answers).
const PERMIT: usize = 64 << 10;

impl CappedPipe {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Arc::default(),
        }
    }

    /// Keeps what fits, counts the rest; never fails.
    fn take(&self, bytes: &[u8]) {
        if let Ok(mut c) = self.inner.lock() {
            let room = self.capacity.saturating_sub(c.kept.len());
            let kept = bytes.len().min(room);
            c.kept.extend_from_slice(&bytes[..kept]);
            c.dropped = c.dropped.saturating_add((bytes.len() - kept) as u64);
        }
    }

    /// The bytes kept.
    pub(super) fn contents(&self) -> Vec<u8> {
        self.inner
            .lock()
            .map(|c| c.kept.clone())
            .unwrap_or_default()
    }

    /// The bytes written past the cap.
    pub(super) fn dropped(&self) -> u64 {
        self.inner.lock().map(|c| c.dropped).unwrap_or(0)
    }
}

impl IsTerminal for CappedPipe {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CappedPipe {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl OutputStream for CappedPipe {
    fn write(&mut self, bytes: bytes::Bytes) -> Result<(), StreamError> {
        self.take(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(PERMIT)
    }
}

#[async_trait::async_trait]
impl Pollable for CappedPipe {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for CappedPipe {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.take(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn keeps_up_to_the_cap_and_counts_the_rest() {
        let mut pipe = CappedPipe::new(10);
        pipe.write(bytes::Bytes::from_static(b"0123456")).unwrap();
        pipe.write(bytes::Bytes::from_static(b"789abcdef")).unwrap();
        assert_eq!(pipe.contents(), b"0123456789");
        assert_eq!(pipe.dropped(), 6);
        assert_eq!(pipe.check_write().unwrap(), PERMIT);
    }
}
