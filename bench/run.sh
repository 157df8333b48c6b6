#!/usr/bin/env bash
# Whole-process benchmarks for ruleqc, measured in one run and reported as ratios against
# baselines timed in the same run (BENCHMARKS.md says what each figure means).
#
#   bash bench/run.sh                 # the issue's sizes (about 20 minutes on 2 cores)
#   QUICK=1 bash bench/run.sh         # small sizes, a smoke run (about 1 minute)
#   SECTIONS=startup,test bash bench/run.sh
#
# Sections: corpus (check/compile throughput on a generated corpus), startup (one rule),
# test (`ruleqc test rules/`), query (each compiled DuckDB query vs `SELECT count(*)`),
# run (`ruleqc run` over a JSON Lines file vs DuckDB's own scan of it).
#
# Sizes (environment): RULES (10000) rules in the corpus; EVENTS (10000000) rows per log-type
# table; POOL (50000) distinct events per log type, repeated up to EVENTS; JSONL_BYTES
# (1000000000) size of the JSON Lines file; REPS (3) runs per timed command, the median is
# reported; QUERY_REPS (3) runs per query; RUN_REPS (1) runs of each `ruleqc run` command;
# STARTUP_RUNS (300) and TEST_RUNS (10) hyperfine runs. Needs: cargo, duckdb (pip install duckdb-cli==1.5.6),
# python3, GNU time (/usr/bin/time, apt-get install time), hyperfine (apt-get install
# hyperfine; a plain loop is used without it). Temporary files go to TMPDIR and are removed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

if [[ ${QUICK:-0} == 1 ]]; then
    : "${RULES:=1000}" "${EVENTS:=200000}" "${POOL:=20000}" "${JSONL_BYTES:=30000000}"
    : "${REPS:=1}" "${QUERY_REPS:=1}" "${RUN_REPS:=1}" "${STARTUP_RUNS:=30}" "${TEST_RUNS:=3}"
fi
RULES=${RULES:-10000}
EVENTS=${EVENTS:-10000000}
POOL=${POOL:-50000}
JSONL_BYTES=${JSONL_BYTES:-1000000000}
REPS=${REPS:-3}
QUERY_REPS=${QUERY_REPS:-3}
RUN_REPS=${RUN_REPS:-1}
STARTUP_RUNS=${STARTUP_RUNS:-300}
TEST_RUNS=${TEST_RUNS:-10}
SECTIONS=${SECTIONS:-corpus,startup,test,query,run}
((POOL > EVENTS)) && POOL=$EVENTS

want() { [[ ",$SECTIONS," == *",$1,"* ]]; }
say() { printf '%s\n' "$*"; }
hr() { say ""; say "== $*"; }

for tool in cargo python3 duckdb; do
    command -v "$tool" >/dev/null || { say "bench/run.sh: $tool is not installed" >&2; exit 2; }
