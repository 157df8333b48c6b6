#!/usr/bin/env bash
# The SigmaHQ corpus through ruleqc: every rule of rules/ compiled to each of the nine targets
# with the built-in profiles (failures counted by error code), and every regression sample run
# on the reference evaluator and SQLite. Exits non-zero when a sample fails or a target
# compiles fewer than MIN_PERCENT (default 99) of the rules.
#
#   bench/sigma-corpus.sh [SIGMA_DIR]      # default: $RULEQC_SIGMA or ../shared/sigma
#   RULEQC=target/debug/ruleqc bench/sigma-corpus.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SIGMA="${1:-${RULEQC_SIGMA:-../shared/sigma}}"
RULEQC="${RULEQC:-target/release/ruleqc}"
MIN_PERCENT="${MIN_PERCENT:-99}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

total=$(find "$SIGMA/rules" -name '*.yml' | wc -l)
echo "SigmaHQ rules/: $total rules"
status=0
for target in "splunk" "kql" "sql duckdb" "sql sqlite" "sql postgres" "sql snowflake" \
    "sql bigquery" "sql databricks" "sql clickhouse"; do
    set -- $target
    args=(--target "$1")
    [ $# -gt 1 ] && args+=(--dialect "$2")
    "$RULEQC" --quiet --output-format short compile "${args[@]}" --format json "$SIGMA/rules" \
        >"$tmp/out.json" 2>"$tmp/err.txt" || true
    ok=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$tmp/out.json" 2>/dev/null || echo 0)
    reasons=$( (grep -oE '^[^ ]+: error\[E[0-9]+\]' "$tmp/err.txt" || true) | sed -E 's/.*\[(E[0-9]+)\]/\1/' | sort | uniq -c | awk '{printf "%s %s, ", $2, $1}' | sed 's/, $//')
    pct=$(python3 -c "print(f'{100*$ok/$total:.2f}')")
    printf '%-16s %5d / %d compiled (%s%%)%s\n' "$target" "$ok" "$total" "$pct" "${reasons:+; failures by code: $reasons}"
    if python3 -c "import sys; sys.exit(0 if 100*$ok/$total >= $MIN_PERCENT else 1)"; then :; else status=1; fi
done

# Regression samples: each event must fire on the reference evaluator and on SQLite.
if "$RULEQC" test "$SIGMA/rules" "$SIGMA/regression_data" --engine sqlite >"$tmp/test.txt" 2>/dev/null; then
    echo "regression samples: $(tail -1 "$tmp/test.txt") (reference evaluator and SQLite)"
else
    grep -E '^(FAIL|COMPILER BUG)' "$tmp/test.txt" || true
    echo "regression samples: $(tail -1 "$tmp/test.txt")"
    status=1
fi
exit $status
