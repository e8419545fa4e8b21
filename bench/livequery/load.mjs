// LiveQuery load: CLIENTS WebSocket clients spread over USERS users, each subscribed to the bench class; the master
// key writes at RATE writes/s for SECONDS (creates, then updates of the created objects), each object readable by one
// user (its ACL), so each write should reach CLIENTS / USERS clients. Measures, per delivered event, the time from
// the start of the write request to the event's arrival (one process, one clock), and reports p50 / p99, events/s,
// missing events and the server's peak RSS (VmHWM of SERVER_PID). As the REST scenarios do, a warm-up of WARMUP seconds
// at the same rate runs first and is discarded (a fresh process's first writes pay for JIT and pool growth). The worst
// per-second p99 of the measured run is reported too, to tell a steady tail from one stall. Env: URL
// (http://127.0.0.1:port/parse), APP_ID, MASTER_KEY, SERVER_PID; CLIENTS, USERS, RATE, SECONDS, WARMUP, CLASS.
import WebSocket from 'ws';
import { readFileSync } from 'node:fs';

const env = (name, fallback) => process.env[name] ?? fallback ?? (() => { throw new Error(`${name} is not set`); })();
const url = env('URL'), appId = env('APP_ID'), masterKey = env('MASTER_KEY');
const clients = Number(env('CLIENTS', '200')), users = Number(env('USERS', '10'));
const rate = Number(env('RATE', '50')), seconds = Number(env('SECONDS', '10')), warmup = Number(env('WARMUP', '0'));
const serverPid = env('SERVER_PID', '');
const className = env('CLASS', 'LqBench');
const headers = { 'X-Parse-Application-Id': appId, 'Content-Type': 'application/json' };
const master = { ...headers, 'X-Parse-Master-Key': masterKey };

const rest = async (method, path, body, extra = master) => {
  const response = await fetch(`${url}/${path}`, { method, headers: extra, body: body === undefined ? undefined : JSON.stringify(body) });
  const json = await response.json();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
};
const rss = () => {
  if (!serverPid) return null;
  const status = readFileSync(`/proc/${serverPid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(status)[1]) / 1024;
};

await rest('POST', `schemas/${className}`, { className, fields: { n: { type: 'Number' }, tag: { type: 'String' } } }).catch(e => { if (!/"code":103/.test(e.message)) throw e; });
const people = [];
for (let i = 0; i < users; i++) {
  const username = `lq${Date.now()}_${i}`;
  const user = await rest('POST', 'users', { username, password: 'bench password 1' }, headers);
  people.push({ id: user.objectId, token: user.sessionToken });
}

// Opens the sockets in waves so that neither server is measured on its connect storm.
const sockets = [];
const sent = new Map(); // n (unique per write) → hrtime of the write's start
const latencies = [];
const bySecond = []; // measured second → latencies of the events of writes started in it
let measuring = false, measureStart = 0n;
let received = 0, errors = 0;
const open = i => new Promise((resolve, reject) => {
  const person = people[i % users];
  const ws = new WebSocket(url.replace(/^http/, 'ws'));
  ws.on('error', reject);
  ws.on('open', () => {
    ws.send(JSON.stringify({ op: 'connect', applicationId: appId, sessionToken: person.token }));
    ws.send(JSON.stringify({ op: 'subscribe', requestId: 1, query: { className, where: {} } }));
  });
  ws.on('message', data => {
    const now = process.hrtime.bigint();
    const frame = JSON.parse(data.toString());
    if (frame.op === 'subscribed') return resolve(ws);
    // A refusal before the subscription (a connection cap, a bad token) fails the run instead of waiting forever.
    if (frame.op === 'error') { errors++; return reject(new Error(`socket ${i} refused: ${frame.code} ${frame.error}`)); }
    if (frame.op === 'create' || frame.op === 'update') {
      const start = sent.get(frame.object.n);
      if (start !== undefined && measuring && start >= measureStart) {
        const ms = Number(now - start) / 1e6;
        latencies.push(ms);
        received++;
        (bySecond[Number((start - measureStart) / 1_000_000_000n)] ??= []).push(ms);
      }
    }
  });
  sockets.push(ws);
});
for (let i = 0; i < clients; i += 50) await Promise.all(Array.from({ length: Math.min(50, clients - i) }, (_, k) => open(i + k)));
const rssConnected = rss();

// Writes at a fixed rate (not closed-loop): a slow server shows as latency, not as fewer writes. Write numbers are
// unique across the warm-up and the measured run, so a late warm-up event is never taken for a measured one.
const created = [];
let nextN = 0;
const writePhase = phaseSeconds => new Promise(done => {
  const total = rate * phaseSeconds;
  const result = { writes: 0, writeErrors: 0, writeLatencies: [], started: process.hrtime.bigint() };
  if (total === 0) return done(result);
  let k = 0, inflight = 0;
  const tick = setInterval(() => {
    const due = Math.min(total, Math.floor(Number(process.hrtime.bigint() - result.started) / 1e9 * rate));
    for (; k < due; k++) {
      const i = nextN++;
      const owner = people[i % users];
      const acl = { [owner.id]: { read: true, write: true } };
      inflight++;
      const start = process.hrtime.bigint();
      const update = created.length > 0 && i % 2 === 1;
      sent.set(i, start);
      const write = update
        ? rest('PUT', `classes/${className}/${created[(i >> 1) % created.length].id}`, { n: i })
        : rest('POST', `classes/${className}`, { n: i, tag: 'bench', ACL: acl }).then(r => { created.push({ id: r.objectId }); });
      write.then(() => { result.writes++; result.writeLatencies.push(Number(process.hrtime.bigint() - start) / 1e6); }, () => result.writeErrors++)
        .finally(() => { inflight--; if (k >= total && inflight === 0) { clearInterval(tick); done(result); } });
    }
  }, 5);
});
await writePhase(warmup);
if (warmup > 0) await new Promise(resolve => setTimeout(resolve, 1000)); // the warm-up's last events, not measured
measuring = true;
measureStart = process.hrtime.bigint();
const { writes, writeErrors, writeLatencies, started } = await writePhase(seconds);
await new Promise(resolve => setTimeout(resolve, 2000)); // the last events
const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
for (const ws of sockets) ws.terminate();

latencies.sort((a, b) => a - b);
writeLatencies.sort((a, b) => a - b);
const pctOf = (list, p) => list.length ? list[Math.min(list.length - 1, Math.floor(p / 100 * list.length))] : NaN;
const pct = p => pctOf(latencies, p);
const expected = writes * (clients / users);
const worstSecondP99 = Math.max(...bySecond.filter(Boolean).map(list => { list.sort((a, b) => a - b); return pctOf(list, 99); }));
console.log(JSON.stringify({
  clients, users, rate, warmup, seconds, writes, writeErrors, errors,
  eventsExpected: Math.round(expected), eventsReceived: received,
  eventsPerSecond: Math.round(received / elapsed),
  writeP50Ms: +pctOf(writeLatencies, 50).toFixed(1), writeP99Ms: +pctOf(writeLatencies, 99).toFixed(1),
  p50Ms: +pct(50).toFixed(1), p99Ms: +pct(99).toFixed(1), maxMs: +pct(100).toFixed(1), worstSecondP99Ms: +worstSecondP99.toFixed(1),
  rssConnectedMb: rssConnected && Math.round(rssConnected), rssPeakMb: rss() && Math.round(rss()),
}));
process.exit(0);
