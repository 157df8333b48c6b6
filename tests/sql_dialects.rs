//! Every rule in rules/ and tests/conformance/ compiles for every SQL dialect, and every
//! emitted query parses with `sqlparser` under the matching dialect — with the column types
//! inferred from the rule (what `ruleqc compile` does) and with the schema of the rule's own
//! test events (what `ruleqc test` runs). The queries for rules/ are snapshots: the DuckDB
//! query in full, every other dialect as a diff against it.

use ruleqc::backend::schema::TableSchema;
use ruleqc::backend::sql::{SqlDialect, default_table_name, render_condition, render_query};
use ruleqc::rule::{Rule, load_paths};
use sqlparser::dialect::{
    BigQueryDialect, ClickHouseDialect, DatabricksDialect, Dialect, DuckDbDialect,
    PostgreSqlDialect, SQLiteDialect, SnowflakeDialect,
};
use sqlparser::parser::Parser;

fn parser_dialect(d: SqlDialect) -> Box<dyn Dialect> {
    match d {
        SqlDialect::Duckdb => Box::new(DuckDbDialect {}),
        SqlDialect::Sqlite => Box::new(SQLiteDialect {}),
        SqlDialect::Postgres => Box::new(PostgreSqlDialect {}),
        SqlDialect::Snowflake => Box::new(SnowflakeDialect {}),
        SqlDialect::Bigquery => Box::new(BigQueryDialect {}),
        SqlDialect::Databricks => Box::new(DatabricksDialect {}),
        SqlDialect::Clickhouse => Box::new(ClickHouseDialect {}),
    }
}

fn rules(dir: &str) -> Vec<Rule> {
    load_paths(&[dir.into()])
        .expect(dir)
        .into_iter()
        .map(|l| {
            *l.result
                .unwrap_or_else(|e| panic!("{}: {e:?}", l.file.path))
        })
        .collect()
}

fn assert_parses(d: SqlDialect, rule: &Rule, sql: &str) {
    if let Err(e) = Parser::parse_sql(&*parser_dialect(d), sql) {
        panic!(
            "{} for {}: sqlparser rejects the query: {e}\n{sql}",
            rule.rule_id,
            d.name()
        );
    }
}

/// Compiles and parses every rule for every dialect; returns how many queries parsed and
/// which (rule, dialect) pairs the dialect cannot express (a typed error, never bad SQL).
fn check_corpus(dir: &str) -> (usize, Vec<String>) {
    let mut n = 0;
    let mut unsupported = Vec::new();
    for rule in rules(dir) {
        let events: Vec<serde_json::Value> = rule.tests.iter().map(|t| t.log.clone()).collect();
        let schema = TableSchema::from_events(&events);
        for d in SqlDialect::ALL {
            let q = match render_query(&rule, d.dialect(), &|_| None) {
                Ok(q) => q,
                Err(e) => {
                    assert_eq!(e.code, "E0401", "{e:?}");
                    unsupported.push(format!("{} {}: {}", rule.rule_id, d.name(), e.message));
                    continue;
                }
            };
            assert_parses(d, &rule, &q);
            let table = d
                .dialect()
                .quote_ident(&default_table_name(&rule.log_types[0]));
            // The events' schema can type columns differently from the rule's (JSON where the
            // rule implies text), so the dialect may reject this one alone; never with bad SQL.
            let cond = match render_condition(&rule.condition.ir, d.dialect(), &schema, &table) {
                Ok(c) => c,
                Err(e) => {
                    unsupported.push(format!(
                        "{} {} (events' schema): {}",
                        rule.rule_id,
                        d.name(),
                        e.reason
                    ));
                    continue;
                }
            };
            assert_parses(
                d,
                &rule,
                &format!("SELECT __ruleqc_row FROM {table} WHERE {cond}"),
            );
            n += 2;
        }
    }
    (n, unsupported)
}

#[test]
fn rules_parse_in_every_dialect() {
    let (n, unsupported) = check_corpus("rules");
    assert_eq!(unsupported, Vec::<String>::new());
    assert!(n >= 49 * 14);
}

#[test]
fn conformance_corpus_parses_in_every_dialect() {
    let (n, mut unsupported) = check_corpus("tests/conformance");
    // SPEC §3.7 `field()` compares two numbers exactly only when both were written as
    // integers, which BigQuery cannot tell for a JSON value: each rule comparing a JSON
    // number with `field()` is a typed E0401 there, and only there.
    let before = unsupported.len();
    unsupported.retain(|u| {
        let field = u.starts_with("Conformance.Field.")
            && u.contains(" bigquery")
            && u.contains(
                "BigQuery cannot tell a JSON integer from a number written with a fraction",
            );
        !field
    });
    assert_eq!(before - unsupported.len(), 20);
    // So is an integer literal of 2^53 or more against a JSON value (SPEC §3.4: an integer
    // value meets it exactly, a double as a double), on BigQuery only.
    let mut wide: Vec<&str> = unsupported
        .iter()
        .filter(|u| {
            u.contains(" bigquery")
                && u.contains("BigQuery cannot tell a JSON integer from a number written")
        })
        .map(|u| u.split(' ').next().unwrap())
        .collect();
    wide.dedup();
    assert_eq!(
        wide,
        [
            "Conformance.Number.Near2p53IntegerLiteral",
            "Conformance.Number.Near2p53Nested",
            "Conformance.Number.Near2p63",
        ]
    );
    unsupported.retain(|u| !u.contains("BigQuery cannot tell a JSON integer"));
    // The documented limits (README, per dialect), and nothing else.
    assert_eq!(
        unsupported,
        [
            "Conformance.Path.BacktickBacktick bigquery: bigquery cannot name a column `a`b`",
            "Conformance.Path.BacktickNonAscii databricks: Databricks JSON paths cannot name the key `a'b\"c`",
        ]
    );
    assert!(n >= 100 * 14);
}

#[test]
fn rule_queries_as_reviewed() {
    for rule in rules("rules") {
        let base = render_query(&rule, SqlDialect::Duckdb.dialect(), &|_| None).unwrap();
        let mut snap = format!("-- duckdb\n{base}\n");
        for d in &SqlDialect::ALL[1..] {
            let q = render_query(&rule, d.dialect(), &|_| None).unwrap();
            let (old, new) = (format!("{base}\n"), format!("{q}\n"));
            let diff = similar::TextDiff::from_lines(&old, &new)
                .unified_diff()
                .context_radius(0)
                .header("duckdb", d.name())
                .to_string();
            snap.push_str(&format!("\n-- {} (diff against duckdb)\n{diff}", d.name()));
        }
        insta::with_settings!({
            snapshot_path => "../snapshots/sql",
            prepend_module_to_snapshot => false,
            description => rule.condition.text.as_str(),
            omit_expression => true,
        }, {
            insta::assert_snapshot!(rule.rule_id.clone(), snap);
        });
    }
}
