//! [`Call`]: an actor's answer as one `Result`. `Addr::send` answers a message whose
//! result is `Result<T, E>` with `Result<Result<T, E>, MailboxError>` (the outer error: the
//! actor is gone), so callers wrote `.await??`; `call` folds the mailbox error into `E`.

use std::future::Future;

use actix::dev::ToEnvelope;
use actix::{Actor, Addr, Handler, MailboxError, Message};

use crate::admin::AdminError;
use crate::cluster::ClientError;
use crate::consumer::ConsumerError;
use crate::producer::ProducerError;

/// Send a message to an actor and wait for its answer, as one `Result`.
///
/// Implemented for every `Addr<A>`, for messages answered with `Result<T, E>` where `E`
/// says what an actor that is gone means: [`ProducerError::Closed`] for a
/// [`ProducerActor`](crate::producer::ProducerActor), [`ConsumerError::Stopped`] for a
/// [`PartitionConsumerActor`](crate::consumer::PartitionConsumerActor), and
/// [`ClientError::Shutdown`] (in [`AdminError::Client`]) for an
/// [`AdminActor`](crate::admin::AdminActor).
///
/// ```no_run
/// # async fn demo(producer: actix::Addr<actix_fluvio::producer::ProducerActor>)
/// # -> Result<(), actix_fluvio::producer::ProducerError> {
/// use actix_fluvio::producer::Produce;
/// use actix_fluvio::Call;
///
/// let meta = producer
///     .call(Produce { topic: "orders".into(), key: None, value: "hello".into() })
///     .await?;
/// println!("stored at {}-{} @{}", "orders", meta.partition, meta.offset);
/// # Ok(()) }
/// ```
pub trait Call<A: Actor> {
    /// Send `msg` and wait for its answer; the actor being gone is an `E`.
    ///
    /// # Errors
    /// The actor's answer, or `E::from(MailboxError)` when the actor stopped before it
    /// answered.
    fn call<M, T, E>(&self, msg: M) -> impl Future<Output = Result<T, E>> + 'static
    where
        A: Handler<M>,
        A::Context: ToEnvelope<A, M>,
        M: Message<Result = Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: From<MailboxError> + Send + 'static;
}

impl<A: Actor> Call<A> for Addr<A> {
    fn call<M, T, E>(&self, msg: M) -> impl Future<Output = Result<T, E>> + 'static
    where
        A: Handler<M>,
        A::Context: ToEnvelope<A, M>,
        M: Message<Result = Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: From<MailboxError> + Send + 'static,
    {
        let answer = self.send(msg);
        async move { answer.await? }
    }
}

impl From<MailboxError> for ProducerError {
    /// The producer's actor is gone: [`ProducerError::Closed`].
    fn from(_: MailboxError) -> Self {
        ProducerError::Closed
    }
}

impl From<MailboxError> for ConsumerError {
    /// The consumer's actor is gone: [`ConsumerError::Stopped`].
    fn from(_: MailboxError) -> Self {
        ConsumerError::Stopped
    }
}

impl From<MailboxError> for AdminError {
    /// The admin actor is gone: [`ClientError::Shutdown`].
    fn from(_: MailboxError) -> Self {
        AdminError::Client(ClientError::Shutdown)
    }
}

#[cfg(test)]
mod tests {
    use actix::prelude::*;

    use super::*;

    /// Answers `Ok(n + 1)`, or stops itself first when `n` is 0.
    struct Incr;

    impl Actor for Incr {
        type Context = Context<Self>;
    }

    #[derive(Message)]
    #[rtype(result = "Result<u32, ProducerError>")]
    struct Add(u32);

    impl Handler<Add> for Incr {
        type Result = Result<u32, ProducerError>;

        fn handle(&mut self, msg: Add, ctx: &mut Context<Self>) -> Self::Result {
            if msg.0 == 0 {
                ctx.stop();
                return Err(ProducerError::Closed);
            }
            Ok(msg.0 + 1)
        }
    }

    #[actix_rt::test]
    async fn an_answer_and_a_stopped_actor_are_one_result() {
        let incr = Incr.start();
        assert_eq!(incr.call(Add(1)).await.unwrap(), 2);
        assert!(matches!(
            incr.call(Add(0)).await,
            Err(ProducerError::Closed)
        ));
        // The actor is gone: the mailbox error is the answer's error type.
        assert!(matches!(
            incr.call(Add(1)).await,
            Err(ProducerError::Closed)
        ));
    }
}
