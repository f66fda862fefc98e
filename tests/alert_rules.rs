//! Every PromQL expression in `config/` is parsed by a real PromQL parser (`promql-parser`),
//! the dashboard keeps one unit per panel and its windows in `$__rate_interval`, and the alert
//! rules' logic is run against synthetic series by `promtool test rules`
//! (`config/alert-rules.test.yml`: a stuck worker on a caught-up partition fires, an idle
//! partition does not, a restart loop fires on its first restarts, a growing lag fires with
//! its slope). That last test needs `promtool`: it is ignored unless asked for, and
//! `.ci/run` installs promtool and runs it.

use std::path::{Path, PathBuf};

fn config(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("config")
        .join(file)
}

fn read(file: &str) -> String {
    let path = config(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Grafana's interval variables, replaced by a duration of that size before parsing.
const INTERVAL_VARIABLES: &[&str] = &["$__rate_interval", "$__interval", "$interval", "$__range"];

/// A dashboard query as Prometheus receives it: each variable of [`INTERVAL_VARIABLES`] by
/// `1m`, then every other `$name` or `${name}` (`$instance`, `$consumer`, `$job`, ...) by `.*`
/// (what an "All" selection sends). A variable anywhere but in a matcher's string or a range
/// then leaves the query unparsable.
fn substitute(query: &str) -> String {
    let mut out = query.to_owned();
    for variable in INTERVAL_VARIABLES {
        out = out.replace(variable, "1m");
    }
    let mut result = String::new();
    let mut rest = out.as_str();
    while let Some(at) = rest.find('$') {
        result.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let end = if let Some(braced) = after.strip_prefix('{') {
            braced
                .find('}')
                .map(|close| close + 2)
                .unwrap_or(after.len())
        } else {
            after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len())
        };
        result.push_str(".*");
        rest = &after[end..];
    }
    result.push_str(rest);
    result
}

fn parse(origin: &str, query: &str) {
    if let Err(error) = promql_parser::parser::parse(query) {
        panic!("{origin}: `{query}` does not parse: {error}");
    }
}

/// The alert rules' `expr`s, by alert name.
fn rule_exprs() -> Vec<(String, String)> {
    let rules: serde_yaml::Value = serde_yaml::from_str(&read("alert-rules.yml")).unwrap();
    let mut exprs = Vec::new();
    for group in rules["groups"].as_sequence().expect("groups") {
        for rule in group["rules"].as_sequence().expect("rules") {
            let name = rule["alert"]
                .as_str()
                .or(rule["record"].as_str())
                .expect("a rule is an alert or a recording");
            exprs.push((
                name.to_owned(),
                rule["expr"].as_str().expect("expr").to_owned(),
            ));
        }
    }
    exprs
}

/// Every panel, rows' panels included.
fn panels(list: &serde_json::Value) -> Vec<&serde_json::Value> {
    let mut all = Vec::new();
    for panel in list.as_array().into_iter().flatten() {
        all.push(panel);
        all.extend(panels(&panel["panels"]));
    }
    all
}

/// Every query of the dashboard: the panels' targets, and the PromQL inside its template
/// variables (`label_values(<selector>, label)` gives its selector, `query_result(<expr>)`
/// its expression), each with where it came from.
fn dashboard_queries() -> Vec<(String, String)> {
    let dashboard: serde_json::Value =
        serde_json::from_str(&read("grafana-dashboard.json")).unwrap();
    let mut queries = Vec::new();
    for panel in panels(&dashboard["panels"]) {
        let title = panel["title"].as_str().unwrap_or("a panel");
        for target in panel["targets"].as_array().into_iter().flatten() {
            if let Some(expr) = target["expr"].as_str() {
                queries.push((title.to_owned(), expr.to_owned()));
            }
        }
    }
    for variable in dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let name = variable["name"].as_str().unwrap_or("a variable");
        let query = variable["query"]["query"]
            .as_str()
            .or(variable["query"].as_str());
        if variable["type"] != "query" {
            continue;
        }
        let query = query.unwrap_or_else(|| panic!("variable {name}: no query"));
        let promql = if let Some(args) = query
            .strip_prefix("label_values(")
            .and_then(|q| q.strip_suffix(')'))
        {
            // `label_values(label)` alone has no PromQL; `label_values(sel, label)` has `sel`.
            match args.rsplit_once(',') {
                Some((selector, _label)) => selector.trim().to_owned(),
                None => continue,
            }
        } else if let Some(expr) = query
            .strip_prefix("query_result(")
            .and_then(|q| q.strip_suffix(')'))
        {
            expr.to_owned()
        } else {
            panic!("variable {name}: `{query}` is neither label_values nor query_result");
        };
        queries.push((format!("variable {name}"), promql));
    }
    queries
}

