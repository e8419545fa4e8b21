// The flexible-schema load: a class created at run time with fields only (no declared index, as users' own classes
// are), 8 clients in a closed loop for a fixed time, identically for any Parse-speaking server. Each request, as one
// of the sales team's users (signed up first; every record carries an `owner` pointer to its user and an owner-only
// ACL):
//   35 % create a record           POST /classes/<Class>
//   30 % my records in two stages  GET  /classes/<Class>?where={"owner":me,"stage":{"$in":[a,b]}}&order=-amount&limit=50
//   15 % get one of mine           GET  /classes/<Class>/:id
//   10 % count an amount range     GET  /classes/<Class>?where={"amount":{"$gte":x,"$lt":y}}&count=1&limit=0
//   10 % increment one of mine     PUT  /classes/<Class>/:id {"amount":{"__op":"Increment","amount":1}}
// Prints one line per interval (req/s, errors, p50/p99, RSS of the given processes, size of the data folder) and
// one JSON line at the end. Any failed request is counted and the run exits 1.
//
//   node bench/flex.mjs --url http://127.0.0.1:PORT/parse --master-key KEY --seconds 360 [--interval 60]
//        [--clients 8] [--users 16] [--pids 123,456] [--data DIR] [--class Pipeline]
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, arg, i, all) => {
  if (arg.startsWith('--')) pairs.push([arg.slice(2), all[i + 1]]);
  return pairs;
}, []));
const url = args.url;
const masterKey = args['master-key'];
const seconds = Number(args.seconds ?? 360);
const interval = Number(args.interval ?? 60);
const clients = Number(args.clients ?? 8);
const userCount = Number(args.users ?? 16);
const className = args.class ?? 'Pipeline';
const pids = (args.pids ?? '').split(',').filter(Boolean).map(Number);
const dataDir = args.data;
if (!url || !masterKey || !(seconds > 0) || !(interval > 0)) {
  console.error('usage: flex.mjs --url URL --master-key KEY --seconds S [--interval S] [--clients N] [--users N] [--pids P,..] [--data DIR]');
  process.exit(2);
}

const STAGES = ['lead', 'qualified', 'proposal', 'negotiation', 'won', 'lost'];

async function call(method, path, body, { master = false, token } = {}) {
  const headers = { 'X-Parse-Application-Id': 'crm', 'Content-Type': 'application/json' };
  if (master) headers['X-Parse-Master-Key'] = masterKey;
  if (token) headers['X-Parse-Session-Token'] = token;
  const response = await fetch(url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path.slice(0, 120)} answered ${response.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

// A deterministic generator, so both servers see the same sequence of operations and values.
let seed = 0x2545f491;
const random = () => {
  seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5;
  return (seed >>> 0) / 4294967296;
};
const pick = (list) => list[Math.floor(random() * list.length)];

// The class, created at run time with its fields and nothing else: no index, default (public) class-level permissions.
await call('POST', `/schemas/${className}`, {
  className,
  fields: {
    title: { type: 'String' }, amount: { type: 'Number' }, stage: { type: 'String' },
    owner: { type: 'Pointer', targetClass: '_User' }, closeDate: { type: 'Date' },
  },
}, { master: true });

const runId = Math.floor(Date.now() / 1000).toString(36);
const users = [];
for (let i = 0; i < userCount; i++) {
  const signed = await call('POST', '/users', { username: `flex-${runId}-${i}`, password: `flex-password-${i}` });
  users.push({ id: signed.objectId, token: signed.sessionToken, records: [] });
}

const ops = ['create', 'query', 'get', 'count', 'increment'];
const shares = [0.35, 0.30, 0.15, 0.10, 0.10];
const chooseOp = () => {
  let roll = random();
  for (let i = 0; i < ops.length; i++) if ((roll -= shares[i]) < 0) return ops[i];
  return ops[ops.length - 1];
};

const started = performance.now();
const deadline = started + seconds * 1000;
let window = { requests: 0, errors: 0, latencies: [] };
const total = { requests: 0, errors: 0, byOp: Object.fromEntries(ops.map((op) => [op, 0])) };
const firstErrors = [];

async function one(op, user) {
  const q = (where, extra) => `/classes/${className}?where=${encodeURIComponent(JSON.stringify(where))}${extra}`;
  switch (op) {
    case 'create': {
      const created = await call('POST', `/classes/${className}`, {
        title: `Deal ${Math.floor(random() * 1e9)}`, amount: Math.floor(random() * 1_000_000), stage: pick(STAGES),
        owner: { __type: 'Pointer', className: '_User', objectId: user.id },
        closeDate: { __type: 'Date', iso: new Date(Date.UTC(2026, 0, 1) + Math.floor(random() * 365) * 86_400_000).toISOString() },
        ACL: { [user.id]: { read: true, write: true } },
      }, { token: user.token });
      user.records.push(created.objectId);
      if (user.records.length > 500) user.records.splice(0, user.records.length - 500);
      return;
    }
    case 'query': {
      const first = pick(STAGES);
      const second = pick(STAGES.filter((s) => s !== first));
      const where = { owner: { __type: 'Pointer', className: '_User', objectId: user.id }, stage: { $in: [first, second] } };
      await call('GET', q(where, '&order=-amount&limit=50'), undefined, { token: user.token });
      return;
    }
    case 'get':
      await call('GET', `/classes/${className}/${pick(user.records)}`, undefined, { token: user.token });
      return;
    case 'count': {
      const low = Math.floor(random() * 900_000);
      await call('GET', q({ amount: { $gte: low, $lt: low + 100_000 } }, '&count=1&limit=0'), undefined, { token: user.token });
      return;
    }
    case 'increment':
      await call('PUT', `/classes/${className}/${pick(user.records)}`, { amount: { __op: 'Increment', amount: 1 } }, { token: user.token });
      return;
  }
}

async function client() {
  while (performance.now() < deadline) {
    const user = pick(users);
    let op = chooseOp();
    if ((op === 'get' || op === 'increment') && user.records.length === 0) op = 'create';
    const t0 = performance.now();
    try {
      await one(op, user);
    } catch (error) {
      window.errors++; total.errors++;
      if (firstErrors.length < 10) firstErrors.push(`${op}: ${error.message}`);
    }
    window.requests++; total.requests++; total.byOp[op]++;
    window.latencies.push(performance.now() - t0);
  }
}

const rssMb = () => pids.reduce((sum, pid) => {
  try { return sum + Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0); } catch { return sum; }
}, 0) / 1024;
// CPU time of the server's processes (utime + stime, and reaped children's), in ms: steadier than req/s on a shared
// machine, where the load of other work changes how much CPU the server gets but not how much a request needs.
const ticksPerMs = 100 / 1000; // CLK_TCK is 100 on Linux
const cpuMs = () => pids.reduce((sum, pid) => {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return sum + (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / ticksPerMs;
  } catch { return sum; }
}, 0);
const sizeMb = (dir) => {
  if (!dir) return 0;
  let bytes = 0;
  const walk = (path) => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) walk(full); else if (entry.isFile()) bytes += statSync(full).size;
    }
  };
  try { walk(dir); } catch { /* a file removed while walking (a WAL checkpoint) */ }
  return bytes / 1048576;
};
const loadAverage = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

