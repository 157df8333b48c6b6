#!/usr/bin/env bash
# ruleqc against pySigma on the SigmaHQ corpus (BENCHMARKS.md "Sigma"): installs pySigma,
# sigma-cli and its splunk, sqlite and kusto backends in a virtual environment under target/,
# then measures
#   1. per target, how many of rules/ compile: ruleqc's nine targets (bench/sigma-corpus.sh,
#      which also runs every regression sample on the reference evaluator and SQLite) and
#      pySigma's splunk, sqlite and kusto backends;
#   2. pySigma's SQLite queries and ruleqc on the regression samples and on near-miss events
#      (one value the rule names altered), every difference listed;
#   3. whole-process time for rules/: `ruleqc compile --target splunk` against
#      `sigma convert -t splunk --without-pipeline --skip-unsupported`.
#
#   bench/sigma.sh [SIGMA_DIR]            # default: $RULEQC_SIGMA or ../shared/sigma
set -euo pipefail
cd "$(dirname "$0")/.."
SIGMA="${1:-${RULEQC_SIGMA:-../shared/sigma}}"
VENV=target/sigma-venv
if [ ! -x "$VENV/bin/sigma" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check \
        pysigma==1.5.1 sigma-cli==3.1.0 pysigma-backend-splunk==2.1.0 \
        pysigma-backend-sqlite==2.0.0 pysigma-backend-kusto==1.0.1
fi
cargo build --release --locked --quiet
RULEQC=target/release/ruleqc

echo "== 1. rules of rules/ compiled, per target"
RULEQC=$RULEQC bench/sigma-corpus.sh "$SIGMA" || true
"$VENV/bin/python" bench/sigma_pysigma.py counts "$SIGMA"

echo "== 2. regression samples and near misses: ruleqc against pySigma's SQLite queries"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$VENV/bin/python" bench/sigma_pysigma.py samples "$SIGMA" "$RULEQC" "$work/cases"

echo "== 3. whole-process time, rules/ to Splunk"
t() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s.%N); python3 -c "print(f'{$e-$s:.2f}')"; }
for i in 1 2 3; do
    r=$(t "$RULEQC" compile --target splunk "$SIGMA/rules")
    # Without --skip-unsupported, one unsupported rule aborts the whole batch with no output.
    p=$(t "$VENV/bin/sigma" convert -t splunk --without-pipeline --skip-unsupported "$SIGMA/rules")
    echo "run $i: ruleqc ${r}s, sigma convert ${p}s, ratio $(python3 -c "print(f'{$p/$r:.1f}')")x"
done
