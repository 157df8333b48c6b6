"""Runs Snowflake SQL on fakesnow (a Snowflake emulator that translates to DuckDB) for
tests/engine_snowflake.rs. One process serves a whole test binary.

Protocol, one JSON document per line each way. On start it prints
  {"ready": {"fakesnow": ..., "duckdb": ..., "sqlglot": ...}}
then, for each request line
  {"setup": [sql, ...], "queries": [sql, ...], "teardown": [sql, ...]}
it runs the setup statements (stopping at the first error), then every query (each on its own:
an error in one does not stop the next) collecting the first column of every row, then the
teardown statements, and answers
  {"setup_error": null | message, "results": [{"rows": [...]} | {"error": message}, ...],
   "notes": [warnings the translator logged while running the request]}

Shims. fakesnow lacks Snowflake's IS_VARCHAR, IS_BOOLEAN, IS_INTEGER, IS_DECIMAL, IS_DOUBLE and
IS_OBJECT. They are registered here as DuckDB macros over the JSON value fakesnow stores a
VARIANT as, with the semantics Snowflake's documentation gives them: TRUE when the VARIANT holds
a string / boolean / integer / fixed-point decimal or integer / any number / object, FALSE for
any other value (a JSON null included), NULL for SQL NULL. Nothing else is changed: the other
known gaps (docs/targets/snowflake-emulation.md) are reported by the test, not patched.
"""

import json
import logging
import os
import sys
import warnings

# The protocol owns the real stdout; anything else printed goes to stderr.
PROTOCOL = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
sys.stdout = sys.stderr
warnings.filterwarnings("ignore")

import duckdb  # noqa: E402
import fakesnow  # noqa: E402
import snowflake.connector  # noqa: E402
import sqlglot  # noqa: E402
from importlib.metadata import version  # noqa: E402

SHIMS = [
    "CREATE OR REPLACE TEMP MACRO is_varchar(v) AS json_type(v::JSON) = 'VARCHAR'",
    "CREATE OR REPLACE TEMP MACRO is_boolean(v) AS json_type(v::JSON) = 'BOOLEAN'",
    "CREATE OR REPLACE TEMP MACRO is_integer(v) AS json_type(v::JSON) IN ('BIGINT', 'UBIGINT')",
    # Fixed-point decimals or integers: a JSON number written without an exponent.
    "CREATE OR REPLACE TEMP MACRO is_decimal(v) AS json_type(v::JSON) IN ('BIGINT', 'UBIGINT') "
    "OR json_type(v::JSON) = 'DOUBLE' AND NOT regexp_matches(v::JSON::VARCHAR, '[eE]')",
    "CREATE OR REPLACE TEMP MACRO is_double(v) AS json_type(v::JSON) IN ('BIGINT', 'UBIGINT', 'DOUBLE')",
    "CREATE OR REPLACE TEMP MACRO is_object(v) AS json_type(v::JSON) = 'OBJECT'",
]


class Notes(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.seen = []

    def emit(self, record):
        self.seen.append(record.getMessage())


def send(doc):
    PROTOCOL.write(json.dumps(doc) + "\n")
    PROTOCOL.flush()


def main():
    notes = Notes()
    logging.getLogger().addHandler(notes)
    logging.getLogger().setLevel(logging.WARNING)
    with fakesnow.patch():
        conn = snowflake.connector.connect(database="ruleqc", schema="tests")
        cur = conn.cursor()
        for sql in SHIMS:
            conn._duck_conn.execute(sql)
        send(
            {
                "ready": {
                    "fakesnow": version("fakesnow"),
                    "duckdb": duckdb.__version__,
                    "sqlglot": sqlglot.__version__,
                }
            }
        )
        for line in sys.stdin:
            if not line.strip():
                continue
            req = json.loads(line)
            notes.seen = []
            answer = {"setup_error": None, "results": [], "notes": []}
            for sql in req.get("setup", []):
                try:
                    cur.execute(sql)
                except Exception as e:  # noqa: BLE001 - any failure is reported
                    answer["setup_error"] = f"{type(e).__name__}: {e}"
                    break
            if answer["setup_error"] is None:
                for sql in req.get("queries", []):
                    try:
                        cur.execute(sql)
                        answer["results"].append({"rows": [r[0] for r in cur.fetchall()]})
                    except Exception as e:  # noqa: BLE001
                        answer["results"].append({"error": f"{type(e).__name__}: {e}"})
            for sql in req.get("teardown", []):
                try:
                    cur.execute(sql)
                except Exception:  # noqa: BLE001 - best effort
                    pass
            answer["notes"] = sorted(set(notes.seen))
            send(answer)


if __name__ == "__main__":
    main()
