// Starts the Cosmos DB API server on a free loopback port with the certificate the test run generated
// (the package's bundled one has expired) and keep-alive on. Prints "listening <port>" once ready, and
// exits when its parent closes stdin, so a crashed test run never leaves it behind.
const fs = require("fs");
const { createHttpsServer } = require("@vercel/cosmosdb-server");

const [cert, key] = process.argv.slice(2);
const server = createHttpsServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key), keepAlive: true });
server.keepAliveTimeout = 120000;
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
process.stdin.on("end", () => process.exit(0));
process.stdin.on("close", () => process.exit(0));
process.stdin.resume();
