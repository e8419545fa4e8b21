// Starts the Cosmos DB API server on a free loopback port with the certificate the test run generated
// (the package's bundled one has expired) and keep-alive on. Prints "listening <port>" once ready, and
// exits when its parent closes stdin, so a crashed test run never leaves it behind.
const fs = require("fs");
const { createHttpsServer } = require("@vercel/cosmosdb-server");
const Items = require("@vercel/cosmosdb-server/lib/account/items").default;

// Resource ids (_rid) are base64, and Cosmos writes their '/' as '-' wherever a rid goes into a URL; the SDK
// then addresses resources by rid, e.g. GET /dbs/gAA-AA==/colls/…/pkranges for partition key ranges. The
// server keeps rids with '/' and does not map '-' back, so for every database whose rid has a '/' (numbers 63,
// 127, 191, … on this server) each cross-partition query answered 404 — read by the store as "no results".
// Look such rids up as Cosmos spells them.
const toRid = Items.prototype._toRid;
Items.prototype._toRid = function (keyPath, keyPathValueOrRid, partition) {
  const rid = toRid.call(this, keyPath, keyPathValueOrRid, partition);
  if (typeof rid !== "string" || !rid.includes("-") || this._data.has(rid)) return rid;
  const standard = rid.replace(/-/g, "/");
  return this._data.has(standard) ? standard : rid;
};

const [cert, key] = process.argv.slice(2);
const server = createHttpsServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key), keepAlive: true });
server.keepAliveTimeout = 120000;
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
process.stdin.on("end", () => process.exit(0));
process.stdin.on("close", () => process.exit(0));
process.stdin.resume();