done
[[ -x /usr/bin/time ]] || { say "bench/run.sh: GNU time is missing: apt-get install time" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ruleqc-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

START=$EPOCHREALTIME
say "ruleqc benchmarks: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -sr)"
say "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(free -g | awk '/Mem:/{print $2}') GB RAM"
say "duckdb $(duckdb --version | cut -d' ' -f1), $(rustc --version)"
say "sizes: RULES=$RULES EVENTS=$EVENTS POOL=$POOL JSONL_BYTES=$JSONL_BYTES REPS=$REPS QUERY_REPS=$QUERY_REPS RUN_REPS=$RUN_REPS"

cargo build --release --quiet
cargo build --release --quiet --example gen_corpus
BIN=$ROOT/target/release/ruleqc
GEN=$ROOT/target/release/examples/gen_corpus

# now_s: seconds since the epoch, microseconds.
now_s() { printf '%s' "$EPOCHREALTIME"; }
# median of the arguments
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
calc() { awk "BEGIN {print $*}"; }

# timed NAME CMD...: runs CMD REPS times (stdout to /dev/null, stderr to $WORK/NAME.err) and
# sets T (median wall s), RSS (max peak RSS, MB), CPU (median user+sys s), RC (last status).
timed() {
    local name=$1
    shift
    local walls=() cpus=() rss=0 i t0 t1 line
    for ((i = 0; i < REPS; i++)); do
        t0=$(now_s)
        set +e
        /usr/bin/time -f '%M %U %S' -o "$WORK/$name.time" "$@" >/dev/null 2>"$WORK/$name.err"
        RC=$?
        set -e
        t1=$(now_s)
        walls+=("$(calc "$t1 - $t0")")
        line=$(tail -n 1 "$WORK/$name.time") # after "Command exited with non-zero status"
        local m u s
        read -r m u s <<<"$line"
        ((m > rss)) && rss=$m
        cpus+=("$(calc "$u + $s")")
    done
    T=$(median "${walls[@]}")
    CPU=$(median "${cpus[@]}")
    RSS=$(calc "$rss / 1024")
}

# ---------------------------------------------------------------------------------------------
if want corpus; then
    hr "1. compile throughput: $RULES generated rules, whole process, one core"
    "$GEN" "$WORK/corpus" "$RULES" >/dev/null
    say "corpus: $RULES rules, $(du -sb "$WORK/corpus" | cut -f1) bytes on disk"
    printf '%-24s %9s %9s %11s %9s  %s\n' command wall_s cpu_s rules/s peak_MB note
    timed check "$BIN" check "$WORK/corpus"
    CHECK_T=$T
    printf '%-24s %9.3f %9.3f %11.0f %9.1f  %s\n' "check" "$T" "$CPU" "$(calc "$RULES / $T")" "$RSS" "exit $RC"
    for target in sql:duckdb sql:sqlite sql:postgres sql:snowflake sql:bigquery sql:databricks sql:clickhouse kql splunk; do
        args=(--target "${target%%:*}")
        [[ $target == sql:* ]] && args+=(--dialect "${target#sql:}")
        timed "compile-${target/:/-}" "$BIN" --error-format short compile "${args[@]}" "$WORK/corpus"
        errs=$(grep -c 'error\[' "$WORK/compile-${target/:/-}.err" || true)
        note="exit $RC"
        if ((RC == 2)) || grep -q 'not available' "$WORK/compile-${target/:/-}.err"; then
            note="not available: $(grep -m1 'error' "$WORK/compile-${target/:/-}.err" | cut -c1-80)"
        elif ((errs > 0)); then
            note="exit $RC, $errs rules not expressible (E0401)"
        fi
        printf '%-24s %9.3f %9.3f %11.0f %9.1f  %s\n' "compile $target" "$T" "$CPU" "$(calc "$RULES / $T")" "$RSS" "$note"
        printf '%-24s %9.3f %9s %11.0f %9s  %s\n' "  (compile - check)" "$(calc "$T - $CHECK_T")" "" "$(calc "$RULES / ($T - $CHECK_T)")" "" "render + print only"
    done
    say "target: >= 50000 rules/s per target on one core"
fi

# ---------------------------------------------------------------------------------------------
ONE=rules/teleport/suspicious_commands.yml
if want startup; then
    hr "2. start-up: one rule, whole process ($STARTUP_RUNS runs each; baseline: \`true\`)"
    if command -v hyperfine >/dev/null; then
        hyperfine -N --warmup 20 --runs "$STARTUP_RUNS" --export-json "$WORK/startup.json" \
            "$BIN compile --target sql $ONE" "$BIN check $ONE" "$BIN explain $ONE --stage query" true \
            >/dev/null 2>&1
        python3 - "$WORK/startup.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
base = r[-1]["mean"]
for x in r:
    print(f"{x['command'][-60:]:<62} mean {x['mean']*1e3:7.2f} ms  +-{x['stddev']*1e3:5.2f}  "
          f"min {x['min']*1e3:6.2f} ms  {x['mean']/base:6.1f}x true")
print("target: one-rule compile < 10 ms")
PY
    else
        say "(hyperfine is not installed: a plain loop, mean of $STARTUP_RUNS runs)"
        for cmd in "$BIN compile --target sql $ONE" "true"; do
            t0=$(now_s)
            for ((i = 0; i < STARTUP_RUNS; i++)); do $cmd >/dev/null; done
            t1=$(now_s)
            printf '%-62s mean %7.2f ms\n' "$cmd" "$(calc "($t1 - $t0) * 1000 / $STARTUP_RUNS")"
        done
    fi
fi

# ---------------------------------------------------------------------------------------------
if want test; then
    hr "3. ruleqc test rules/ ($(find rules -name '*.yml' | wc -l) rules, $TEST_RUNS runs each)"
    if command -v hyperfine >/dev/null; then
        hyperfine -N -i --warmup 2 --runs "$TEST_RUNS" --export-json "$WORK/test.json" \
            "$BIN test rules/" "$BIN test --engine none rules/" >/dev/null 2>&1
        # DuckDB runs as a separate process: slower, so fewer runs.
        hyperfine -N -i --runs 2 --export-json "$WORK/test-duckdb.json" \
            "$BIN test --engine duckdb rules/" >/dev/null 2>&1
        python3 - "$WORK/test.json" "$WORK/test-duckdb.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"] + json.load(open(sys.argv[2]))["results"]
