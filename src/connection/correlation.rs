//! The correlation table: which caller waits for which correlation id.
//!
//! Two kinds of entry: a one-shot reply (most APIs) and a stream of replies on one id (stream
//! fetch, watch). Pure bookkeeping, tested without an actor system.

use std::collections::{HashMap, VecDeque};

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use super::error::ConnectionError;

/// Where the response(s) to one request go.
#[derive(Debug)]
pub(crate) enum Reply {
    /// One response.
    Unary(oneshot::Sender<Result<Bytes, ConnectionError>>),
    /// Any number of responses until the caller drops the receiver or the socket dies.
    Stream(mpsc::UnboundedSender<Result<Bytes, ConnectionError>>),
}

impl Reply {
    /// Fail the waiting caller.
    pub(crate) fn fail(self, error: ConnectionError) {
        match self {
            Reply::Unary(tx) => drop(tx.send(Err(error))),
            Reply::Stream(tx) => drop(tx.send(Err(error))),
        }
    }

    /// Whether the caller stopped waiting.
    pub(crate) fn is_closed(&self) -> bool {
        match self {
            Reply::Unary(tx) => tx.is_closed(),
            Reply::Stream(tx) => tx.is_closed(),
        }
    }
}

/// What became of a response.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Dispatch {
    /// Handed to its caller.
    Delivered,
    /// No request has this id (late reply after a timeout, or a confused server).
    Unknown,
    /// The caller had stopped waiting (or cancelled the request); the answer is dropped.
    Abandoned,
}

/// Pending requests by correlation id.
#[derive(Debug, Default)]
pub(crate) struct Correlations {
    pending: HashMap<i32, Reply>,
    /// The latest cancelled ids (timed out, dropped streams): their late answers are
    /// expected, not a confused server.
    cancelled: VecDeque<i32>,
}

/// How many cancelled ids are remembered.
const REMEMBERED_CANCELS: usize = 256;

impl Correlations {
    pub(crate) fn insert(&mut self, id: i32, reply: Reply) {
        if let Some(old) = self.pending.insert(id, reply) {
            // Ids wrap after 2^31 requests; a stream that old is still owed an answer.
            old.fail(ConnectionError::Closed {
                addr: "".into(),
                cause: "correlation id reused".into(),
            });
        }
    }

    pub(crate) fn cancel(&mut self, id: i32) {
        self.pending.remove(&id);
        if self.cancelled.len() == REMEMBERED_CANCELS {
            self.cancelled.pop_front();
        }
        self.cancelled.push_back(id);
    }

    pub(crate) fn dispatch(&mut self, id: i32, body: Bytes) -> Dispatch {
        match self.pending.remove(&id) {
            None if self.cancelled.contains(&id) => Dispatch::Abandoned,
            None => Dispatch::Unknown,
            Some(Reply::Unary(tx)) => match tx.send(Ok(body)) {
                Ok(()) => Dispatch::Delivered,
                Err(_) => Dispatch::Abandoned,
            },
            Some(Reply::Stream(tx)) => match tx.send(Ok(body)) {
                Ok(()) => {
                    self.pending.insert(id, Reply::Stream(tx));
                    Dispatch::Delivered
                }
                Err(_) => Dispatch::Abandoned,
            },
        }
    }

    /// Fail the request (one-shot or stream) waiting for `id` with `error`; a stream ends
    /// with it. Later answers on `id` are expected, not a confused server.
    pub(crate) fn fail(&mut self, id: i32, error: ConnectionError) -> Dispatch {
        let Some(reply) = self.pending.remove(&id) else {
            return if self.cancelled.contains(&id) {
                Dispatch::Abandoned
            } else {
                Dispatch::Unknown
            };
        };
        self.cancel(id);
        if reply.is_closed() {
            return Dispatch::Abandoned;
        }
        reply.fail(error);
        Dispatch::Delivered
    }

