// Seeds one CRM tenant through the public Parse REST API, identically for any Parse-speaking server:
// sign-up of one user, schemas (fields, then requiresAuthentication CLPs and indexes) with the master
// key, then companies, contacts, deals and activities through /batch (50 per request, several requests
// in flight). Writes <out>/data.lua for the wrk scripts and prints one JSON line with the timings.
//
//   node bench/seed.mjs --url http://127.0.0.1:PORT/parse --master-key KEY --deals 10000 --out DIR
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, arg, i, all) => {
  if (arg.startsWith('--')) pairs.push([arg.slice(2), all[i + 1]]);
  return pairs;
}, []));
const url = args.url;
const masterKey = args['master-key'];
const deals = Number(args.deals ?? 10000);
const out = args.out;
const inFlight = Number(args.concurrency ?? 6);
if (!url || !masterKey || !out || !(deals >= 10)) {
  console.error('usage: seed.mjs --url URL --master-key KEY --deals N (>= 10) --out DIR [--concurrency N]');
  process.exit(2);
}

export const STAGES = ['lead', 'qualified', 'proposal', 'negotiation', 'won', 'lost'];
const counts = { companies: Math.max(1, Math.floor(deals / 50)), contacts: Math.max(1, Math.floor(deals / 5)), deals, activities: deals * 2 };
const BATCH = 50;
const username = 'bench-owner';
const password = 'bench-password-1';

async function call(method, path, body, { master = false, token } = {}) {
  const headers = { 'X-Parse-Application-Id': 'crm', 'Content-Type': 'application/json' };
  if (master) headers['X-Parse-Master-Key'] = masterKey;
  if (token) headers['X-Parse-Session-Token'] = token;
  const response = await fetch(url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text);
}

const pointer = (className, objectId) => ({ __type: 'Pointer', className, objectId });
const date = (days) => ({ __type: 'Date', iso: new Date(Date.UTC(2026, 0, 1) + days * 86_400_000).toISOString() });

const started = performance.now();
const user = await call('POST', '/users', { username, password, email: 'bench-owner@example.com' });
const token = user.sessionToken;
const userId = user.objectId;
if (!token || !userId) throw new Error('sign-up returned no session token');
const acl = { [userId]: { read: true, write: true } };

// Schemas: fields first, then the CLP and indexes (which name those fields).
const authOnly = { requiresAuthentication: true };
const clp = { find: authOnly, get: authOnly, count: authOnly, create: authOnly, update: authOnly, delete: authOnly, addField: {} };
const schemas = {
  Company: { fields: { name: { type: 'String' }, industry: { type: 'String' }, website: { type: 'String' } } },
  Contact: {
    fields: { name: { type: 'String' }, email: { type: 'String' }, phone: { type: 'String' }, company: { type: 'Pointer', targetClass: 'Company' } },
  },
  Deal: {
    fields: {
      title: { type: 'String' }, amount: { type: 'Number' }, stage: { type: 'String' },
      contact: { type: 'Pointer', targetClass: 'Contact' }, company: { type: 'Pointer', targetClass: 'Company' },
      expectedCloseDate: { type: 'Date' }, assignedTo: { type: 'Pointer', targetClass: '_User' },
    },
    indexes: { stage_expectedCloseDate: { stage: 1, expectedCloseDate: 1 } },
  },
  Activity: {
    fields: { type: { type: 'String' }, subject: { type: 'String' }, dueDate: { type: 'Date' }, relatedTo: { type: 'Pointer', targetClass: 'Deal' } },
    indexes: { relatedTo: { relatedTo: 1 } },
  },
};
for (const [className, { fields, indexes }] of Object.entries(schemas)) {
  await call('POST', `/schemas/${className}`, { className, fields }, { master: true });
  await call('PUT', `/schemas/${className}`, { className, classLevelPermissions: clp, ...(indexes ? { indexes } : {}) }, { master: true });
}
const schemaDone = performance.now();