none = r[1]["mean"]
for x in r:
    print(f"{x['command'][-48:]:<50} mean {x['mean']*1e3:8.1f} ms  +-{x['stddev']*1e3:6.1f}  "
          f"{x['mean']/none:5.1f}x --engine none")
print("target: ruleqc test rules/ < 1 s")
PY
    else
        for args in "" "--engine none" "--engine duckdb"; do
            t0=$(now_s)
            for ((i = 0; i < TEST_RUNS; i++)); do "$BIN" test $args rules/ >/dev/null || true; done
            t1=$(now_s)
            printf '%-50s mean %8.1f ms\n' "ruleqc test $args rules/" "$(calc "($t1 - $t0) * 1000 / $TEST_RUNS")"
        done
    fi
fi

# ---------------------------------------------------------------------------------------------
# Events: a pool of POOL distinct events per log type of rules/ (bench/tables.sql), in $DB.
DB=$WORK/events.duckdb
declare -A LOG_TYPE=(
    [aws_cloudtrail]=AWS.CloudTrail [amazon_eks_audit]=Amazon.EKS.Audit [gcp_auditlog]=GCP.AuditLog
    [github_audit]=GitHub.Audit [linux_processexecution]=Linux.ProcessExecution
    [okta_systemlog]=Okta.SystemLog [onepassword_signinattempt]=OnePassword.SignInAttempt
    [onepassword_itemusage]=OnePassword.ItemUsage [slack_auditlogs]=Slack.AuditLogs
    [gravitational_teleportaudit]=Gravitational.TeleportAudit [zoom_operation]=Zoom.Operation)
TABLES=(aws_cloudtrail amazon_eks_audit gcp_auditlog github_audit linux_processexecution
    okta_systemlog onepassword_signinattempt onepassword_itemusage slack_auditlogs
    gravitational_teleportaudit zoom_operation)
make_pools() {
    [[ -f $DB ]] && return
    local t0
    t0=$(now_s)
    sed "s/@POOL@/$POOL/g" bench/tables.sql | duckdb "$DB" >/dev/null
    say "event pools: ${#TABLES[@]} log types x $POOL distinct events, generated in $(calc "$(now_s) - $t0") s"
}
# "SELECT ... FROM pool_T" repeated up to N rows.
repeat_pool() { echo "SELECT p.* FROM range($((($2 + POOL - 1) / POOL))) r(k), pool_$1 p LIMIT $2"; }

if want query; then
    hr "4a. query cost: each rule's compiled DuckDB query vs SELECT count(*) over its table"
    make_pools
    t0=$(now_s)
    for t in "${TABLES[@]}"; do echo "CREATE TABLE $t AS $(repeat_pool "$t" "$EVENTS");"; done |
        duckdb "$DB" >/dev/null
    say "event tables: ${#TABLES[@]} x $EVENTS rows, $(du -sb "$DB" | cut -f1) bytes in all, written in $(calc "$(now_s) - $t0") s"
    "$BIN" compile --target sql --dialect duckdb --format json rules/ >"$WORK/queries.json"
    python3 - "$DB" "$WORK/queries.json" "$QUERY_REPS" <<'PY'
import json, re, statistics, subprocess, sys

db, queries, reps = sys.argv[1], json.load(open(sys.argv[2])), int(sys.argv[3])

