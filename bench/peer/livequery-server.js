// parse-server 9.10 with its LiveQuery server on the same HTTP server (ws://host:port/parse), the peer of
// bench/livequery.sh. Configuration from the environment, as server.js.
'use strict';
process.env.PARSE_SERVER_LOGS_FOLDER = 'null';
const http = require('http');
const express = require('express');
const { ParseServer } = require('parse-server');

const port = Number(process.env.PEER_PORT);
(async () => {
  const api = new ParseServer({
    appId: 'crm',
    masterKey: process.env.PEER_MASTER_KEY,
    masterKeyIps: ['127.0.0.1', '::1'],
    databaseURI: process.env.PEER_DATABASE_URI,
    serverURL: `http://127.0.0.1:${port}/parse`,
    liveQuery: { classNames: [process.env.PEER_LIVEQUERY_CLASS || 'LqBench'] },
    logLevel: 'error',
    logsFolder: null,
    verifyServerUrl: false,
  });
  await api.start();
  const app = express();
  app.use('/parse', api.app);
  const server = http.createServer(app);
  await new Promise(resolve => server.listen(port, '127.0.0.1', resolve));
  await ParseServer.createLiveQueryServer(server);
  process.stdout.write(`parse-server with LiveQuery listening on 127.0.0.1:${port}\n`);
})().catch(error => {
  process.stderr.write(`parse-server failed to start: ${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
