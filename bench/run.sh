#!/usr/bin/env bash
# Whole-process benchmarks for ruleqc, measured in one run and reported as ratios against
# baselines timed in the same run. BENCHMARKS.md says what each figure means.
#
#   bash bench/run.sh                 # the issue's sizes (about 20 minutes on 2 cores)
#   QUICK=1 bash bench/run.sh         # small sizes: a smoke run (under a minute once built)
#   SECTIONS=startup,test bash bench/run.sh
#
# Sections: corpus (check/compile throughput on a generated corpus), startup (one rule),
# test (`ruleqc test rules/`), query (each compiled DuckDB query vs `SELECT count(*)` on a
# generated table), run (`ruleqc run` over a JSON Lines file vs DuckDB's own scan of it).
#
# Sizes (environment, defaults in brackets):
#   RULES [10000]         rules in the generated corpus
#   EVENTS [10000000]     rows in each log type's table (section query)
#   POOL [125000]         distinct events generated per log type, repeated up to EVENTS (at
#                         least a DuckDB row group, so that no value repeats inside one)
#   JSONL_BYTES [1e9]     size of the JSON Lines file (section run)
#   REPS [3]              runs of each timed command in section corpus (median reported)
#   QUERY_REPS [2]        runs of each query and baseline (median)
#   RUN_REPS [1]          runs of each command in section run
#   RUN_EVENTS            section run: the JSON Lines file to use (written there and kept when
#                         it does not exist; default: a temporary file)
#   RUN_SQL [1]           section run: also time `--engine duckdb` and `--engine sqlite` (0: not)
#   QUERY_CLOCK [cpu]     section query: time DuckDB's user+system CPU (cpu) or wall clock (real)
#   KEEP_WORK             keep the temporary directory (its path is printed) instead of removing it
#   BASE_BIN              section query: another ruleqc build whose queries are timed in the
#                         same DuckDB session (a before/after comparison of the compiler)
#   STARTUP_RUNS [300], TEST_RUNS [10]   hyperfine runs
#   DUCKDB                the DuckDB binary (default: the one behind pip's `duckdb` wrapper)
#
# Needs cargo, python3, duckdb (pip install duckdb-cli==1.5.6), GNU time (apt-get install
# time) and hyperfine (apt-get install hyperfine; a plain loop is used without it).
# Temporary files go to TMPDIR (about 6 GB at the default sizes) and are removed at exit.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

if [[ ${QUICK:-0} == 1 ]]; then
    : "${RULES:=1000}" "${EVENTS:=200000}" "${POOL:=20000}" "${JSONL_BYTES:=30000000}"
    : "${REPS:=1}" "${QUERY_REPS:=1}" "${RUN_REPS:=1}" "${STARTUP_RUNS:=30}" "${TEST_RUNS:=3}"
fi
RULES=${RULES:-10000}
EVENTS=${EVENTS:-10000000}
POOL=${POOL:-125000}
JSONL_BYTES=${JSONL_BYTES:-1000000000}
REPS=${REPS:-3}
QUERY_REPS=${QUERY_REPS:-2}
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
# The DuckDB binary itself: `pip install duckdb-cli` puts a Python wrapper on PATH (behind a
# pyenv shim here) that costs ~0.2 s per start, which would be charged to every DuckDB figure.
if [[ -z ${DUCKDB:-} ]]; then
    DUCKDB=$(python3 -c 'import duckdb_cli, os; print(os.path.join(os.path.dirname(duckdb_cli.__file__), "duckdb"))' 2>/dev/null || true)
    [[ -x $DUCKDB ]] || DUCKDB=$(command -v duckdb)
