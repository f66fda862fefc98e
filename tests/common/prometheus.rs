//! The Prometheus recorder of a test process (one per process) and reading its scrape.

use std::sync::OnceLock;

use actix_fluvio::telemetry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The address of this process's `/metrics` listener (one recorder per process).
pub fn metrics_addr() -> std::net::SocketAddr {
    static ADDR: OnceLock<std::net::SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| {
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        // The exporter's listener needs a runtime that outlives every test.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                telemetry::serve_prometheus(addr).unwrap();
                tx.send(()).unwrap();
                std::future::pending::<()>().await
            })
        });
        rx.recv().unwrap();
        addr
    })
}

pub async fn scrape(addr: std::net::SocketAddr) -> String {
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    socket
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut body = String::new();
    socket.read_to_string(&mut body).await.unwrap();
    body
}

pub fn value(body: &str, series: &str) -> Option<f64> {
    body.lines()
        .find(|line| line.starts_with(series))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}