def duck(script):
    p = subprocess.run(["duckdb", "-readonly", db], input=script, capture_output=True, text=True)
    if p.returncode != 0 or "Error" in p.stderr:
        sys.exit(f"duckdb failed: {p.stderr[:2000]}")
    return p.stdout

cols = {}
for line in duck(".mode csv\n.headers off\nSELECT table_name, column_name FROM duckdb_columns() WHERE NOT internal;\n").splitlines():
    t, c = line.split(",", 1)
    cols.setdefault(t, []).append(c.strip('"'))

def referenced(table, where):
    # The table's columns that the WHERE clause reads (quoted or bare identifiers, outside
    # string literals, with or without the table's name in front).
    where = re.sub(r"'(?:[^']|'')*'", "''", where)
    where = where.replace(f'"{table}".', "").replace(f"{table}.", "")
    out = []
    for c in cols[table]:
        bare = re.escape(c)
        if re.search(r'"%s"' % bare, where) or re.search(r'(?<![\w".$@-])%s(?![\w"$@-])' % bare, where):
            out.append(c)
    return out

jobs = []
for q in queries:
    m = re.search(r'\nFROM (\S+)\nWHERE ', q["query"])
    table = m.group(1).strip('"')
    if table not in cols:
        continue
    where = q["query"][m.end():]
    used = referenced(table, where) or cols[table][:1]
    colscan = "SELECT " + ", ".join(f'min("{c}")' for c in used) + f' FROM "{table}"'
    jobs.append((q["rule_id"], table, q["query"], colscan, len(used)))

script = ".timer on\n.mode trash\n"
for t in sorted({j[1] for j in jobs}):     # warm the buffer pool: every column once
    script += "SELECT " + ", ".join(f'min("{c}")' for c in cols[t]) + f' FROM "{t}";\n'
for rule, table, query, colscan, _ in jobs:
    for _ in range(reps):
        script += f'SELECT count(*) FROM "{table}";\n' * 5 + f"{colscan};\n{query};\n"
times = [float(x) for x in re.findall(r"Run Time \(s\): real ([0-9.]+)", duck(script))]
times = times[len({j[1] for j in jobs}):]
counts = duck(".mode csv\n.headers off\n" + "".join(
    f"SELECT count(*) FROM ({j[2]});\n" for j in jobs)).split()

rows, k = [], 0
for (rule, table, _, _, ncols), n in zip(jobs, counts):
    c, s, q = [], [], []
    for _ in range(reps):
        # count(*) is a few milliseconds and the timer has millisecond steps: mean of five
        c.append(statistics.mean(times[k:k + 5])); s.append(times[k + 5]); q.append(times[k + 6])
        k += 7
    c, s, q = (statistics.median(x) for x in (c, s, q))
    rows.append((rule, table, int(n), c, s, q, q / max(c, 2e-4), q / max(s, 1e-3), ncols))

print(f"{'rule':<48} {'matches':>8} {'count(*)':>9} {'colscan':>8} {'query':>8} {'q/count':>8} {'q/colscan':>9}")
for r in rows:
    print(f"{r[0]:<48} {r[2]:>8} {r[3]*1e3:7.1f}ms {r[4]:7.3f}s {r[5]:7.3f}s {r[6]:7.0f}x {r[7]:8.2f}x")
qc = [r[6] for r in rows]; qs = [r[7] for r in rows]
print(f"{len(rows)} queries; q/count(*): median {statistics.median(qc):.0f}x, max {max(qc):.0f}x; "
      f"q/colscan: median {statistics.median(qs):.2f}x, max {max(qs):.2f}x "
      f"({max(rows, key=lambda r: r[7])[0]}); within 1.2x of count(*): {sum(x <= 1.2 for x in qc)}, "
      f"of colscan: {sum(x <= 1.2 for x in qs)}")
print("target: every compiled query within 1.2x of the bare scan")
PY
fi

