//! `config/grafana-dashboard.json` and `config/alert-rules.yml` cannot drift from the metric
//! table: every series they query is in `telemetry::METRICS` (a histogram through its
//! `_bucket`, `_sum` or `_count`), every label they match or group by belongs to a metric of
//! the expression, every metric of the table has a panel, and the rules a fleet needs exist.

use std::collections::BTreeSet;
use std::path::Path;

use actix_fluvio::telemetry::{Metric, MetricKind, METRICS};

/// Labels Prometheus adds to every scraped series, and a histogram bucket's bound.
const SCRAPE_LABELS: &[&str] = &["instance", "job"];

fn read(file: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("config")
        .join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The table's metric a series name refers to, and whether it names a histogram bucket.
fn metric_of(series: &str) -> Option<(&'static Metric, bool)> {
    if let Some(m) = METRICS.iter().find(|m| m.name == series) {
        return (m.kind != MetricKind::Histogram).then_some((m, false));
    }
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = series.strip_suffix(suffix) {
            if let Some(m) = METRICS
                .iter()
                .find(|m| m.name == base && m.kind == MetricKind::Histogram)
            {
                return Some((m, suffix == "_bucket"));
            }
        }
    }
    None
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The label names of a selector's body (`a="x", b=~"y"`).
fn matcher_labels(body: &str) -> Vec<String> {
    let mut labels = Vec::new();
    let mut in_string = false;
    let mut token = String::new();
    for c in body.chars() {
        match c {
            '"' => in_string = !in_string,
            _ if in_string => {}
            '=' | '!' | '~' => {
                if !token.trim().is_empty() {
                    labels.push(token.trim().to_owned());
                }
                token.clear();
            }
            ',' => token.clear(),
            c => token.push(c),
        }
    }
    labels
}

/// Check one PromQL expression against the table; the metrics it uses.
fn check_expr(origin: &str, expr: &str) -> BTreeSet<&'static str> {
    let bytes = expr.as_bytes();
    let mut used = BTreeSet::new();
    let mut allowed: BTreeSet<&str> = SCRAPE_LABELS.iter().copied().collect();
    let mut i = 0;
    while let Some(at) = expr[i..].find("fluvio_").map(|at| at + i) {
        let end = (at..bytes.len())
            .find(|&j| !is_name_byte(bytes[j]))
            .unwrap_or(bytes.len());
        let series = &expr[at..end];
        let (metric, bucket) =
            metric_of(series).unwrap_or_else(|| panic!("{origin}: `{series}` is not in METRICS"));
        used.insert(metric.name);
        allowed.extend(metric.labels.iter().copied());
        if bucket {
            allowed.insert("le");
        }
        if bytes.get(end) == Some(&b'{') {
            let close = expr[end..].find('}').expect("selector closed") + end;
            for label in matcher_labels(&expr[end + 1..close]) {
                assert!(
                    metric.labels.contains(&label.as_str())
                        || SCRAPE_LABELS.contains(&label.as_str()),
                    "{origin}: `{series}` has no label `{label}` (its labels: {:?})",
                    metric.labels
                );
            }
        }
        i = end;
    }
    assert!(
        !used.is_empty(),
        "{origin}: no actix-fluvio metric in `{expr}`"
    );
    // `by (...)` and `without (...)` name labels of the expression's metrics.
    for keyword in ["by", "without"] {
        let mut rest = expr;
        while let Some(at) = rest.find(&format!("{keyword} (")) {
            let open = at + keyword.len() + 1;
            let close = rest[open..].find(')').expect("grouping closed") + open;
            for label in rest[open + 1..close].split(',').map(str::trim) {
                assert!(
                    allowed.contains(label),
                    "{origin}: grouping by `{label}`, which none of {used:?} has"
                );
            }
            rest = &rest[close..];
        }
    }
    used
}

#[test]
fn the_alert_rules_query_documented_metrics_and_cover_a_fleet() {
    let rules: serde_yaml::Value = serde_yaml::from_str(&read("alert-rules.yml")).unwrap();
    let mut alerts = BTreeSet::new();
    let groups = rules["groups"].as_sequence().expect("groups");
    assert!(!groups.is_empty());
    for group in groups {
        for rule in group["rules"].as_sequence().expect("rules") {
            let name = rule["alert"].as_str().expect("every rule is an alert");
            let expr = rule["expr"].as_str().expect("expr");
            check_expr(name, expr);
            assert!(
                rule["labels"]["severity"].is_string(),
                "{name}: no severity"
            );
            for key in ["summary", "description"] {
                assert!(rule["annotations"][key].is_string(), "{name}: no {key}");
            }
            assert!(alerts.insert(name.to_owned()), "{name} twice");
        }
    }
    for needed in [
        "FluvioPartitionStuck",
        "FluvioWorkerStuck",
        "FluvioLagGrowing",
        "FluvioWorkerRestartLoop",
        "FluvioConnectionDown",
        "FluvioCommitStale",
    ] {
        assert!(alerts.contains(needed), "no {needed} rule: {alerts:?}");
    }
}

#[test]
fn the_dashboard_queries_documented_metrics_and_shows_every_one() {
    let dashboard: serde_json::Value =
        serde_json::from_str(&read("grafana-dashboard.json")).unwrap();
    let mut shown = BTreeSet::new();
    let panels = dashboard["panels"].as_array().expect("panels");
    for panel in panels {
        let title = panel["title"].as_str().expect("title");
        let targets = panel["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "{title}: no query");
        for target in targets {
            let expr = target["expr"].as_str().expect("expr");
            shown.extend(check_expr(title, expr));
        }
    }
    let missing: Vec<_> = METRICS
        .iter()
        .map(|m| m.name)
        .filter(|name| !shown.contains(name))
        .collect();
    assert!(missing.is_empty(), "metrics without a panel: {missing:?}");
    let variables = dashboard["templating"]["list"]
        .as_array()
        .expect("variables");
    for variable in variables {
        if let Some(query) = variable["definition"].as_str() {
            check_expr("a dashboard variable", query);
        }
    }
}

#[test]
fn the_checker_catches_unknown_metrics_and_labels() {
    let unknown = std::panic::catch_unwind(|| check_expr("t", "rate(fluvio_nope_total[5m])"));
    assert!(unknown.is_err());
    let label = std::panic::catch_unwind(|| {
        check_expr("t", r#"fluvio_connections{state="up", topic="x"}"#)
    });
    assert!(label.is_err());
    let grouping =
        std::panic::catch_unwind(|| check_expr("t", "sum by (partition) (fluvio_requests_total)"));
    assert!(grouping.is_err());
    let summary_quantile =
        std::panic::catch_unwind(|| check_expr("t", "fluvio_request_duration_seconds"));
    assert!(
        summary_quantile.is_err(),
        "a histogram is read via its series"
    );
    assert_eq!(
        check_expr(
            "t",
            r#"histogram_quantile(0.99, sum by (le, api) (rate(fluvio_request_duration_seconds_bucket{api!="x"}[5m])))"#
        ),
        BTreeSet::from(["fluvio_request_duration_seconds"])
    );
}
