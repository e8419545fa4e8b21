// Parse Dashboard (the npm package) as express middleware on a loopback port, pointed at this server.
import express from 'express';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const ParseDashboard = require('parse-dashboard');

/** Starts the dashboard; resolves to { url, close() }. */
export async function serveDashboard({ serverURL, graphQLServerURL, appId, masterKey, appName, user, pass }) {
  const dashboard = new ParseDashboard({
    apps: [{ serverURL, graphQLServerURL, appId, masterKey, appName }],
    users: [{ user, pass }],
    trustProxy: 1,
  }, { allowInsecureHTTP: true, cookieSessionSecret: 'dashboard-test-cookie-secret' });
  const app = express();
  app.use('/dashboard', dashboard);
  const server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${server.address().port}/dashboard`;
  return { url, close: () => new Promise((resolve) => server.close(resolve)) };
}