fi
[[ -x /usr/bin/time ]] || { say "bench/run.sh: GNU time is missing: apt-get install time" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ruleqc-bench.XXXXXX")
if [[ -n ${KEEP_WORK:-} ]]; then echo "work directory kept: $WORK"; else trap 'rm -rf "$WORK"' EXIT; fi

START=$EPOCHREALTIME
say "ruleqc benchmarks: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -sr)"
say "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(free -g | awk '/Mem:/{print $2}') GB RAM"
say "duckdb $("$DUCKDB" --version | cut -d' ' -f1) ($DUCKDB), $(rustc --version)"
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
            -n "ruleqc compile --target sql $ONE" "$BIN compile --target sql $ONE" \
            -n "ruleqc check $ONE" "$BIN check $ONE" \
            -n "ruleqc explain $ONE --stage query" "$BIN explain $ONE --stage query" \
            -n true true >/dev/null 2>&1
        python3 - "$WORK/startup.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
base = r[-1]["mean"]
for x in r:
    print(f"{x['command']:<70} mean {x['mean']*1e3:7.2f} ms  +-{x['stddev']*1e3:5.2f}  "
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
            -n "ruleqc test rules/" "$BIN test rules/" \
            -n "ruleqc test --engine none rules/" "$BIN test --engine none rules/" >/dev/null 2>&1
        # DuckDB runs as a separate process per rule: slower, so fewer runs.
        hyperfine -N -i --runs 3 --export-json "$WORK/test-duckdb.json" \
            -n "ruleqc test --engine duckdb rules/" "$BIN test --engine duckdb --duckdb $DUCKDB rules/" \
            >/dev/null 2>&1
        python3 - "$WORK/test.json" "$WORK/test-duckdb.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"] + json.load(open(sys.argv[2]))["results"]
none = r[1]["mean"]
for x in r:
    print(f"{x['command']:<36} mean {x['mean']*1e3:8.1f} ms  +-{x['stddev']*1e3:6.1f}  "
          f"{x['mean']/none:5.1f}x --engine none")
print("target: ruleqc test rules/ < 1 s")
PY
    else
        for args in "" "--engine none" "--engine duckdb --duckdb $DUCKDB"; do
            t0=$(now_s)
            for ((i = 0; i < TEST_RUNS; i++)); do "$BIN" test $args rules/ >/dev/null || true; done
            t1=$(now_s)
            printf '%-50s mean %8.1f ms\n' "ruleqc test $args rules/" "$(calc "($t1 - $t0) * 1000 / $TEST_RUNS")"
        done
    fi
fi

# ---------------------------------------------------------------------------------------------
# Events: a pool of POOL distinct events per log type of rules/ (bench/tables.sql), in $POOLS.
POOLS=$WORK/pools.duckdb
declare -A LOG_TYPE=(
    [aws_cloudtrail]=AWS.CloudTrail [amazon_eks_audit]=Amazon.EKS.Audit [gcp_auditlog]=GCP.AuditLog
    [github_audit]=GitHub.Audit [linux_processexecution]=Linux.ProcessExecution
    [okta_systemlog]=Okta.SystemLog [onepassword_signinattempt]=OnePassword.SignInAttempt
    [onepassword_itemusage]=OnePassword.ItemUsage [slack_auditlogs]=Slack.AuditLogs
    [gravitational_teleportaudit]=Gravitational.TeleportAudit [zoom_operation]=Zoom.Operation)
# Two groups of about the same size in bytes, written by two DuckDB processes at once (writing
# a table is single-threaded, and it is the slow part).
GROUP1=(aws_cloudtrail gcp_auditlog github_audit onepassword_signinattempt slack_auditlogs zoom_operation)
GROUP2=(amazon_eks_audit linux_processexecution okta_systemlog onepassword_itemusage gravitational_teleportaudit)
TABLES=("${GROUP1[@]}" "${GROUP2[@]}")
make_pools() {
    [[ -f $POOLS ]] && return
    local t0
    t0=$(now_s)
    sed "s/@POOL@/$POOL/g" bench/tables.sql | "$DUCKDB" "$POOLS" >/dev/null
    say "event pools: ${#TABLES[@]} log types x $POOL distinct events, generated in $(calc "$(now_s) - $t0") s"
}
# The pool of log type T repeated to N rows. (A LIMIT makes DuckDB write the table through its
# WAL, half as fast, so whole pools are repeated and the remainder added.)
repeat_pool() {
    local q="SELECT p.* FROM range($(($2 / POOL))) r(k), pools.pool_$1 p"
    (($2 % POOL)) && q+=" UNION ALL (SELECT * FROM pools.pool_$1 LIMIT $(($2 % POOL)))"
    echo "$q"
}
# write_tables DB TABLE...: the tables, EVENTS rows each.
write_tables() {
    local db=$1
    shift
    {
        echo "ATTACH '$POOLS' AS pools (READ_ONLY);"
        for t in "$@"; do echo "CREATE TABLE $t AS $(repeat_pool "$t" "$EVENTS");"; done
    } | "$DUCKDB" "$db" >/dev/null
}

if want query; then
    hr "4a. query cost: each rule's compiled DuckDB query vs SELECT count(*) over its table"
    make_pools
    t0=$(now_s)
    write_tables "$WORK/events1.duckdb" "${GROUP1[@]}" &
    write_tables "$WORK/events2.duckdb" "${GROUP2[@]}" &
    wait %1 && wait %2
    say "event tables: ${#TABLES[@]} x $EVENTS rows, $(cat "$WORK"/events[12].duckdb | wc -c) bytes in all, written in $(calc "$(now_s) - $t0") s"
    "$BIN" compile --target sql --dialect duckdb --format json rules/ >"$WORK/queries.json"
    if [[ -n ${BASE_BIN:-} ]]; then
        "$BASE_BIN" compile --target sql --dialect duckdb --format json rules/ >"$WORK/queries-base.json"
    else
        echo '[]' >"$WORK/queries-base.json"
    fi
    python3 - "$DUCKDB" "$WORK" "$WORK/queries.json" "$QUERY_REPS" "$EVENTS" "$WORK/queries-base.json" <<'PY'
import json, os, re, statistics, subprocess, sys

duckdb, work, queries, reps = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3])), int(sys.argv[4])
events = int(sys.argv[5])
base_queries = {q["rule_id"]: q["query"] for q in json.load(open(sys.argv[6]))}

