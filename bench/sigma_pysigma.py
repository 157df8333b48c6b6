"""pySigma on the SigmaHQ corpus, for bench/sigma.sh: how many rules each backend converts
(failures by exception), and pySigma's SQLite queries against ruleqc's verdicts on the
regression samples and on near-miss events.

    python bench/sigma_pysigma.py counts SIGMA_DIR
    python bench/sigma_pysigma.py samples SIGMA_DIR RULEQC WORKDIR
"""
import collections
import glob
import json
import os
import re
import sqlite3
import subprocess
import sys
import warnings

warnings.filterwarnings("ignore")


def rule_files(sigma):
    return sorted(glob.glob(os.path.join(sigma, "rules", "**", "*.yml"), recursive=True))


def backends():
    from sigma.backends.splunk import SplunkBackend
    from sigma.backends.sqlite import sqliteBackend
    from sigma.backends.kusto import KustoBackend
    return {"splunk": SplunkBackend, "sqlite": sqliteBackend, "kusto": KustoBackend}


def convert(backend_cls, text):
    from sigma.collection import SigmaCollection
    coll = SigmaCollection.from_yaml(text)
    return backend_cls().convert(coll)


def counts(sigma):
    files = rule_files(sigma)
    for name, cls in backends().items():
        ok, why = 0, collections.Counter()
        for f in files:
            try:
                out = convert(cls, open(f, encoding="utf-8").read())
                if out:
                    ok += 1
                else:
                    why["no output"] += 1
            except Exception as e:  # every failure, counted by its kind
                why[type(e).__name__] += 1
        reasons = ", ".join(f"{k} {v}" for k, v in why.most_common())
        print(f"pySigma {name:<7} {ok:5d} / {len(files)} converted ({100*ok/len(files):.2f}%)"
              + (f"; failures: {reasons}" if reasons else ""))


def events(path):
    text = open(path, encoding="utf-8").read()
    dec, i, out = json.JSONDecoder(), 0, []
    while i < len(text):
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            break
        o, i = dec.raw_decode(text, i)
        out.append(o)
    return out


def sigma_fields(event):
    """Sigma's field names for an event in the regression layout (what pySigma's queries
    read as columns)."""
    e = event.get("Event", {})
    system = e.get("System", {})
    row = {}
    for k, v in (e.get("EventData") or {}).items():
        row[k] = v
    for part in (e.get("UserData") or {}).values():
        if isinstance(part, dict):
            for k, v in part.items():
                if k != "#attributes":
                    row[k] = v
    row["EventID"] = system.get("EventID")
    row["Channel"] = system.get("Channel")
    row["Computer"] = system.get("Computer")
    row["Provider_Name"] = system.get("Provider", {}).get("#attributes", {}).get("Name")
    return row


