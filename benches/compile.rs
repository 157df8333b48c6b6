//! Compile throughput, in process, on one core: a generated corpus of varied rules
//! (`benches/support/corpus.rs`, 10,000 by default; `RULEQC_BENCH_RULES=n` for another size),
//! loaded and checked, then compiled for every SQL dialect (and KQL / SPL when those backends
//! are available). Criterion reports rules/s (`Throughput::Elements`). The `stages` group times
//! each step of loading on its own, to show where the time goes. See BENCHMARKS.md.
//!
//! `cargo bench --bench compile`; a group alone: `cargo bench --bench compile -- stages`.

#[path = "support/corpus.rs"]
mod corpus;

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, BenchmarkId, Criterion, SamplingMode, Throughput};
use ruleqc::backend::sql::{SqlDialect, render_query};
use ruleqc::diag::Diagnostic;
use ruleqc::rule::{Rule, load_str};

fn corpus_size() -> usize {
    std::env::var("RULEQC_BENCH_RULES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000)
}

/// Settings for benchmarks whose one iteration is the whole corpus (0.1 s to a few seconds):
/// ten equal samples, so a run stays within a few minutes on a small machine.
fn configure(g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>, n: usize) {
    g.throughput(Throughput::Elements(n as u64))
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
}

/// A backend still being written answers every rule with "not available yet"; skip it then.
fn available(name: &str, rules: &[Rule], f: &dyn Fn(&Rule) -> Result<String, Diagnostic>) -> bool {
    let errors: Vec<Diagnostic> = rules.iter().filter_map(|r| f(r).err()).collect();
    if errors.len() == rules.len() && errors.iter().all(|d| d.message.contains("not available")) {
        eprintln!("{name}: not available (every rule: {})", errors[0].message);
        return false;
    }
    if !errors.is_empty() {
        eprintln!(
            "{name}: {} of {} rules do not compile (first: {})",
            errors.len(),
            rules.len(),
            errors[0].message
        );
    }
    true
}

fn benches(c: &mut Criterion) {
    let n = corpus_size();
    let files: Vec<(String, String)> = corpus::generate(n, corpus::SEED)
        .into_iter()
        .map(|r| (r.file, r.text))
        .collect();
    let bytes: usize = files.iter().map(|(_, t)| t.len()).sum();
    eprintln!("corpus: {n} rules, {bytes} bytes");
    let rules: Vec<Rule> = files
        .iter()
        .map(|(p, t)| match load_str(p, t.clone()).result {
            Ok(r) => *r,
            Err(e) => panic!("{p}: {e:?}"),
        })
        .collect();

    // Load and check: YAML, the rule's keys, condition parse, lower, normalise.
    let mut g = c.benchmark_group("check");
    configure(&mut g, n);
    g.bench_function("load_str", |b| {
        b.iter_batched(
            || files.clone(),
            |files| {
                files
                    .into_iter()
                    .map(|(p, t)| load_str(&p, t))
                    .collect::<Vec<_>>()
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();

    // Compile a loaded rule: the query text for each target.
    let mut g = c.benchmark_group("compile");
    configure(&mut g, n);
    for d in SqlDialect::ALL {
        g.bench_function(BenchmarkId::new("sql", d.name()), |b| {
            b.iter(|| {
                for r in &rules {
                    black_box(render_query(r, d.dialect(), &|_| None).expect("compiles"));
                }
            })
        });
    }
    let kql = |r: &Rule| ruleqc::backend::kql::render_query(r, &|_| None);
    if available("kql", &rules, &kql) {
        g.bench_function("kql", |b| {
            b.iter(|| {
                for r in &rules {
                    let _ = black_box(kql(r));
                }
            })
        });
    }
    let spl = |r: &Rule| ruleqc::backend::spl::render_query(r);
    if available("spl", &rules, &spl) {
        g.bench_function("spl", |b| {
            b.iter(|| {
                for r in &rules {
                    let _ = black_box(spl(r));
                }
            })
        });
    }
    g.finish();

    // Where loading spends its time, stage by stage.
    let conditions: Vec<&str> = rules.iter().map(|r| r.condition.text.as_str()).collect();
    let mut g = c.benchmark_group("stages");
    configure(&mut g, n);
    g.bench_function("yaml", |b| {
        b.iter(|| {
            for (_, t) in &files {
                black_box(ruleqc::rule::yaml::parse(t).expect("yaml"));
            }
        })
    });
    g.bench_function("condition_parse", |b| {
        b.iter(|| {
            for c in &conditions {
                black_box(ruleqc::syntax::parse(c).expect("parses"));
            }
        })
    });
    // A loaded rule keeps no syntax tree: parse them once, outside the timed loop.
    let asts: Vec<_> = rules.iter().map(|r| r.condition.ast()).collect();
    g.bench_function("lower", |b| {
        b.iter(|| {
            for ast in &asts {
                black_box(ruleqc::ir::lower::lower_condition(ast).expect("lowers"));
            }
        })
    });
    let lowered: Vec<_> = asts
        .iter()
        .map(|ast| ruleqc::ir::lower::lower_condition(ast).expect("lowers"))
        .collect();
    g.bench_function("normalize", |b| {
        b.iter_batched(
            || lowered.clone(),
            |nodes| {
                nodes
                    .into_iter()
                    .map(ruleqc::ir::normalize::normalize)
                    .collect::<Vec<_>>()
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion::criterion_group!(compile, benches);
criterion::criterion_main!(compile);
