//! Acknowledging what the server sent at once, not after the kernel's delayed-ACK timer.
//!
//! Fluvio's servers write with Nagle's algorithm on. After a consumer acknowledges a stream
//! frame, the SPU answers the UpdateOffsets request (a few bytes) and then writes the next
//! frame's header (a few bytes more): Nagle holds that second small write until the client's
//! TCP acknowledges the first, and a Linux client delays its ACK for up to 40 ms when it has
//! nothing to send. Every stream frame waited for that timer, whatever its size: a 256 KiB
//! frame cost as much time as a 1 MiB one, so small frames (less memory) cost rate.
//!
//! Linux's `TCP_QUICKACK` makes the next ACKs go out at once; it is not permanent (the
//! kernel falls back to delayed ACKs by its own rules), so it is set again after every read
//! that returned data: one `setsockopt` per read, against a wait of up to 40 ms per frame.
//! Elsewhere this is a plain pass-through.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// A TCP stream that acknowledges received data at once (on Linux).
#[derive(Debug)]
pub(crate) struct QuickAck(pub(crate) TcpStream);

impl QuickAck {
    /// Ask for immediate ACKs again (the kernel may have left quickack mode).
    fn rearm(&self) {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            // Failing only means delayed ACKs: slower, not wrong.
            let _ = socket2::SockRef::from(&self.0).set_tcp_quickack(true);
        }
    }
}

impl AsyncRead for QuickAck {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.0).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.rearm();
        }
        polled
    }
}

impl AsyncWrite for QuickAck {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn connected() -> (TcpStream, TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap());
        let (client, accepted) = tokio::join!(client, listener.accept());
        (client.unwrap(), accepted.unwrap().0)
    }

    #[tokio::test]
    async fn bytes_pass_both_ways_unchanged() {
        let (client, mut server) = connected().await;
        let mut client = QuickAck(client);

        client.write_all(b"ping").await.unwrap();
        let mut got = [0; 4];
        server.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"ping");

        server.write_all(b"pong").await.unwrap();
        client.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"pong");
    }

    /// A busy connection's socket falls into delayed-ACK mode (the kernel's "pingpong"
    /// mode, in which an ACK waits up to 40 ms for data to ride on); every read must take
    /// it out again, so that the ACK for what was read goes out at once.
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn every_read_leaves_the_socket_acknowledging_at_once() {
        let (client, mut server) = connected().await;
        let mut client = QuickAck(client);
        let socket = |tcp: &TcpStream| socket2::SockRef::from(tcp).tcp_quickack().unwrap();
        let mut got = [0u8; 5];
        for round in 0..3 {
            socket2::SockRef::from(&client.0)
                .set_tcp_quickack(false)
                .unwrap();
            assert!(!socket(&client.0), "delayed-ACK mode to start with");
            server.write_all(b"frame").await.unwrap();
            client.read_exact(&mut got).await.unwrap();
            assert!(
                socket(&client.0),
                "round {round}: the read left the socket delaying its ACKs"
            );
        }
    }
}
