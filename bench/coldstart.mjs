// Cold start: starts the server N times and measures, from the moment the process is spawned,
//   - "health": the first /parse/health answered 200, on a fresh (empty) data folder — the template is applied, the
//     schema created, everything a first start does;
//   - "first get": the first authenticated GET /parse/classes/Deal/:id answered 200 (a session, the CLP and the ACL
//     checked), on a data folder that already holds the user and the deal — what a warm Functions instance that was
//     scaled to zero does when a request wakes it;
// and the resident memory (VmRSS) right after each. Polls every 2 ms with keep-alive off, so the time includes opening
// a connection as a first client's would.
//
// Env: EXE (the executable), ARGS (JSON array, optional), CWD (optional), PORT_ENV (the variable naming the port:
// FUNCTIONS_CUSTOMHANDLER_PORT for the Functions-host shape, otherwise ASPNETCORE_URLS is set), STARTS (default 10),
// LABEL. Prints one JSON line.
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const exe = process.env.EXE ?? (() => { throw new Error('EXE is not set'); })();
const args = JSON.parse(process.env.ARGS ?? '[]');
const starts = Number(process.env.STARTS ?? '10');
const portEnv = process.env.PORT_ENV ?? '';
const label = process.env.LABEL ?? exe;
const appId = 'crm', masterKey = 'coldstart-master-key-0123456789';
// A port the system just handed out and took back: free, unlike a guessed one on a machine running other servers.
const freePort = () => new Promise((resolve, reject) => {
  const probe = createServer().once('error', reject).listen(0, '127.0.0.1', () => { const { port } = probe.address(); probe.close(() => resolve(port)); });
});

const start = async dataFolder => {
  const port = await freePort();
  const env = {
    ...process.env,
    ASPNETCORE_ENVIRONMENT: 'Production',
    Parse__AppId: appId, Parse__MasterKey: masterKey, Parse__DataFolder: dataFolder,
    Parse__PublicServerUrl: `http://127.0.0.1:${port}/parse`,
    Logging__LogLevel__Default: 'Warning',
  };
  if (portEnv) env[portEnv] = String(port); else env.ASPNETCORE_URLS = `http://127.0.0.1:${port}`;
  const spawned = process.hrtime.bigint();
  const child = spawn(exe, args, { env, cwd: process.env.CWD, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', d => { stderr += d; });
  return { child, port, spawned, stderr: () => stderr };
};

const stop = server => new Promise(resolve => {
  if (server.child.exitCode !== null) return resolve();
  server.child.once('exit', resolve);
  server.child.kill('SIGTERM');
});

// Polls until the request answers 200; returns milliseconds since the spawn.
const until200 = async (server, path, headers = {}) => {
  const deadline = Date.now() + 30_000;
  let last = 'no answer';
  for (;;) {
    if (server.child.exitCode !== null) throw new Error(`${label} exited with ${server.child.exitCode}: ${server.stderr()}`);
    try {
      const response = await fetch(`http://127.0.0.1:${server.port}${path}`, { headers: { Connection: 'close', ...headers } });
      const body = await response.text();
      last = `${response.status} ${body.slice(0, 200)}`;
      if (response.status === 200) return Number(process.hrtime.bigint() - server.spawned) / 1e6;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error(`${label}: ${path} did not answer 200 within 30 s (last: ${last}; log: ${server.stderr().slice(0, 600)})`);
    await new Promise(resolve => setTimeout(resolve, 2));
  }
};

const rssMb = pid => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;

// The seeded folder: one start that signs a user up and creates a deal, then stops (its data is checkpointed on exit).
const seeded = mkdtempSync(join(tmpdir(), 'coldstart-seed-'));
let token, dealId;
{
  const server = await start(seeded);
  await until200(server, '/parse/health');
  const headers = { 'X-Parse-Application-Id': appId, 'Content-Type': 'application/json' };
  const user = await (await fetch(`http://127.0.0.1:${server.port}/parse/users`, {
    method: 'POST', headers, body: JSON.stringify({ username: `cold${Date.now()}`, password: 'cold start password 1' }),
  })).json();
  token = user.sessionToken;
  const deal = await (await fetch(`http://127.0.0.1:${server.port}/parse/classes/Deal`, {
    method: 'POST', headers: { ...headers, 'X-Parse-Session-Token': token }, body: JSON.stringify({ title: 'Cold start', amount: 1000, stage: 'lead' }),
  })).json();
  if (!token || !deal.objectId) throw new Error(`seeding failed: ${JSON.stringify(user)} ${JSON.stringify(deal)}`);
  dealId = deal.objectId;
  await stop(server);
}

const health = [], firstGet = [], rssHealth = [], rssGet = [];
for (let i = 0; i < starts; i++) {
  const fresh = mkdtempSync(join(tmpdir(), 'coldstart-fresh-'));
  let server = await start(fresh);
  health.push(await until200(server, '/parse/health'));
  rssHealth.push(rssMb(server.child.pid));
  await stop(server);
  rmSync(fresh, { recursive: true, force: true });

  const copy = mkdtempSync(join(tmpdir(), 'coldstart-copy-'));
  cpSync(seeded, copy, { recursive: true });
  server = await start(copy);
  firstGet.push(await until200(server, `/parse/classes/Deal/${dealId}`, { 'X-Parse-Application-Id': appId, 'X-Parse-Session-Token': token }));
  rssGet.push(rssMb(server.child.pid));
  await stop(server);
  rmSync(copy, { recursive: true, force: true });
}
rmSync(seeded, { recursive: true, force: true });

const median = list => { const s = [...list].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const round = n => Math.round(n);
console.log(JSON.stringify({
  label, starts,
  healthMedianMs: round(median(health)), healthMaxMs: round(Math.max(...health)),
  firstGetMedianMs: round(median(firstGet)), firstGetMaxMs: round(Math.max(...firstGet)),
  rssAfterHealthMb: round(median(rssHealth)), rssAfterFirstGetMb: round(median(rssGet)),
}));
