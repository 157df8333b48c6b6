"""Runs compiled conditions on ClickHouse (chDB) or Spark SQL (PySpark) for the test suite.

Started once per test binary by tests/support/py_engine.rs: `python3 sql_engine.py clickhouse`
or `... spark`. Then one request per line on stdin, one answer per line on stdout, until stdin
ends. One engine session serves every request (Spark's JVM start takes tens of seconds).

Request:  {"table": "<name, quoted for the dialect>",
           "columns": [["<quoted name>", "<dialect column type>"], ...],
           "rows": [[<row number>, <value per column>], ...],
           "conditions": ["<SQL boolean expression>", ...]}
          Values are JSON: strings, numbers, booleans or null; a JSON column's value is its JSON
          text, as a string (the dialects keep semi-structured data as JSON text).
Answer:   {"rows": [[<matching row numbers, sorted>], ...]}   one list per condition
          {"error": "<message>"}                             loading or a condition failed
The first line written is {"ready": "<engine and version>"} (or an error, and exit 1).
"""

import json
import sys

ROW = "__ruleqc_row"


def clickhouse():
    import chdb
    from chdb import session

    s = session.Session()
    version = s.query("SELECT version()", "CSV").bytes().decode().strip().strip('"')

    def run(req):
        table = req["table"]
        cols = req["columns"]
        defs = ", ".join([f"`{ROW}` Int64"] + [f"{name} {ty}" for name, ty in cols])
        s.query(f"DROP TABLE IF EXISTS {table}")
        s.query(f"CREATE TABLE {table} ({defs}) ENGINE = Memory")
        if req["rows"]:
            # Positional rows, so odd column names never meet the format's key matching.
            data = "\n".join(json.dumps(r, ensure_ascii=False) for r in req["rows"])
            s.query(f"INSERT INTO {table} FORMAT JSONCompactEachRow\n{data}")
        # Whole queries that must run (their rows are not needed).
        for i, q in enumerate(req.get("queries", [])):
            try:
                s.query(q)
            except Exception as e:  # noqa: BLE001 - the message is the answer
                raise RuntimeError(f"query {i}: {e}") from None
        out = []
        for i, cond in enumerate(req["conditions"]):
            try:
                res = s.query(
                    f"SELECT `{ROW}` FROM {table} WHERE ({cond}) ORDER BY 1", "JSONCompact"
                )
            except Exception as e:  # noqa: BLE001 - the message is the answer
                raise RuntimeError(f"condition {i}: {e}") from None
            out.append([r[0] for r in json.loads(res.bytes())["data"]])
        s.query(f"DROP TABLE {table}")
        return out

    return f"clickhouse {version} (chdb {chdb.__version__})", run


def spark():
    from pyspark.sql import SparkSession
    from pyspark.sql import types as T

    spark = (
        SparkSession.builder.master("local[1]")
        .appName("ruleqc-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.driver.memory", "1g")
        # Tables of a few rows, one query each: compiling Java code for every query costs more
        # than it saves (about 2.5 s a query here with it, under 1 s without).
        .config("spark.sql.codegen.wholeStage", "false")
        .config("spark.sql.codegen.factoryMode", "NO_CODEGEN")
        .config("spark.sql.adaptive.enabled", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    types = {
        "STRING": T.StringType(),
        "BIGINT": T.LongType(),
        "DOUBLE": T.DoubleType(),
        "BOOLEAN": T.BooleanType(),
    }
    convert = {"DOUBLE": lambda v: None if v is None else float(v)}

    def run(req):
        table = req["table"]
        cols = req["columns"]
        fields = [T.StructField("r", T.LongType(), False)]
        for i, (_, ty) in enumerate(cols):
            fields.append(T.StructField(f"c{i}", types[ty], True))
        conv = [lambda v: v] + [convert.get(ty, lambda v: v) for _, ty in cols]
        rows = [tuple(f(v) for f, v in zip(conv, r)) for r in req["rows"]]
        df = spark.createDataFrame(rows, T.StructType(fields))
        df.createOrReplaceTempView("__ruleqc_load")
        select = ", ".join([f"r AS {ROW}"] + [f"c{i} AS {name}" for i, (name, _) in enumerate(cols)])
        spark.sql(f"CREATE OR REPLACE TEMPORARY VIEW {table} AS SELECT {select} FROM __ruleqc_load")
        # Whole queries that must be valid: `spark.sql` parses and analyses a query (names,
        # types, functions) when it is called; running it would cost a Spark job each.
        for i, q in enumerate(req.get("queries", [])):
            try:
                spark.sql(q)
            except Exception as e:  # noqa: BLE001 - the message is the answer
                raise RuntimeError(f"query {i}: {e}") from None
        if not req["conditions"]:
            return []
        # One query for every condition: a row's flags, one per condition.
        flags = ", ".join(f"COALESCE(({c}), FALSE)" for c in req["conditions"])
        try:
            got = spark.sql(f"SELECT {ROW}, {flags} FROM {table}").collect()
        except Exception:  # noqa: BLE001 - find which condition fails
            for i, c in enumerate(req["conditions"]):
                try:
                    spark.sql(f"SELECT {ROW} FROM {table} WHERE ({c})").collect()
                except Exception as e:  # noqa: BLE001
                    raise RuntimeError(f"condition {i}: {e}") from None
            raise
        out = [[] for _ in req["conditions"]]
        for row in got:
            for i in range(len(out)):
                if row[i + 1]:
                    out[i].append(row[0])
        return [sorted(o) for o in out]

    return f"spark {spark.version}", run


def main():
    engines = {"clickhouse": clickhouse, "spark": spark}
    out = sys.stdout
    # Engines may print to stdout; answers go through the saved descriptor only.
    sys.stdout = sys.stderr
    try:
        name, run = engines[sys.argv[1]]()
    except Exception as e:  # noqa: BLE001 - reported to the test
        out.write(json.dumps({"error": f"{type(e).__name__}: {e}"}) + "\n")
        out.flush()
        sys.exit(1)
    out.write(json.dumps({"ready": name}) + "\n")
    out.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            answer = {"rows": run(json.loads(line))}
        except Exception as e:  # noqa: BLE001 - reported to the test
            answer = {"error": " ".join(str(e).split())[:4000]}
        out.write(json.dumps(answer) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
