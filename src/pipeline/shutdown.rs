//! When to drain: Ctrl-C, SIGTERM, or the actix `System` stopping.

use std::future::Future;

/// Resolves on the first of: Ctrl-C, SIGTERM (unix), or the current actix `System` being
/// stopped ([`system_stopped`]).
///
/// ```no_run
/// # async fn run(pipeline: actix_fluvio::pipeline::PipelineHandle) {
/// actix_fluvio::pipeline::shutdown_signal().await;
/// pipeline.drain_within(std::time::Duration::from_secs(30)).await.unwrap();
/// # }
/// ```
pub async fn shutdown_signal() {
    let system = system_stopped();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
                () = system => {}
            },
            Err(error) => {
                tracing::warn!(%error, "no SIGTERM handler; draining on Ctrl-C or System stop only");
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    () = system => {}
                }
            }
        }
    }
    #[cfg(not(unix))]
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = system => {}
    }
}

/// Resolves when the current actix `System` is stopped (`System::current().stop()`); never
/// outside an actix system.
///
/// `System::stop` stops every arbiter the system started. This future keeps an arbiter of its
/// own (one thread, idle) and resolves when that arbiter is stopped; dropping the future stops
/// the arbiter. The future that awaits it must run where `System::stop` does not end it: the
/// `main` of `#[actix_rt::main]` or `#[actix_web::main]` (their `block_on` keeps running after a
/// stop), not an actor on a stopped arbiter.
pub fn system_stopped() -> impl Future<Output = ()> + Send + 'static {
    let watch = actix_rt::System::try_current().map(|_| {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let arbiter = actix_rt::Arbiter::new();
        // Held until the arbiter's runtime is dropped, i.e. until the arbiter stops.
        arbiter.spawn(async move {
            let _held = tx;
            std::future::pending::<()>().await;
        });
        (StopOnDrop(arbiter.handle()), rx)
    });
    async move {
        match watch {
            Some((_arbiter, rx)) => {
                let _ = rx.await;
            }
            None => std::future::pending().await,
        }
    }
}

/// Stops the watching arbiter when the watch is dropped.
struct StopOnDrop(actix_rt::ArbiterHandle);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.stop();
    }
}