def near_miss(event, rule_text):
    """The event with one value the rule names altered: its first, middle and last characters
    replaced."""
    import copy
    ev = copy.deepcopy(event)
    data = ev.get("Event", {}).get("EventData") or {}
    low = rule_text.lower()
    for k, v in data.items():
        if isinstance(v, str) and len(v) >= 3 and k.lower() in low:
            chars = list(v)
            for i in (0, len(v) // 2, len(v) - 1):
                chars[i] = "#" if chars[i] != "#" else "%"
            data[k] = "".join(chars)
            return ev, k
    return None, None


def samples(sigma, ruleqc, work):
    from sigma.backends.sqlite import sqliteBackend
    by_id = {}
    for f in rule_files(sigma):
        text = open(f, encoding="utf-8").read()
        for line in text.splitlines():
            if line.startswith("id:"):
                by_id[line.split(":", 1)[1].strip()] = (f, text)
                break
    cases = []  # (rule id, rule file, kind, event)
    for info in sorted(glob.glob(os.path.join(sigma, "regression_data", "**", "info.yml"), recursive=True)):
        d = os.path.dirname(info)
        rid = None
        for line in open(info, encoding="utf-8"):
            if line.strip().startswith("- id:"):
                rid = line.split(":", 1)[1].strip()
                break
        if rid not in by_id:
            continue
        for j in sorted(glob.glob(os.path.join(d, "*.json"))):
            for ev in events(j):
                cases.append((rid, "sample", ev))
                nm, field = near_miss(ev, by_id[rid][1])
                if nm is not None:
                    cases.append((rid, f"near-miss {field}", nm))
    # ruleqc's verdicts: each case as a one-event sample of its rule.
    os.makedirs(work, exist_ok=True)
    for i, (rid, kind, ev) in enumerate(cases):
        cdir = os.path.join(work, f"case{i:05d}")
        os.makedirs(cdir, exist_ok=True)
        with open(os.path.join(cdir, "info.yml"), "w") as fh:
            fh.write(f"rule_metadata:\n  - id: {rid}\n")
        with open(os.path.join(cdir, f"case{i:05d}.json"), "w") as fh:
            json.dump(ev, fh)
    rules = sorted({by_id[rid][0] for rid, _, _ in cases})
    out = subprocess.run([ruleqc, "--output-format", "json", "test", "--engine", "sqlite", *rules, work],
                         capture_output=True, text=True)
    doc = json.loads(out.stdout)
    ours = {}
    for r in doc.get("rules", []):
        for t in r.get("tests", []):
            name = t["name"].split(".json")[0]
            ours[(r["rule_id"], name)] = t["verdicts"]["reference"]
    diffs = collections.Counter()
    examples = collections.defaultdict(list)
    agree = collections.Counter()
    for i, (rid, kind, ev) in enumerate(cases):
        f, text = by_id[rid]
        mine = ours.get((rid, f"case{i:05d}"))
        try:
            from sigma.collection import SigmaCollection
            queries = sqliteBackend().convert(SigmaCollection.from_yaml(text))
        except Exception as e:
            diffs[f"pySigma cannot convert ({type(e).__name__})"] += 1
            continue
        row = sigma_fields(ev)
        con = sqlite3.connect(":memory:")
        # SQLite leaves REGEXP to the application; pySigma's queries use it.
        con.create_function("REGEXP", 2, lambda p, v: v is not None and re.search(p, str(v)) is not None)
        cols = list(row.keys())
        con.execute("CREATE TABLE logs (" + ", ".join(f'"{c}"' for c in cols) + ")")
        con.execute("INSERT INTO logs VALUES (" + ", ".join("?" for _ in cols) + ")",
                    [json.dumps(v) if isinstance(v, (dict, list)) else v for v in row.values()])
        theirs = False
        try:
            for q in queries:
                q = q.replace("<TABLE_NAME>", "logs")
                if con.execute(q).fetchall():
                    theirs = True
        except sqlite3.Error as e:
            diffs[f"pySigma query fails in SQLite ({str(e).split(':')[0]})"] += 1
            examples[f"pySigma query fails in SQLite ({str(e).split(':')[0]})"].append(os.path.basename(f))
            continue
        if mine is None:
            diffs["no ruleqc verdict"] += 1
            continue
        if mine == theirs:
            agree[f"{kind.split()[0]} {mine}"] += 1
            continue
        key = f"{kind.split()[0]}: ruleqc {mine}, pySigma {theirs}"
        diffs[key] += 1
        examples[key].append(f"{os.path.basename(f)} ({kind})")
    print(f"cases: {len(cases)} ({sum(1 for c in cases if c[1] == 'sample')} sample events, "
          f"{sum(1 for c in cases if c[1] != 'sample')} near misses); ruleqc and pySigma SQLite agree on "
          f"{sum(agree.values())}: " + ", ".join(f"{k} {v}" for k, v in sorted(agree.items())))
    for k, v in diffs.most_common():
        print(f"  {k}: {v}; e.g. {', '.join(examples[k][:3])}")


if __name__ == "__main__":
    if sys.argv[1] == "counts":
        counts(sys.argv[2])
    else:
        samples(sys.argv[2], sys.argv[3], sys.argv[4])