/** Creates objects through /batch, `inFlight` batches at a time; returns their ids in order. */
async function createAll(className, total, make) {
  const ids = new Array(total);
  let next = 0;
  const mountPath = new URL(url).pathname.replace(/\/$/, '');
  async function worker() {
    while (next < total) {
      const start = next;
      next = Math.min(total, next + BATCH);
      const requests = [];
      for (let i = start; i < next; i++) requests.push({ method: 'POST', path: `${mountPath}/classes/${className}`, body: { ...make(i), ACL: acl } });
      const results = await call('POST', '/batch', { requests }, { token });
      if (!Array.isArray(results) || results.length !== requests.length) throw new Error(`/batch for ${className} answered ${JSON.stringify(results).slice(0, 300)}`);
      results.forEach((result, k) => {
        if (!result.success?.objectId) throw new Error(`/batch item for ${className} failed: ${JSON.stringify(result).slice(0, 300)}`);
        ids[start + k] = result.success.objectId;
      });
    }
  }
  await Promise.all(Array.from({ length: inFlight }, worker));
  return ids;
}

const industries = ['software', 'retail', 'energy', 'health', 'finance', 'logistics'];
const companies = await createAll('Company', counts.companies, (i) => ({
  name: `Company ${i}`, industry: industries[i % industries.length], website: `https://company${i}.example.com`,
}));
const contacts = await createAll('Contact', counts.contacts, (i) => ({
  name: `Contact ${i}`, email: `contact${i}@example.com`, phone: `+1-555-${String(i).padStart(7, '0')}`,
  company: pointer('Company', companies[i % companies.length]),
}));
const dealIds = await createAll('Deal', counts.deals, (i) => ({
  title: `Deal ${i}`, amount: 1000 + ((i * 7919) % 99_000), stage: STAGES[i % STAGES.length],
  contact: pointer('Contact', contacts[i % contacts.length]), company: pointer('Company', companies[i % companies.length]),
  expectedCloseDate: date((i * 37) % 365), assignedTo: pointer('_User', userId),
}));
const kinds = ['call', 'email', 'meeting'];
await createAll('Activity', counts.activities, (i) => ({
  type: kinds[i % kinds.length], subject: `Follow-up ${i}`, dueDate: date((i * 13) % 365),
  relatedTo: pointer('Deal', dealIds[Math.floor(i / 2)]),
}));
const seeded = performance.now();

// Check what landed, with the master key, so both servers are known to hold the same data.
for (const [className, expected] of [['Company', counts.companies], ['Contact', counts.contacts], ['Deal', counts.deals], ['Activity', counts.activities]]) {
  // A where clause: parse-server on PostgreSQL answers an unconstrained count from the planner's estimate.
  const where = encodeURIComponent(JSON.stringify({ objectId: { $exists: true } }));
  const { count } = await call('GET', `/classes/${className}?where=${where}&count=1&limit=0`, undefined, { master: true });
  if (count !== expected) throw new Error(`${className}: expected ${expected} objects, the server counts ${count}`);
}

// The wrk scripts read this: the session, and 1,000 deal ids spread over the whole set.
const rotating = Array.from({ length: Math.min(1000, dealIds.length) }, (_, k) => dealIds[Math.floor((k * dealIds.length) / Math.min(1000, dealIds.length))]);
const lua = (value) => JSON.stringify(value); // JSON strings of [A-Za-z0-9:_.@-] are valid Lua strings
writeFileSync(join(out, 'data.lua'), `return {
  token = ${lua(token)}, userId = ${lua(userId)}, username = ${lua(username)}, password = ${lua(password)},
  company = ${lua(companies[0])}, contact = ${lua(contacts[0])},
  stages = { ${STAGES.map(lua).join(', ')} },
  deals = { ${rotating.map(lua).join(', ')} },
}
`);
const objects = counts.companies + counts.contacts + counts.deals + counts.activities;
console.log(JSON.stringify({
  objects, ...counts,
  schemaSeconds: +((schemaDone - started) / 1000).toFixed(2),
  seedSeconds: +((seeded - started) / 1000).toFixed(2),
  objectsPerSecond: Math.round(objects / ((seeded - schemaDone) / 1000)),
}));
