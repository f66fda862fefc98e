//! `ResponseStream`: the responses to one streaming request ([`Connection::stream`] opens
//! one), and decoding response bodies.

use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use actix::Addr;
use bytes::Bytes;
use tokio::sync::mpsc;

use super::actor::{Cancel, ConnectionActor, Submit};
use super::correlation::Reply;
use super::error::ConnectionError;
use super::handle::Connection;
use crate::protocol::{Decode, Request};
use crate::telemetry;

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

impl Connection {
    /// Send `request` and return the stream of responses that share its correlation id
    /// (stream fetch, watch). The stream ends with an error when the connection is lost.
    ///
    /// # Errors
    /// As [`Connection::request`], for sending the request.
    pub async fn stream<R: Request>(
        &self,
        request: &R,
    ) -> Result<ResponseStream<R::Response>, ConnectionError> {
        let span = tracing::debug_span!(
            "fluvio.request",
            api_key = R::API_KEY,
            version = tracing::field::Empty,
            stream = true,
            addr = %self.inner.target.addr,
            correlation_id = tracing::field::Empty,
            bytes = tracing::field::Empty,
            error_kind = tracing::field::Empty,
            error = tracing::field::Empty,
        );
        metrics::counter!(telemetry::REQUESTS, "api" => R::API_NAME).increment(1);
        let result = self.stream_inner(request, &span).await;
        if let Err(error) = &result {
            telemetry::record_error(&span, error.kind(), error);
            metrics::counter!(telemetry::REQUEST_ERRORS, "api" => R::API_NAME, "kind" => error.kind())
                .increment(1);
        }
        result
    }

    async fn stream_inner<R: Request>(
        &self,
        request: &R,
        span: &tracing::Span,
    ) -> Result<ResponseStream<R::Response>, ConnectionError> {
        let version = self.version_of::<R>()?;
        span.record("version", version);
        let (id, frame) = self.frame(request, version)?;
        span.record("correlation_id", id);
        span.record("bytes", frame.len());
        let (tx, rx) = mpsc::unbounded_channel();
        let submit = self.inner.actor.send(Submit {
            id,
            frame,
            reply: Reply::Stream(tx),
        });
        let submit = tracing::Instrument::instrument(submit, span.clone());
        tokio::time::timeout(self.inner.config.request_timeout, submit)
            .await
            .map_err(|_| self.timeout_error(R::API_KEY, self.inner.config.request_timeout))?
            .map_err(|_| self.closed_error())?;
        Ok(ResponseStream {
            rx,
            api_key: R::API_KEY,
            version,
            correlation_id: id,
            actor: self.inner.actor.clone(),
            _marker: std::marker::PhantomData,
        })
    }
}

impl<T> Drop for ResponseStream<T> {
    fn drop(&mut self) {
        self.actor.do_send(Cancel(self.correlation_id));
    }
}
