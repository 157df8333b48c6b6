// Runs BigQuery SQL through Google's ZetaSQL (the GoogleSQL analyser and reference
// implementation, as the local gRPC service in @fivetrandevelopers/zetasql, pinned in
// package-lock.json) for tests/engine_bigquery.rs. One process serves a whole test binary.
//
// It starts the package's server binary on a free loopback port, then prints
//   {"ready": {"package": <version>, "features": [<language features enabled>]}}
// and answers one JSON line per request line
//   {"table": name, "columns": [[name, "STRING"|"INT64"|"DOUBLE"|"BOOL"|"JSON"], ...],
//    "rows": [[cell, ...], ...], "queries": [sql, ...]}
// or, to only analyse queries over several tables (no rows),
//   {"tables": [[name, columns], ...], "queries": [sql, ...], "analyze_only": true}
// where a cell is null (SQL NULL) or the value (a JSON column's cell is its JSON text, an
// INT64 cell a decimal string). For each query it runs Analyze against a catalog holding the
// table, then EvaluateQuery with the rows as the table's content, and answers
//   {"results": [{"analyze_error": null | message, "evaluate_error": null | message,
//                 "rows": [[first column's value as text or null], ...] | null}, ...]}
//
// Language options: ZetaSQL's released features (LanguageVersion VERSION_CURRENT) in the
// external product mode BigQuery uses, plus the JSON features BigQuery has (BIGQUERY_FEATURES).

'use strict';

const path = require('path');
const net = require('net');
const readline = require('readline');
const { execFile } = require('child_process');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const PKG = path.dirname(require.resolve('@fivetrandevelopers/zetasql/package.json'));
const PROTOS = path.join(PKG, 'lib', 'zetasql', 'protos');
// The package's Linux server binaries end in `.so` (the one without is for macOS).
const SERVER = path.join(PKG, 'lib', 'zetasql',
  `remote_server${process.arch.startsWith('arm') ? '_arm' : ''}${process.platform === 'darwin' ? '' : '.so'}`);

// BigQuery's JSON support, on top of the released language version.
const BIGQUERY_FEATURES = [
  'FEATURE_JSON_TYPE',
  'FEATURE_JSON_ARRAY_FUNCTIONS',
  'FEATURE_JSON_VALUE_EXTRACTION_FUNCTIONS',
  'FEATURE_JSON_LAX_VALUE_EXTRACTION_FUNCTIONS',
  'FEATURE_JSON_CONSTRUCTOR_FUNCTIONS',
  'FEATURE_JSON_MUTATOR_FUNCTIONS',
  'FEATURE_JSON_KEYS_FUNCTION',
];

const TYPE_KINDS = {
  STRING: 'TYPE_STRING',
  INT64: 'TYPE_INT64',
  DOUBLE: 'TYPE_DOUBLE',
  BOOL: 'TYPE_BOOL',
  JSON: 'TYPE_JSON',
  TIMESTAMP: 'TYPE_TIMESTAMP',
};

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function call(client, method, request) {
  return new Promise((resolve, reject) => {
    client[method](request, { deadline: Date.now() + 60000 }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

function cell(type, v) {
  if (v === null) return {};
  switch (type) {
    case 'STRING': return { stringValue: v };
    case 'INT64': return { int64Value: String(v) };
    case 'DOUBLE': return { doubleValue: v };
    case 'BOOL': return { boolValue: v };
    case 'JSON': return { jsonValue: v };
    default: throw new Error(`unknown column type ${type}`);
  }
}

// The first column of a result value, as text (null for SQL NULL).
function text(value) {
  for (const k of ['int64Value', 'stringValue', 'doubleValue', 'boolValue', 'jsonValue']) {
    if (value[k] !== undefined && value[k] !== null) return String(value[k]);
  }
  return null;
}

async function main() {
  const def = protoLoader.loadSync('local_service.proto', {
    includeDirs: [PROTOS],
    longs: String,
    enums: String,
    oneofs: true,
  });
  const proto = grpc.loadPackageDefinition(def);
  const port = await freePort();
  const server = execFile(SERVER, ['127.0.0.1', String(port)], { maxBuffer: 1 << 30 });
  // Its start-up lines ("Server listening on ...") are not news; errors are.
  server.stdout.resume();
  server.stderr.on('data', d => process.stderr.write(d));
  const stop = () => { try { server.kill('SIGKILL'); } catch (_) { /* gone */ } };
  process.on('exit', stop);
  const client = new proto.zetasql.local_service.ZetaSqlLocalService(
    `127.0.0.1:${port}`,
    grpc.credentials.createInsecure(),
    { 'grpc.max_send_message_length': 1 << 29, 'grpc.max_receive_message_length': 1 << 29 },
  );
  await new Promise((resolve, reject) =>
    client.waitForReady(Date.now() + 30000, e => (e ? reject(e) : resolve())));

  const current = await call(client, 'getLanguageOptions', { languageVersion: 'VERSION_CURRENT' });
  const features = [...new Set([...(current.enabledLanguageFeatures || []), ...BIGQUERY_FEATURES])];
  const languageOptions = {
    productMode: 'PRODUCT_EXTERNAL',
    nameResolutionMode: 'NAME_RESOLUTION_DEFAULT',
    enabledLanguageFeatures: features,
    supportedStatementKinds: ['RESOLVED_QUERY_STMT'],
  };
  const options = { languageOptions, errorMessageMode: 'ERROR_MESSAGE_ONE_LINE' };
  const version = require(path.join(PKG, 'package.json')).version;
  process.stdout.write(JSON.stringify({ ready: { package: version, features: BIGQUERY_FEATURES } }) + '\n');

  const rl = readline.createInterface({ input: process.stdin, terminal: false });
  for await (const line of rl) {
    if (!line.trim()) continue;
    const req = JSON.parse(line);
    const tables = req.analyze_only ? req.tables : [[req.table, req.columns]];
    const catalog = {
      name: 'ruleqc',
      table: tables.map(([name, columns]) => ({
        name,
        column: columns.map(([c, type]) => ({ name: c, type: { typeKind: TYPE_KINDS[type] } })),
      })),
      builtinFunctionOptions: { languageOptions },
    };
    const content = req.analyze_only ? {} : {
      [req.table]: {
        tableData: {
          row: req.rows.map(r => ({ cell: r.map((v, i) => cell(req.columns[i][1], v)) })),
        },
      },
    };
    const results = [];
    for (const sql of req.queries) {
      const r = { analyze_error: null, evaluate_error: null, rows: null };
      try {
        await call(client, 'analyze', { options, simpleCatalog: catalog, sqlStatement: sql });
      } catch (e) {
        r.analyze_error = e.details || String(e);
      }
      if (r.analyze_error === null && !req.analyze_only) {
        try {
          const res = await call(client, 'evaluateQuery', {
            sql, options, simpleCatalog: catalog, tableContent: content,
          });
          const rows = (res.content && res.content.tableData && res.content.tableData.row) || [];
          r.rows = rows.map(row => text(row.cell[0]));
        } catch (e) {
          r.evaluate_error = e.details || String(e);
        }
      }
      results.push(r);
    }
    process.stdout.write(JSON.stringify({ results }) + '\n');
  }
  stop();
  process.exit(0);
}

main().catch(e => {
  process.stderr.write(`zetasql: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
