// Webhook delivery figures (bench/webhooks.sh): a receiver on loopback, one afterSave trigger pointing to it, N creates
// written by C concurrent writers, then: events delivered per second and the delay from the change (the event's
// triggeredAt, stamped at the write) to its arrival, p50/p99. Every event must arrive once at least, else the run fails.
import http from "node:http";
import crypto from "node:crypto";

const [base, masterKey, total = "2000", writers = "16"] = process.argv.slice(2);
const N = Number(total), C = Number(writers);
const headers = { "X-Parse-Application-Id": "crm", "X-Parse-Master-Key": masterKey, "Content-Type": "application/json" };
const arrivals = new Map(); // objectId -> delay in ms (first arrival)
let requests = 0, badSignatures = 0, secret = "", firstArrival = 0, lastArrival = 0, done;
const allArrived = new Promise((resolve) => (done = resolve));

const receiver = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const now = Date.now();
    const body = Buffer.concat(chunks).toString("utf8");
    const expected = crypto.createHmac("sha256", secret).update(req.headers["x-crm-webhook-timestamp"] + "." + body).digest("hex");
    if (expected !== req.headers["x-crm-webhook-signature"]) badSignatures++;
    const event = JSON.parse(body);
    requests++;
    if (!arrivals.has(event.object.objectId)) {
      arrivals.set(event.object.objectId, now - Date.parse(event.triggeredAt));
      firstArrival ||= now;
      lastArrival = now;
      if (arrivals.size === N) done();
    }
    res.writeHead(200, { "Content-Type": "application/json" }).end("{}");
  });
});
await new Promise((r) => receiver.listen(0, "127.0.0.1", r));
const url = `http://127.0.0.1:${receiver.address().port}/events`;

async function call(method, path, body) {
  const response = await fetch(base + path, { method, headers, body: body && JSON.stringify(body) });
  const json = await response.json();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}
secret = (await call("POST", "/hooks/triggers", { className: "BenchEvent", triggerName: "afterSave", url })).secret;

let next = 0;
const started = Date.now();
await Promise.all(Array.from({ length: C }, async () => {
  while (next < N) {
    const i = next++;
    await call("POST", "/classes/BenchEvent", { i });
  }
}));
const written = Date.now();
const bound = setTimeout(() => { console.error(`only ${arrivals.size} of ${N} events arrived within 5 minutes`); process.exit(1); }, 300_000);
await allArrived;
clearTimeout(bound);
receiver.close();

const delays = [...arrivals.values()].sort((a, b) => a - b);
const pct = (p) => delays[Math.min(delays.length - 1, Math.floor((p / 100) * delays.length))];
const seconds = (lastArrival - started) / 1000;
console.log(`writes:     ${N} creates by ${C} writers in ${((written - started) / 1000).toFixed(2)} s (${(N / ((written - started) / 1000)).toFixed(0)} writes/s)`);
console.log(`delivered:  ${N} events in ${seconds.toFixed(2)} s from the first write = ${(N / seconds).toFixed(0)} events/s `
  + `(${requests} requests, ${requests - N} redelivered; ${badSignatures} bad signatures)`);
console.log(`latency:    change to arrival p50 ${pct(50)} ms, p99 ${pct(99)} ms, max ${delays[delays.length - 1]} ms`);
if (badSignatures > 0) process.exit(1);
