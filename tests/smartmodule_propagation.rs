//! A stream that names a stored SmartModule the SPU does not know yet waits for it (the SC
//! hands new SmartModules to the SPUs on its own time), and reports it missing only after
//! the propagation window. The testkit SPU has no engine: a module it knows answers
//! `SmartModuleInvalid`, which is how these tests see that the stream asked again.

mod common;

use std::time::{Duration, Instant};

use actix_fluvio::consumer::{ConsumerError, ConsumerOptions};
use actix_fluvio::protocol::spu::{SmartModuleInvocation, SmartModuleWasm};
use actix_fluvio::protocol::ErrorCode;
use actix_fluvio::testkit::TestCluster;
use common::embedded::cluster_with_topics;

async fn cluster_with_topic() -> (TestCluster, actix_fluvio::cluster::FluvioClient) {
    cluster_with_topics(1, &[("sm", 1)]).await
}

fn options(module: &str) -> ConsumerOptions {
    ConsumerOptions::builder()
        .smartmodules(vec![SmartModuleInvocation::filter(
            SmartModuleWasm::predefined(module),
        )])
        .build()
}

#[actix_rt::test]
async fn a_stream_waits_for_a_smartmodule_created_after_it_opened() {
    common::bounded(async {
        let (_cluster, client) = cluster_with_topic().await;
        let mut stream = client
            .partition_consumer("sm", 0, options("late"))
            .await
            .expect("stream opens");
        tokio::time::sleep(Duration::from_secs(1)).await;
        client
            .admin()
            .create_smartmodule("late", b"\0asm", None)
            .await
            .expect("SmartModule created");
        let error = stream.next().await.expect("an answer").unwrap_err();
        assert!(
            matches!(
                error,
                ConsumerError::SmartModule {
                    code: ErrorCode::SmartModuleInvalid { .. },
                    ..
                }
            ),
            "the stream found the module created after it opened: {error:?}"
        );
    })
    .await;
}

#[actix_rt::test]
async fn a_smartmodule_that_never_comes_is_reported_missing_after_the_window() {
    common::bounded(async {
        let (_cluster, client) = cluster_with_topic().await;
        let started = Instant::now();
        let mut stream = client
            .partition_consumer("sm", 0, options("never"))
            .await
            .expect("stream opens");
        let error = stream.next().await.expect("an answer").unwrap_err();
        let waited = started.elapsed();
        assert!(
            matches!(&error, ConsumerError::SmartModule { code: ErrorCode::SmartModuleNotFound { name }, .. } if name == "never"),
            "{error:?}"
        );
        assert!(error.is_missing_smartmodule());
        assert!(
            (Duration::from_secs(10)..Duration::from_secs(20)).contains(&waited),
            "reported after {waited:?}, the window being 10 s"
        );
    })
    .await;
}