    /// Fail every pending request with (a clone of) `error`.
    pub(crate) fn fail_all(&mut self, error: &ConnectionError) {
        for (_, reply) in self.pending.drain() {
            reply.fail(error.clone());
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lost() -> ConnectionError {
        ConnectionError::Lost {
            addr: "a".into(),
            cause: "gone".into(),
        }
    }

    #[test]
    fn unary_replies_are_delivered_once_in_any_order() {
        let mut table = Correlations::default();
        let (tx1, mut rx1) = oneshot::channel();
        let (tx2, mut rx2) = oneshot::channel();
        table.insert(1, Reply::Unary(tx1));
        table.insert(2, Reply::Unary(tx2));
        assert_eq!(
            table.dispatch(2, Bytes::from_static(b"two")),
            Dispatch::Delivered
        );
        assert_eq!(
            table.dispatch(1, Bytes::from_static(b"one")),
            Dispatch::Delivered
        );
        assert_eq!(table.dispatch(1, Bytes::new()), Dispatch::Unknown);
        assert_eq!(&rx1.try_recv().unwrap().unwrap()[..], b"one");
        assert_eq!(&rx2.try_recv().unwrap().unwrap()[..], b"two");
        assert_eq!(table.len(), 0);
    }

    #[test]
    fn streams_keep_their_entry_until_the_receiver_goes() {
        let mut table = Correlations::default();
        let (tx, mut rx) = mpsc::unbounded_channel();
        table.insert(7, Reply::Stream(tx));
        for i in 0..3u8 {
            assert_eq!(table.dispatch(7, Bytes::from(vec![i])), Dispatch::Delivered);
        }
        for i in 0..3u8 {
            assert_eq!(rx.try_recv().unwrap().unwrap()[0], i);
        }
        drop(rx);
        assert_eq!(table.dispatch(7, Bytes::new()), Dispatch::Abandoned);
        assert_eq!(table.len(), 0);
    }

    #[test]
    fn fail_all_reaches_every_waiter() {
        let mut table = Correlations::default();
        let (tx1, mut rx1) = oneshot::channel();
        let (tx2, mut rx2) = mpsc::unbounded_channel();
        table.insert(1, Reply::Unary(tx1));
        table.insert(2, Reply::Stream(tx2));
        table.fail_all(&lost());
        assert!(matches!(
            rx1.try_recv().unwrap(),
            Err(ConnectionError::Lost { .. })
        ));
        assert!(matches!(
            rx2.try_recv().unwrap(),
            Err(ConnectionError::Lost { .. })
        ));
        assert_eq!(table.len(), 0);
    }

    #[test]
    fn failing_one_request_ends_it_and_leaves_the_others() {
        let mut table = Correlations::default();
        let (tx1, mut rx1) = oneshot::channel();
        let (tx2, mut rx2) = mpsc::unbounded_channel();
        let (tx3, mut rx3) = mpsc::unbounded_channel();
        table.insert(1, Reply::Unary(tx1));
        table.insert(2, Reply::Stream(tx2));
        table.insert(3, Reply::Stream(tx3));
        assert_eq!(table.fail(1, lost()), Dispatch::Delivered);
        assert_eq!(table.fail(2, lost()), Dispatch::Delivered);
        assert!(matches!(
            rx1.try_recv(),
            Ok(Err(ConnectionError::Lost { .. }))
        ));
        assert!(matches!(
            rx2.try_recv(),
            Ok(Err(ConnectionError::Lost { .. }))
        ));
        assert!(
            rx2.try_recv().is_err(),
            "the stream ended: its sender is gone"
        );
        assert_eq!(
            table.dispatch(2, Bytes::new()),
            Dispatch::Abandoned,
            "a late frame on a failed stream is expected"
        );
        assert_eq!(table.fail(9, lost()), Dispatch::Unknown);
        assert_eq!(
            table.dispatch(3, Bytes::from_static(b"x")),
            Dispatch::Delivered
        );
        assert_eq!(&rx3.try_recv().unwrap().unwrap()[..], b"x");
        assert_eq!(table.len(), 1);
    }

    #[test]
    fn late_answers_to_cancelled_requests_are_abandoned_not_unknown() {
        let mut table = Correlations::default();
        let (tx, _rx) = mpsc::unbounded_channel();
        table.insert(9, Reply::Stream(tx));
        table.cancel(9);
        assert_eq!(table.dispatch(9, Bytes::new()), Dispatch::Abandoned);
        assert_eq!(table.dispatch(9, Bytes::new()), Dispatch::Abandoned);
        assert_eq!(table.dispatch(10, Bytes::new()), Dispatch::Unknown);
        for id in 100..100 + REMEMBERED_CANCELS as i32 {
            table.cancel(id);
        }
        assert_eq!(
            table.dispatch(9, Bytes::new()),
            Dispatch::Unknown,
            "bounded memory"
        );
    }
}