def duck(script):
    # Both databases, read-only; unqualified names find the tables in either.
    prelude = (f"ATTACH '{work}/events2.duckdb' AS events2 (READ_ONLY);\n"
               "SET search_path = 'events1.main,events2.main';\n")
    p = subprocess.run([duckdb, "-readonly", f"{work}/events1.duckdb"], input=prelude + script,
                       capture_output=True, text=True)
    if p.returncode != 0 or "Error" in p.stderr:
        sys.exit(f"duckdb failed: {p.stderr[:2000]}")
    return p.stdout

types = {}
for line in duck(".mode csv\n.headers off\nSELECT table_name, column_name, data_type "
                 "FROM duckdb_columns() WHERE NOT internal "
                 "AND database_name IN ('events1', 'events2');\n").splitlines():
    t, c, ty = line.rsplit(",", 2)
    types.setdefault(t, {})[c.strip('"')] = ty

def referenced(table, where):
    # The table's columns that the WHERE clause reads (quoted or bare identifiers, outside
    # string literals, with or without the table's name in front).
    where = re.sub(r"'(?:[^']|'')*'", "''", where)
    where = where.replace(f'"{table}".', "").replace(f"{table}.", "")
    return [c for c in types[table]
            if re.search(r'"%s"' % re.escape(c), where)
            or re.search(r'(?<![\w".$@-])%s(?![\w"$@-])' % re.escape(c), where)]

# Per rule: the query, and three baselines over the same table in the same session:
#   count   SELECT count(*)                       (the issue's "bare scan")
#   colscan min() of every column the WHERE reads  (reads the same data, no JSON parsing)
#   parse   colscan, with each JSON column parsed once (json_valid): the floor for this layout
jobs = []
for q in queries:
    m = re.search(r'\nFROM (\S+)\nWHERE ', q["query"])
    table = m.group(1).strip('"')
    if table not in types:
        continue
    used = referenced(table, q["query"][m.end():]) or list(types[table])[:1]
    colscan = "SELECT " + ", ".join(f'min("{c}")' for c in used) + f' FROM "{table}"'
    parse = "SELECT " + ", ".join(
        f'count_if(json_valid("{c}"))' if types[table][c] == "JSON" else f'min("{c}")'
        for c in used) + f' FROM "{table}"'
    # The columns the SELECT list outputs and the WHERE does not read: a query has to read
    # them (for the vectors holding a match), so `parse_out` adds one read of each to `parse`.
    select = q["query"][:m.start()]
    outs = [c for c in (list(types[table]) if select.strip() == "SELECT *"
                        else referenced(table, select)) if c not in used]
    parse_out = parse[:parse.index(" FROM ")] + "".join(
        f', min(length("{c}"::VARCHAR))' for c in outs) + f' FROM "{table}"'
    jobs.append(dict(rule=q["rule_id"], table=table, query=q["query"], colscan=colscan,
                     parse=parse, parse_out=parse_out, base=base_queries.get(q["rule_id"]),
                     json=sum(types[table][c] == "JSON" for c in used)))

