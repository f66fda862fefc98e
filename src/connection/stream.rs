//! `ResponseStream`: the responses to one streaming request, and decoding response bodies.

use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use actix::Addr;
use bytes::Bytes;
use tokio::sync::mpsc;

use super::actor::{Cancel, ConnectionActor};
use super::error::ConnectionError;
use crate::protocol::Decode;

pub(super) fn decode_body<T: Decode>(
    mut body: Bytes,
    api_key: u16,
    version: i16,
) -> Result<T, ConnectionError> {
    let value = T::decode(&mut body, version).map_err(|cause| ConnectionError::Decode {
        api_key,
        version,
        cause,
    })?;
    if !body.is_empty() {
        tracing::debug!(
            api_key,
            version,
            trailing = body.len(),
            "response has trailing bytes"
        );
    }
    Ok(value)
}

/// The responses to one streaming request, decoded at the request's version.
///
/// Dropping it tells the connection to forget the request.
#[derive(Debug)]
pub struct ResponseStream<T> {
    pub(super) rx: mpsc::UnboundedReceiver<Result<Bytes, ConnectionError>>,
    pub(super) api_key: u16,
    pub(super) version: i16,
    pub(super) correlation_id: i32,
    pub(super) actor: Addr<ConnectionActor>,
    pub(super) _marker: std::marker::PhantomData<fn() -> T>,
}

impl<T: Decode> ResponseStream<T> {
    /// The next response; `None` once the connection has dropped the stream.
    pub async fn next(&mut self) -> Option<Result<T, ConnectionError>> {
        std::future::poll_fn(|cx| self.poll_item(cx)).await
    }

    /// The correlation id shared by the responses.
    pub fn correlation_id(&self) -> i32 {
        self.correlation_id
    }

    /// The version the responses are decoded at.
    pub fn version(&self) -> i16 {
        self.version
    }

    fn poll_item(&mut self, cx: &mut TaskContext<'_>) -> Poll<Option<Result<T, ConnectionError>>> {
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(Ok(body))) => {
                Poll::Ready(Some(decode_body(body, self.api_key, self.version)))
            }
            Poll::Ready(Some(Err(error))) => Poll::Ready(Some(Err(error))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: Decode> futures_core::Stream for ResponseStream<T> {
    type Item = Result<T, ConnectionError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_item(cx)
    }
}

impl<T> Drop for ResponseStream<T> {
    fn drop(&mut self) {
        self.actor.do_send(Cancel(self.correlation_id));
    }
}