console.log(`flex: ${className}, ${clients} clients, ${userCount} users, ${seconds} s, a line per ${interval} s; load average ${loadAverage()}`);
console.log(`${'time'.padStart(6)} ${'requests'.padStart(9)} ${'req/s'.padStart(7)} ${'errors'.padStart(7)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'CPU ms/req'.padStart(10)} ${'RSS MB'.padStart(7)} ${'data MB'.padStart(8)}  load`);
let cpuBefore = cpuMs();
const perInterval = [];
const workers = Array.from({ length: clients }, client);
let next = started + interval * 1000;
while (performance.now() < deadline - 1) {
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(next, deadline) - performance.now())));
  const now = performance.now();
  const { requests, errors, latencies } = window;
  window = { requests: 0, errors: 0, latencies: [] };
  latencies.sort((a, b) => a - b);
  const at = (p) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] : 0);
  const rate = requests / ((now - (next - interval * 1000)) / 1000);
  const cpuNow = cpuMs();
  const cpuPerRequest = requests ? (cpuNow - cpuBefore) / requests : 0;
  cpuBefore = cpuNow;
  const line = { second: Math.round((now - started) / 1000), requests, rps: Math.round(rate), errors, p50: +at(0.5).toFixed(1), p99: +at(0.99).toFixed(1), cpuMsPerRequest: +cpuPerRequest.toFixed(2), rssMb: Math.round(rssMb()), dataMb: +sizeMb(dataDir).toFixed(1), load: loadAverage() };
  perInterval.push(line);
  console.log(`${(line.second + 's').padStart(6)} ${String(requests).padStart(9)} ${String(line.rps).padStart(7)} ${String(errors).padStart(7)} ${line.p50.toFixed(1).padStart(8)} ${line.p99.toFixed(1).padStart(8)} ${line.cpuMsPerRequest.toFixed(2).padStart(10)} ${String(line.rssMb).padStart(7)} ${line.dataMb.toFixed(1).padStart(8)}  ${line.load}`);
  next += interval * 1000;
}
await Promise.all(workers);

const { count } = await call('GET', `/classes/${className}?where=${encodeURIComponent(JSON.stringify({ objectId: { $exists: true } }))}&count=1&limit=0`, undefined, { master: true });
console.log(`records at the end: ${count}; requests: ${JSON.stringify(total.byOp)}; errors: ${total.errors}`);
if (firstErrors.length) console.log('first errors:\n  ' + firstErrors.join('\n  '));
console.log('RESULT ' + JSON.stringify({ perInterval, records: count, requests: total.requests, errors: total.errors }));
process.exit(total.errors ? 1 : 0);