# One DuckDB session. The timer prints milliseconds; count(*) takes about one, so it is run
# five times and averaged. Baselines shared by several rules are timed once per repetition.
script, order = ".timer on\n.mode trash\n", []
for t in sorted({j["table"] for j in jobs}):  # warm the buffer pool: every column once
    script += "SELECT " + ", ".join(f'min("{c}")' for c in types[t]) + f' FROM "{t}";\n'
    order.append(None)
for rep in range(reps):
    seen = set()
    for j in jobs:
        stmts = [("count", f'SELECT count(*) FROM "{j["table"]}"')] * 5
        stmts += [(k, j[k]) for k in ("colscan", "parse", "parse_out") if (rep, j[k]) not in seen]
        if j["base"] and j["base"] != j["query"]:
            stmts.append(("base", j["base"]))
        stmts.append(("query", j["query"]))
        for kind, sql in stmts:
            seen.add((rep, sql))
            script += sql + ";\n"
            order.append((kind, sql))
# QUERY_CLOCK=cpu (the default) times user + system CPU of DuckDB's threads, which holds up on
# a shared machine; QUERY_CLOCK=real times the wall clock.
clock = os.environ.get("QUERY_CLOCK", "cpu")
times = [float(r) if clock == "real" else float(u) + float(y) for r, u, y in
         re.findall(r"Run Time \(s\): real ([0-9.]+) user ([0-9.]+) sys ([0-9.]+)", duck(script))]
assert len(times) == len(order), (len(times), len(order))
samples = {}
for key, t in zip(order, times):
    if key:
        samples.setdefault(key, []).append(t)
med = lambda kind, sql: statistics.median(samples[(kind, sql)]) if kind != "count" else \
    statistics.mean(samples[(kind, sql)])
counts = duck(".mode csv\n.headers off\n" + "".join(
    f"SELECT count(*) FROM ({j['query']});\n" for j in jobs)).split()

print(f"{'rule':<48} {'matches':>7} {'count(*)':>8} {'colscan':>7} {'parse':>7} {'p+out':>7}"
      f" {'query':>7} {'q/count':>8} {'q/colscan':>9} {'q/parse':>7} {'q/p+out':>7}")
rows = []
for j, n in zip(jobs, counts):
    c = med("count", f'SELECT count(*) FROM "{j["table"]}"')
    s, p, q = med("colscan", j["colscan"]), med("parse", j["parse"]), med("query", j["query"])
    po = med("parse_out", j["parse_out"])
    r = dict(rule=j["rule"], qc=q / max(c, 2e-4), qs=q / max(s, 1e-3), qp=q / max(p, 1e-3),
             qo=q / max(po, 1e-3), rare=int(n) < events / 100)
    # The base build's query, where it differs (else the same query's time).
    changed = bool(j["base"]) and j["base"] != j["query"]
    b = med("base", j["base"]) if changed else q
    r.update(bp=b / max(p, 1e-3), bo=b / max(po, 1e-3), changed=changed)
    rows.append(r)
    print(f"{j['rule']:<48} {int(n):>7} {c*1e3:6.1f}ms {s:6.3f}s {p:6.3f}s {po:6.3f}s {q:6.3f}s"
          f" {r['qc']:7.0f}x {r['qs']:8.2f}x {r['qp']:6.2f}x {r['qo']:6.2f}x"
          + (f"  base {b:6.3f}s {r['bp']:6.2f}x {r['bo']:6.2f}x" if r["changed"] else ""))
for key, name in (("qc", "count(*)"), ("qs", "colscan"), ("qp", "parse"), ("qo", "p+out")):
    xs = [r[key] for r in rows]
    worst = max(rows, key=lambda r: r[key])["rule"]
    print(f"query / {name:<9} median {statistics.median(xs):7.2f}x  max {max(xs):8.2f}x ({worst});"
          f"  within 1.2x: {sum(x <= 1.2 for x in xs)} of {len(xs)}")
