#!/usr/bin/env node
// Parses and analyses KQL queries with Microsoft's Kusto.Language (the npm package
// @kusto/language-service-next, pinned in package.json), for ruleqc's test suite.
//
// Input, one JSON object per line on stdin:
//   {"id": any, "query": "KQL text",
//    "table": "Name_CL", "columns": {"col": "string|long|real|bool|dynamic|datetime|int|..."},
//    "tables": {"Other_CL": {...}},   // optional: more tables, same shape as "columns"
//    "literals": true}                // optional: also report every string literal's value
// Output, one JSON object per input line, in order, written as soon as the line is analysed:
//   {"id": ..., "diagnostics": [{"code", "message", "start", "length", "line", "column"}],
//    "literals": ["decoded value", ...]}
// Only diagnostics of severity Error are reported. A line that cannot be read is answered with a
// diagnostic whose code is "VALIDATOR", so the caller fails instead of skipping it.

"use strict";

const path = require("path");
const readline = require("readline");

const pkg = path.join(__dirname, "node_modules", "@kusto", "language-service-next");
try {
    // Bridge.NET runtime first, then the compiled Kusto.Language assembly; both attach to global.
    require(path.join(pkg, "bridge.js"));
    require(path.join(pkg, "Kusto.Language.Bridge.js"));
} catch (e) {
    process.stderr.write(
        `cannot load @kusto/language-service-next (${e.message}); run: npm ci --prefix tests/kql\n`
    );
    process.exit(3);
}

const K = global.Kusto.Language;
const Sym = K.Symbols;

const TYPES = {
    string: Sym.ScalarTypes.String,
    long: Sym.ScalarTypes.Long,
    int: Sym.ScalarTypes.Int,
    real: Sym.ScalarTypes.Real,
    bool: Sym.ScalarTypes.Bool,
    dynamic: Sym.ScalarTypes.Dynamic,
    datetime: Sym.ScalarTypes.DateTime,
    timespan: Sym.ScalarTypes.TimeSpan,
    guid: Sym.ScalarTypes.Guid,
    decimal: Sym.ScalarTypes.Decimal,
};

function tableSymbol(name, columns) {
    const cols = Object.entries(columns || {}).map(([col, ty]) => {
        const t = TYPES[ty];
        if (!t) {
            throw new Error(`unknown column type \`${ty}\` for column \`${col}\` of \`${name}\``);
        }
        return new Sym.ColumnSymbol(col, t, null, null, null, null);
    });
    return new Sym.TableSymbol.$ctor4(name, cols);
}

function globalsFor(req) {
    const tables = [];
    if (req.table) {
        tables.push(tableSymbol(req.table, req.columns));
    }
    for (const [name, cols] of Object.entries(req.tables || {})) {
        tables.push(tableSymbol(name, cols));
    }
    const db = new Sym.DatabaseSymbol.$ctor1("ruleqc", tables, false);
    return K.GlobalState.Default.WithDatabase(db);
}

// 1-based line and column of a UTF-16 offset (Kusto.Language positions are JS string offsets).
function lineCol(text, offset) {
    let line = 1;
    let col = 1;
    for (let i = 0; i < offset && i < text.length; i++) {
        if (text[i] === "\n") {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    return [line, col];
}

function analyse(req) {
    if (typeof req.query !== "string") {
        throw new Error("`query` must be a string");
    }
    const code = K.KustoCode.ParseAndAnalyze(req.query, globalsFor(req));
    const all = code.GetDiagnostics();
    const diagnostics = [];
    for (let i = 0; i < all.Count; i++) {
        const d = all.getItem(i);
        if (d.Severity !== "Error") {
            continue;
        }
        const [line, column] = lineCol(req.query, d.Start);
        diagnostics.push({
            code: d.Code,
            message: d.Message,
            start: d.Start,
            length: d.Length,
            line,
            column,
        });
    }
    const out = { id: req.id, diagnostics };
    if (req.literals) {
        const literals = [];
        code.Syntax.WalkTokens((t) => {
            if (t.Kind === K.Syntax.SyntaxKind.StringLiteralToken) {
                literals.push(K.KustoFacts.GetStringLiteralValue(t.Text));
            }
        });
        out.literals = literals;
    }
    return out;
}

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });
rl.on("line", (line) => {
    if (line.trim() === "") {
        return;
    }
    let out;
    let id = null;
    try {
        const req = JSON.parse(line);
        id = req.id === undefined ? null : req.id;
        out = analyse(req);
    } catch (e) {
        out = {
            id,
            diagnostics: [
                { code: "VALIDATOR", message: String(e.message || e), start: 0, length: 0, line: 1, column: 1 },
            ],
        };
    }
    process.stdout.write(JSON.stringify(out) + "\n");
});
