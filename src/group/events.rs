//! The channel of a member's events to its application, counted at both ends: the member
//! rejoins after losing its lease only once the application has taken every event sent
//! before (the `Lost` among them), so its partitions' old work never sees the fence valid
//! again under a new lease.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc;

use super::error::GroupError;
use super::event::Assignment;

type Event = Result<Assignment, GroupError>;

/// A channel of events: (the member task's end, the application's end).
pub(crate) fn channel() -> (EventSender, EventReceiver) {
    let (tx, rx) = mpsc::unbounded_channel();
    let taken = Arc::new(AtomicU64::new(0));
    let sender = EventSender {
        tx,
        sent: 0,
        taken: taken.clone(),
    };
    (sender, EventReceiver { rx, taken })
}

/// The member task's end.
#[derive(Debug)]
pub(crate) struct EventSender {
    tx: mpsc::UnboundedSender<Event>,
    sent: u64,
    taken: Arc<AtomicU64>,
}

impl EventSender {
    /// Send `event` (dropped when the application is gone).
    pub(crate) fn send(&mut self, event: Event) {
        if self.tx.send(event).is_ok() {
            self.sent += 1;
        }
    }

    /// The application has taken every event sent so far.
    pub(crate) fn all_taken(&self) -> bool {
        self.taken.load(Ordering::Acquire) >= self.sent
    }
}

/// The application's end.
#[derive(Debug)]
pub(crate) struct EventReceiver {
    rx: mpsc::UnboundedReceiver<Event>,
    taken: Arc<AtomicU64>,
}

impl EventReceiver {
    /// The next event; `None` once the member task has ended.
    pub(crate) async fn recv(&mut self) -> Option<Event> {
        let event = self.rx.recv().await;
        if event.is_some() {
            self.taken.fetch_add(1, Ordering::Release);
        }
        event
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn all_taken_once_the_application_took_every_event_sent() {
        let (mut tx, mut rx) = channel();
        assert!(tx.all_taken());
        tx.send(Err(GroupError::Stopped));
        tx.send(Err(GroupError::Stopped));
        assert!(!tx.all_taken());
        rx.recv().await.unwrap().unwrap_err();
        assert!(!tx.all_taken());
        rx.recv().await.unwrap().unwrap_err();
        assert!(tx.all_taken());
        drop(rx);
        tx.send(Err(GroupError::Stopped));
        assert!(tx.all_taken(), "nobody left to take it");
    }
}
