//! Where actors run: on the caller's actix arbiter when there is one, otherwise on an actix
//! system of our own on a background thread, so that plain tokio programs can use the client.

use std::sync::OnceLock;

use actix::{Actor, Addr, Context, Supervised, Supervisor};
use actix_rt::ArbiterHandle;

/// Start `f`'s actor under a `Supervisor` on the current arbiter, or on the background system.
pub(crate) fn start_supervised<A, F>(f: F) -> Addr<A>
where
    A: Actor<Context = Context<A>> + Supervised,
    F: FnOnce(&mut Context<A>) -> A + Send + 'static,
{
    if actix_rt::System::try_current().is_some() && actix_rt::Arbiter::try_current().is_some() {
        Supervisor::start(f)
    } else {
        Supervisor::start_in_arbiter(&background(), f)
    }
}

/// Start an actor on the current arbiter, or on the background system.
pub(crate) fn start<A, F>(f: F) -> Addr<A>
where
    A: Actor<Context = Context<A>>,
    F: FnOnce(&mut Context<A>) -> A + Send + 'static,
{
    if actix_rt::System::try_current().is_some() && actix_rt::Arbiter::try_current().is_some() {
        A::create(f)
    } else {
        A::start_in_arbiter(&background(), f)
    }
}

/// The arbiter of the background actix system, started on first use.
fn background() -> ArbiterHandle {
    static BACKGROUND: OnceLock<ArbiterHandle> = OnceLock::new();
    BACKGROUND
        .get_or_init(|| {
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::Builder::new()
                .name("actix-fluvio".into())
                .spawn(move || {
                    let system = actix_rt::System::new();
                    system.block_on(async move {
                        let _ = tx.send(actix_rt::Arbiter::current());
                    });
                    let _ = system.run();
                })
                .expect("cannot spawn the actix-fluvio background thread");
            rx.recv()
                .expect("the actix-fluvio background system did not start")
        })
        .clone()
}
