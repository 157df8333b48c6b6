//! Writes the benchmark corpus to a directory: `cargo run --release --example gen_corpus -- DIR N`
//! (N defaults to 10,000). Used by `bench/run.sh`; the generator is shared with
//! `benches/compile.rs`.

#[path = "../benches/support/corpus.rs"]
mod corpus;

use std::path::PathBuf;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next().map(PathBuf::from) else {
        eprintln!("usage: gen_corpus DIR [N] [SEED]");
        std::process::exit(2);
    };
    let n: usize = args
        .next()
        .map_or(10_000, |s| s.parse().expect("N: a number"));
    let seed: u64 = args
        .next()
        .map_or(corpus::SEED, |s| s.parse().expect("SEED: a number"));
    let mut bytes = 0;
    for r in corpus::generate(n, seed) {
        let path = dir.join(&r.file);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("create the directory");
        std::fs::write(&path, &r.text).expect("write a rule file");
        bytes += r.text.len();
    }
    println!("{n} rules, {bytes} bytes, in {}", dir.display());
}