rare = [r for r in rows if r["rare"]]
if rare:
    pairs = [("qp", "parse"), ("qo", "parse + outputs")]
    if base_queries:
        pairs += [("bp", "parse, base build"), ("bo", "parse + outputs, base build")]
    for key, name in pairs:
        xs = [r[key] for r in rare]
        print(f"rules with under 1% matches ({len(rare)} of {len(rows)}): query / {name} median"
              f" {statistics.median(xs):.2f}x, within 1.2x: {sum(x <= 1.2 for x in xs)} of {len(xs)}")
print("target: compiled queries of rules with under 1% matches within 1.2x of parse"
      " (parse + outputs: the same floor with the output columns read once)")
PY
fi

# ---------------------------------------------------------------------------------------------
if want run; then
    hr "4b. ruleqc run over a JSON Lines file with all of rules/"
    JSONL=${RUN_EVENTS:-$WORK/events.jsonl}
    if [[ -s $JSONL ]]; then
        say "events file: $JSONL (given: $(wc -l <"$JSONL") events, $(du -sb "$JSONL" | cut -f1) bytes)"
    else
        make_pools
        t0=$(now_s)
        # Rows per log type so that the file is about JSONL_BYTES (lines are grouped by log type).
        per_row=$("$DUCKDB" -readonly -csv -noheader "$POOLS" -c "SELECT sum(b) FROM (
            $(for t in "${TABLES[@]}"; do printf 'SELECT avg(length(to_json(x)::VARCHAR)) + 30 AS b FROM (SELECT * FROM pool_%s LIMIT 2000) x UNION ALL ' "$t"; done) SELECT 0)")
        n=$(calc "int($JSONL_BYTES / $per_row) + 1")
        copy=""
        for t in "${TABLES[@]}"; do
            lt=${LOG_TYPE[$t]}
            copy+="COPY (SELECT '$lt' AS p_log_type, * FROM ($(repeat_pool "$t" "$n"))) TO '$WORK/part_$t.jsonl' (FORMAT json);"$'\n'
        done
        "$DUCKDB" -readonly "$POOLS" <<<"$copy" >/dev/null
        for t in "${TABLES[@]}"; do cat "$WORK/part_$t.jsonl" >>"$JSONL" && rm "$WORK/part_$t.jsonl"; done
        say "events file: $(wc -l <"$JSONL") events ($n per log type), $(du -sb "$JSONL" | cut -f1) bytes, written in $(calc "$(now_s) - $t0") s${RUN_EVENTS:+ (kept: $RUN_EVENTS)}"
    fi
    # From here on only the file is read.
    rm -f "$WORK"/*.duckdb "$WORK"/*.duckdb.wal

    # The top-level keys the rules read (the columns their compiled DuckDB queries name) and
    # the log type: what the native engine builds of each event.
    "$BIN" compile --target sql --dialect duckdb --format json rules/ >"$WORK/queries.json"
    "$DUCKDB" -csv -noheader -c "SELECT DISTINCT unnest(json_keys(json)) FROM read_json_objects('$JSONL')" >"$WORK/keys.txt"
    paths=$(
        python3 - "$WORK/queries.json" "$WORK/keys.txt" <<'PY'
import json, re, sys
queries = json.load(open(sys.argv[1]))
keys = [k.strip().strip('"') for k in open(sys.argv[2]) if k.strip()]
used = {"p_log_type"}
for q in queries:
    where = re.sub(r"'(?:[^']|'')*'", "''", q["query"].split("\nWHERE ", 1)[-1])
    used |= {k for k in keys if re.search(r'"%s"' % re.escape(k), where)
             or re.search(r'(?<![\w".$@-])%s(?![\w"$@-])' % re.escape(k), where)}
print(", ".join("'$.\"%s\"'" % k for k in sorted(used)))
PY
    )
    printf '%-46s %9s %9s %9s  %s\n' command wall_s cpu_s peak_MB note
    timed bare "$DUCKDB" -c "SELECT count(*) FROM read_json('$JSONL')"
    BARE=$T BARE_CPU=$CPU
    printf '%-46s %9.2f %9.2f %9.1f  exit %s\n' "duckdb: count(*) FROM read_json(file)" "$T" "$CPU" "$RSS" "$RC"
    timed bare-objects "$DUCKDB" -c "SELECT count(*) FROM read_json_objects('$JSONL')"
    printf '%-46s %9.2f %9.2f %9.1f  exit %s\n' "duckdb: count(*) FROM read_json_objects(file)" "$T" "$CPU" "$RSS" "$RC"
    # Every key the rules read, extracted from every event (one parse of each event).
    timed extract "$DUCKDB" -c "SELECT sum(len(list_filter(x, v -> v IS NOT NULL))) FROM (SELECT json_extract(j, [$paths]) AS x FROM read_json_objects('$JSONL') AS r(j))"
    EXTRACT=$T
    printf '%-46s %9.2f %9.2f %9.1f  exit %s; %s keys\n' "duckdb: json_extract(every key read)" "$T" "$CPU" "$RSS" "$RC" \
        "$(tr ',' '\n' <<<"$paths" | grep -c .)"
    REPS=$RUN_REPS timed run-native "$BIN" run --events "$JSONL" --format jsonl rules/
    RUN_NATIVE=$T RUN_NATIVE_CPU=$CPU
    printf '%-46s %9.2f %9.2f %9.1f  exit %s; %s\n' "ruleqc run (native engine, the default)" "$T" "$CPU" "$RSS" "$RC" \
        "$(tail -n 1 "$WORK/run-native.err" | grep -o '[0-9]* match.*')"
    [[ $RC -le 1 ]] || sed 's/^/    /' "$WORK/run-native.err" | head -5
    say "ratios: run (native) / DuckDB read_json count = $(calc "$RUN_NATIVE / $BARE")x (target <= 2x);" \
        "run (native) / DuckDB extracting every key read = $(calc "$RUN_NATIVE / $EXTRACT")x; peak RSS target < 200 MB"
    # On a shared machine the wall ratio mostly measures waiting for a core: CPU is steadier.
    say "CPU (user + system): run (native) / DuckDB read_json count = $(calc "$RUN_NATIVE_CPU / $BARE_CPU")x"
    if [[ ${RUN_SQL:-1} == 1 ]]; then
        # A DuckDB wrapper that records how long the DuckDB child of `ruleqc run` takes.
        cat >"$WORK/duckdb-timed" <<EOF
#!/usr/bin/env bash
t0=\$EPOCHREALTIME
$DUCKDB "\$@"
rc=\$?
echo "\$EPOCHREALTIME - \$t0" | sed 's/,/./g' >>"$WORK/duckdb-child.times"
exit \$rc
EOF
        chmod +x "$WORK/duckdb-timed"
        rm -f "$WORK/duckdb-child.times"
        REPS=$RUN_REPS timed run-duckdb "$BIN" run --events "$JSONL" --engine duckdb --duckdb "$WORK/duckdb-timed" --format jsonl rules/
        RUN_DUCK=$T
        child=$(awk -v n="$RUN_REPS" '{s += $1 - $3} END {print s / n}' "$WORK/duckdb-child.times")
        printf '%-46s %9.2f %9.2f %9.1f  exit %s; DuckDB child %.2f s, ruleqc itself %.2f s\n' \
            "ruleqc run --engine duckdb" "$T" "$CPU" "$RSS" "$RC" "$child" "$(calc "$T - $child")"
        [[ $RC -le 1 ]] || sed 's/^/    /' "$WORK/run-duckdb.err" | head -5
        REPS=$RUN_REPS timed run-sqlite "$BIN" run --events "$JSONL" --engine sqlite --format jsonl rules/
        RUN_SQLITE=$T
        printf '%-46s %9.2f %9.2f %9.1f  exit %s\n' "ruleqc run --engine sqlite (embedded)" "$T" "$CPU" "$RSS" "$RC"
        [[ $RC -le 1 ]] || sed 's/^/    /' "$WORK/run-sqlite.err" | head -5
        say "ratios: run --engine duckdb / DuckDB read_json count = $(calc "$RUN_DUCK / $BARE")x;" \
            "--engine sqlite / --engine duckdb = $(calc "$RUN_SQLITE / $RUN_DUCK")x;" \
            "--engine duckdb / native = $(calc "$RUN_DUCK / $RUN_NATIVE")x"
    fi
fi

hr "total wall time $(calc "int($(now_s) - $START)") s"