#[test]
fn every_alert_rule_expression_parses() {
    let exprs = rule_exprs();
    assert!(exprs.len() >= 10, "{exprs:?}");
    for (name, expr) in &exprs {
        parse(name, expr);
    }
}

#[test]
fn every_dashboard_query_parses_with_its_variables_substituted() {
    let queries = dashboard_queries();
    assert!(queries.len() >= 30, "{}", queries.len());
    assert!(queries
        .iter()
        .any(|(origin, _)| origin.starts_with("variable ")));
    for (origin, query) in &queries {
        parse(origin, &substitute(query));
    }
}

#[test]
fn the_dashboard_windows_follow_the_rate_interval() {
    for (origin, query) in dashboard_queries() {
        let mut rest = query.as_str();
        while let Some(open) = rest.find('[') {
            let close = rest[open..].find(']').expect("range closed") + open;
            assert_eq!(
                &rest[open..=close],
                "[$__rate_interval]",
                "{origin}: a fixed window in `{query}`"
            );
            rest = &rest[close..];
        }
    }
}

#[test]
fn each_dashboard_panel_has_one_unit() {
    let dashboard: serde_json::Value =
        serde_json::from_str(&read("grafana-dashboard.json")).unwrap();
    for panel in panels(&dashboard["panels"]) {
        if panel["type"] == "row" {
            continue;
        }
        let title = panel["title"].as_str().unwrap_or("a panel");
        let field = &panel["fieldConfig"];
        assert!(field["defaults"]["unit"].is_string(), "{title}: no unit");
        for overridden in field["overrides"].as_array().into_iter().flatten() {
            for property in overridden["properties"].as_array().into_iter().flatten() {
                assert_ne!(property["id"], "unit", "{title}: a second unit");
            }
        }
    }
}

#[test]
fn the_checks_catch_broken_queries() {
    assert_eq!(
        substitute(r#"rate(x{instance=~"$instance", job=~"${job}"}[$__rate_interval])"#),
        r#"rate(x{instance=~".*", job=~".*"}[1m])"#
    );
    let broken = std::panic::catch_unwind(|| parse("t", "sum by (a (rate(x[5m]))"));
    assert!(broken.is_err());
    let misplaced = std::panic::catch_unwind(|| parse("t", &substitute("rate(x[$window])")));
    assert!(misplaced.is_err(), "an unknown variable in a range");
}

/// `promtool`: `$PROMTOOL`, or the one on `PATH`.
fn promtool() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PROMTOOL") {
        return Some(PathBuf::from(path));
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("promtool"))
            .find(|candidate| candidate.is_file())
    })
}

#[test]
#[ignore = "needs promtool (PROMTOOL=/path/to/promtool, or on PATH); .ci/run installs it and runs this"]
fn the_alert_rules_pass_their_promtool_unit_tests() {
    let promtool =
        promtool().expect("no promtool: set PROMTOOL or put it on PATH (.ci/run installs it)");
    for args in [
        vec!["check", "rules", "alert-rules.yml"],
        vec!["test", "rules", "alert-rules.test.yml"],
    ] {
        let output = std::process::Command::new(&promtool)
            .args(&args)
            .current_dir(config(""))
            .output()
            .unwrap_or_else(|e| panic!("{}: {e}", promtool.display()));
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(output.status.success(), "promtool {args:?} failed:\n{text}");
        println!("promtool {args:?}:\n{text}");
    }
}