# ---------------------------------------------------------------------------------------------
if want run; then
    hr "4b. ruleqc run over a JSON Lines file with all of rules/"
    if ! "$BIN" run --help >/dev/null 2>&1; then
        say "ruleqc run is not available in this build: skipped"
    else
        make_pools
        JSONL=$WORK/events.jsonl
        t0=$(now_s)
        # Rows per log type so that the file is about JSONL_BYTES (lines are grouped by log type).
        per_row=$(duckdb -readonly -csv -noheader "$DB" -c "SELECT sum(b) FROM (
            $(for t in "${TABLES[@]}"; do printf 'SELECT avg(length(to_json(x)::VARCHAR)) + 30 AS b FROM (SELECT * FROM pool_%s LIMIT 2000) x UNION ALL ' "$t"; done) SELECT 0)")
        n=$(calc "int($JSONL_BYTES / $per_row) + 1")
        copy=""
        for t in "${TABLES[@]}"; do
            lt=${LOG_TYPE[$t]}
            copy+="COPY (SELECT '$lt' AS p_log_type, * FROM ($(repeat_pool "$t" "$n"))) TO '$WORK/part_$t.jsonl' (FORMAT json);"$'\n'
        done
        duckdb -readonly "$DB" <<<"$copy" >/dev/null
        for t in "${TABLES[@]}"; do cat "$WORK/part_$t.jsonl" >>"$JSONL" && rm "$WORK/part_$t.jsonl"; done
        EVENTS_IN_FILE=$(wc -l <"$JSONL")
        say "events file: $EVENTS_IN_FILE events ($n per log type), $(du -sb "$JSONL" | cut -f1) bytes, written in $(calc "$(now_s) - $t0") s"
        # From here on only the file is read.
        rm -f "$DB" "$DB.wal"

        # A DuckDB wrapper that records how long the DuckDB child of `ruleqc run` takes.
        cat >"$WORK/duckdb-timed" <<EOF
#!/usr/bin/env bash
t0=\$EPOCHREALTIME
$(command -v duckdb) "\$@"
rc=\$?
echo "\$EPOCHREALTIME - \$t0" | sed 's/,/./g' >>"$WORK/duckdb-child.times"
exit \$rc
EOF
        chmod +x "$WORK/duckdb-timed"
        printf '%-46s %9s %9s %9s  %s\n' command wall_s cpu_s peak_MB note
        timed bare duckdb -c "SELECT count(*) FROM read_json('$JSONL')"
        BARE=$T
        printf '%-46s %9.2f %9.2f %9.1f  exit %s\n' "duckdb: count(*) FROM read_json(file)" "$T" "$CPU" "$RSS" "$RC"
        timed bare-objects duckdb -c "SELECT count(*) FROM read_json_objects('$JSONL')"
        printf '%-46s %9.2f %9.2f %9.1f  exit %s\n' "duckdb: count(*) FROM read_json_objects(file)" "$T" "$CPU" "$RSS" "$RC"
        rm -f "$WORK/duckdb-child.times"
        REPS=$RUN_REPS timed run-duckdb "$BIN" run --events "$JSONL" --engine duckdb --duckdb "$WORK/duckdb-timed" --format jsonl rules/
        RUN_DUCK=$T
        child=$(median $(awk '{print $1 - $3}' "$WORK/duckdb-child.times"))
        printf '%-46s %9.2f %9.2f %9.1f  exit %s; DuckDB child %.2f s, ruleqc itself %.2f s\n' \
            "ruleqc run --engine duckdb" "$T" "$CPU" "$RSS" "$RC" "$child" "$(calc "$T - $child")"
        [[ $RC -le 1 ]] || sed 's/^/    /' "$WORK/run-duckdb.err" | head -5
        REPS=$RUN_REPS timed run-sqlite "$BIN" run --events "$JSONL" --engine sqlite --format jsonl rules/
        RUN_SQLITE=$T
        printf '%-46s %9.2f %9.2f %9.1f  exit %s\n' "ruleqc run --engine sqlite (embedded)" "$T" "$CPU" "$RSS" "$RC"
        [[ $RC -le 1 ]] || sed 's/^/    /' "$WORK/run-sqlite.err" | head -5
        say "ratios: run --engine duckdb / DuckDB bare scan = $(calc "$RUN_DUCK / $BARE")x (target <= 1.5x);" \
            "run --engine sqlite / run --engine duckdb = $(calc "$RUN_SQLITE / $RUN_DUCK")x"
    fi
fi

hr "total wall time $(calc "int($(now_s) - $START)") s"
