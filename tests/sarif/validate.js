#!/usr/bin/env node
// Validates one SARIF log (JSON on stdin) against the SARIF 2.1.0 JSON schema, for ruleqc's
// test suite. The schema is the file @microsoft/jest-sarif ships (pinned in package.json);
// ajv 6 validates it (the schema is draft-04). No network is used.
// Prints "valid" and exits 0, or prints each schema error and exits 1; exits 3 when the
// packages are not installed (run: npm ci --prefix tests/sarif).

"use strict";

const path = require("path");

let Ajv, schema, draft4;
try {
    Ajv = require("ajv");
    draft4 = require("ajv/lib/refs/json-schema-draft-04.json");
    schema = require(path.join(
        __dirname, "node_modules", "@microsoft", "jest-sarif", "lib", "schemas",
        "sarif-2.1.0-rtm.5.json"
    ));
} catch (e) {
    process.stderr.write(`cannot load the validator (${e.message}); run: npm ci --prefix tests/sarif\n`);
    process.exit(3);
}

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
    let log;
    try {
        log = JSON.parse(input);
    } catch (e) {
        console.log(`not JSON: ${e.message}`);
        process.exit(1);
    }
    const ajv = new Ajv({ schemaId: "auto", allErrors: true, validateSchema: false });
    ajv.addMetaSchema(draft4);
    const validate = ajv.compile(schema);
    if (validate(log)) {
        console.log("valid");
        process.exit(0);
    }
    for (const e of validate.errors) {
        console.log(`${e.dataPath || "(root)"}: ${e.message} ${JSON.stringify(e.params)}`);
    }
    process.exit(1);
});
