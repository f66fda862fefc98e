//! Opening a socket: TCP (no Nagle delay, keepalive), optional TLS, and the ApiVersions
//! handshake.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::config::ConnectionConfig;
use super::error::ConnectionError;
use super::keepalive::configure;
use super::quickack::QuickAck;
use super::tls::TlsSetup;
use super::versions::ServerVersions;
use crate::protocol::{
    ApiVersionsRequest, ApiVersionsResponse, Decode, Encode, ErrorCode, Request, RequestMessage,
};

/// A byte stream to a server: plain TCP or TLS.
pub(crate) trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}

/// Where to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    /// `host:port`.
    pub(crate) addr: Arc<str>,
    /// For TLS to an SPU: its name, prefixed to the domain to form the verified server name.
    pub(crate) tls_prefix: Option<String>,
}

/// An open, handshaken connection.
pub(crate) struct Opened {
    pub(crate) io: Box<dyn Io>,
    /// Bytes read past the handshake response (normally none).
    pub(crate) leftover: BytesMut,
    pub(crate) versions: ServerVersions,
}

/// Open `target` within the connect timeout.
pub(crate) async fn open(
    target: &Target,
    config: &ConnectionConfig,
    tls: Option<&TlsSetup>,
) -> Result<Opened, ConnectionError> {
    match tokio::time::timeout(config.connect_timeout, open_inner(target, config, tls)).await {
        Ok(result) => result,
        Err(_) => Err(ConnectionError::ConnectTimeout {
            addr: target.addr.clone(),
            timeout: config.connect_timeout,
        }),
    }
}

async fn open_inner(
    target: &Target,
    config: &ConnectionConfig,
    tls: Option<&TlsSetup>,
) -> Result<Opened, ConnectionError> {
    let addr = &target.addr;
    let tcp = TcpStream::connect(&**addr)
        .await
        .map_err(|e| ConnectionError::Connect {
            addr: addr.clone(),
            cause: Arc::new(e),
        })?;
    configure(&tcp, config.keepalive.as_ref());
    let tcp = QuickAck(tcp);
    let mut io: Box<dyn Io> = match tls {
        None => Box::new(tcp),
        Some(setup) => {
            let tls_err = |message: String| ConnectionError::Tls {
                addr: addr.clone(),
                message: message.into(),
            };
            let host = addr.rsplit_once(':').map_or(&**addr, |(h, _)| h);
            let name = setup
                .server_name(target.tls_prefix.as_deref(), host)
                .map_err(tls_err)?;
            let connector = tokio_rustls::TlsConnector::from(setup.config.clone());
            let stream = connector
                .connect(name, tcp)
                .await
                .map_err(|e| tls_err(e.to_string()))?;
            Box::new(stream)
        }
    };
    let (versions, leftover) = handshake(&mut io, target, config).await?;
    Ok(Opened {
        io,
        leftover,
        versions,
    })
}

/// Send ApiVersions (correlation id 0) and read the answer.
async fn handshake(
    io: &mut Box<dyn Io>,
    target: &Target,
    config: &ConnectionConfig,
) -> Result<(ServerVersions, BytesMut), ConnectionError> {
    let addr = &target.addr;
    let lost = |e: std::io::Error| ConnectionError::Lost {
        addr: addr.clone(),
        cause: format!("during handshake: {e}").into(),
    };
    let request = ApiVersionsRequest {
        client_version: env!("CARGO_PKG_VERSION").into(),
        client_os: std::env::consts::OS.into(),
        client_arch: std::env::consts::ARCH.into(),
    };
    let version = ApiVersionsRequest::MAX_API_VERSION;
    let message = RequestMessage::new(request, version, 0, &config.client_id);
    let mut frame = BytesMut::with_capacity(4 + message.encoded_len(0));
    frame.extend_from_slice(&(message.encoded_len(0) as i32).to_be_bytes());
    message.encode(&mut frame, 0)?;
    io.write_all(&frame).await.map_err(lost)?;
    io.flush().await.map_err(lost)?;

    let mut buf = BytesMut::with_capacity(4096);
    let body = loop {
        if buf.len() >= 4 {
            let size = i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
            if size < 8 || size as usize > config.max_frame_len.min(1 << 20) {
                return Err(ConnectionError::Lost {
                    addr: addr.clone(),
                    cause: format!("bad handshake frame size {size}").into(),
                });
            }
            if buf.len() >= 4 + size as usize {
                let mut frame = buf.split_to(4 + size as usize);
                let _ = frame.split_to(4);
                break Bytes::from(frame);
            }
        }
        if io.read_buf(&mut buf).await.map_err(lost)? == 0 {
            return Err(ConnectionError::Lost {
                addr: addr.clone(),
                cause: "closed during the ApiVersions handshake".into(),
            });
        }
    };
    let mut body = body;
    let decode = |cause| ConnectionError::Decode {
        api_key: ApiVersionsRequest::API_KEY,
        version,
        cause,
    };
    let _correlation_id = i32::decode(&mut body, version).map_err(decode)?;
    let response = ApiVersionsResponse::decode(&mut body, version).map_err(decode)?;
    if response.error_code != ErrorCode::None {
        return Err(ConnectionError::Handshake {
            addr: addr.clone(),
            code: response.error_code,
        });
    }
    Ok((ServerVersions::from_response(&response), buf))
}
