// Starts parse-server, the benchmark's peer, on PostgreSQL. Configuration comes from the environment
// (set by bench/run.sh); every option that matters for a fair comparison is spelled out here.
'use strict';
// No log files under ./logs: parse-server's module-level logger reads this before any option is seen.
process.env.PARSE_SERVER_LOGS_FOLDER = 'null';
const { ParseServer } = require('parse-server');

const port = Number(process.env.PEER_PORT);
const options = {
  appId: 'crm',
  masterKey: process.env.PEER_MASTER_KEY,
  masterKeyIps: ['127.0.0.1', '::1'],
  databaseURI: process.env.PEER_DATABASE_URI,
  serverURL: `http://127.0.0.1:${port}/parse`,
  mountPath: '/parse',
  port,
  host: '127.0.0.1',
  // Defaults, stated so the comparison is explicit: clients cannot create classes, no rate limit,
  // bcrypt cost 10 (fixed in parse-server), and the same maxLimit as the server under test.
  allowClientClassCreation: false,
  maxLimit: 1000,
  // Errors only: neither server logs each request.
  logLevel: 'error',
  // To the console (captured by run.sh), not into files under ./logs.
  logsFolder: null,
  verifyServerUrl: false,
};

ParseServer.startApp(options).then(
  () => process.stdout.write(`parse-server listening on 127.0.0.1:${port}\n`),
  (error) => {
    process.stderr.write(`parse-server failed to start: ${error && error.stack ? error.stack : error}\n`);
    process.exit(1);
  },
);
