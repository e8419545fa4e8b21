// LiveQuery compatibility check: the official Parse JS SDK's live queries against a running server, unchanged —
// query.subscribe() with the LiveQuery URL derived from serverURL, and LiveQueryClient per user.
// Env: PARSE_SERVER_URL (http://127.0.0.1:5000/parse), PARSE_APP_ID, PARSE_MASTER_KEY; optional PARSE_LIVEQUERY_URL, the
// liveQueryServerURL of a LiveQuery service elsewhere (Azure Web PubSub: wss://name.webpubsub.azure.com/client/hubs/livequery).
// Prints one line per check; exits non-zero with the failing check's message on the first failure.
import assert from 'node:assert/strict';
import Parse from 'parse/node';

const env = name => {
  const value = process.env[name];
  if (!value) {
    console.error(`FAIL: environment variable ${name} is not set`);
    process.exit(2);
  }
  return value;
};

const url = env('PARSE_SERVER_URL');
const appId = env('PARSE_APP_ID');
const masterKey = env('PARSE_MASTER_KEY');
Parse.initialize(appId, undefined, masterKey);
Parse.serverURL = url;
Parse.User.enableUnsafeCurrentUser();
const liveQueryURL = process.env.PARSE_LIVEQUERY_URL;
const wsURL = liveQueryURL || url.replace(/^http/, 'ws');
if (liveQueryURL) Parse.liveQueryServerURL = liveQueryURL;
const useMaster = { useMasterKey: true };
const run = Math.random().toString(36).slice(2, 10);

const check = async (name, fn) => {
  try {
    await fn();
    console.log(`ok   ${name}`);
  } catch (error) {
    console.log(`FAIL ${name}: ${error && error.stack ? error.stack : error}`);
    process.exit(1);
  }
};

/** Records a subscription's events in order; `until` resolves once an event matches (or fails after 15 s). */
const record = subscription => {
  const events = [];
  const waiters = [];
  for (const op of ['create', 'update', 'enter', 'leave', 'delete']) {
    subscription.on(op, (object, original) => {
      events.push({ op, object, original: op === 'create' || op === 'delete' ? undefined : original });
      for (const waiter of [...waiters]) if (waiter.test(events.at(-1))) { waiters.splice(waiters.indexOf(waiter), 1); waiter.resolve(); }
    });
  }
  const until = test => new Promise((resolve, reject) => {
    if (events.some(test)) return resolve();
    const timer = setTimeout(() => reject(new Error(`no matching event within 15 s; got ${JSON.stringify(events.map(e => [e.op, e.object.id]))}`)), 15_000);
    waiters.push({ test, resolve: () => { clearTimeout(timer); resolve(); } });
  });
  return { events, until };
};

// The SDK's emitters have on() but not always once(): the first emission settles the promise.
const once = (emitter, event, ms = 15_000) => new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`no ${event} within ${ms} ms`)), ms);
  emitter.on(event, (...args) => { clearTimeout(timer); resolve(args); });
});

const Deal = `LqDeal${run}`;
const Gated = `LqGated${run}`;
const schema = new Parse.Schema(Deal);
schema.addString('name').addString('stage').addNumber('amount');
await schema.save();
const gated = new Parse.Schema(Gated);
gated.addString('name');
gated.setCLP({ find: { requiresAuthentication: true }, get: { requiresAuthentication: true }, create: { '*': true }, update: { '*': true }, delete: { '*': true } });
await gated.save();

const alice = await Parse.User.signUp(`alice${run}`, 'correct horse battery');
const bob = await new Parse.User({ username: `bob${run}`, password: 'correct horse battery' }).signUp(null, { context: {} });
// signUp of a second user makes it the current one: Alice is the current user again for query.subscribe().
await Parse.User.become(alice.getSessionToken());
const bobToken = bob.getSessionToken();

const bobClient = new Parse.LiveQueryClient({ applicationId: appId, serverURL: wsURL, sessionToken: bobToken });
bobClient.open();
const anonymousClient = new Parse.LiveQueryClient({ applicationId: appId, serverURL: wsURL });
anonymousClient.open();

let aliceSub;
let aliceEvents;
await check(`query.subscribe() as the current user is confirmed over ${liveQueryURL ? 'the configured liveQueryServerURL' : 'the URL derived from serverURL'}`, async () => {
  const query = new Parse.Query(Deal).containedIn('stage', ['open', 'won']);
  // Through a LiveQuery service the client's address is unknown, so the master key (restricted to Parse:MasterKeyIps)
  // is refused there: the default client connects as an app's client does, with the current user's session only.
  const masterKey = Parse.CoreManager.get('MASTER_KEY');
  if (liveQueryURL) Parse.CoreManager.set('MASTER_KEY', undefined);
  aliceSub = await query.subscribe();
  Parse.CoreManager.set('MASTER_KEY', masterKey);
  aliceEvents = record(aliceSub);
  await once(aliceSub, 'open');
  assert.equal(Parse.CoreManager.get('LIVEQUERY_SERVER_URL'), wsURL);
});

let bobEvents;
await check('LiveQueryClient with another session subscribes', async () => {
  const subscription = bobClient.subscribe(new Parse.Query(Deal));
  bobEvents = record(subscription);
  await subscription.subscribePromise;
});

await check('create, update, leave, enter and delete arrive in order, with the original on update/leave/enter', async () => {
  const deal = new Parse.Object(Deal, { name: 'Acme', stage: 'open', amount: 10 });
  deal.setACL(new Parse.ACL(alice));
  await deal.save();
  deal.set('amount', 20);
  await deal.save();
  deal.set('stage', 'lost');
  await deal.save();
  deal.set('stage', 'won');
  await deal.save();
  await deal.destroy();
  await aliceEvents.until(e => e.op === 'delete' && e.object.id === deal.id);
  const mine = aliceEvents.events.filter(e => e.object.id === deal.id);
  assert.deepEqual(mine.map(e => e.op), ['create', 'update', 'leave', 'enter', 'delete']);
  assert.equal(mine[0].object.get('name'), 'Acme');
  assert.equal(mine[0].object.className, Deal);
  assert.ok(mine[0].object.createdAt instanceof Date && mine[0].object.updatedAt instanceof Date);
  assert.ok(mine[0].object.getACL().getReadAccess(alice.id));
  assert.equal(mine[1].original.get('amount'), 10);
  assert.equal(mine[1].object.get('amount'), 20);
  assert.equal(mine[2].object.get('stage'), 'lost');
  assert.equal(mine[2].original.get('stage'), 'open');
  assert.equal(mine[3].original.get('stage'), 'lost');
  assert.equal(mine[4].object.get('stage'), 'won');
  deal.__aliceOnly = true;
  globalThis.aliceOnlyId = deal.id;
});

await check('an object shared through the ACL reaches the other user; the private one never did', async () => {
  const shared = new Parse.Object(Deal, { name: 'Shared', stage: 'open' });
  const acl = new Parse.ACL(alice);
  acl.setReadAccess(bob.id, true);
  shared.setACL(acl);
  await shared.save();
  await bobEvents.until(e => e.object.id === shared.id);
  assert.deepEqual(bobEvents.events.map(e => e.op), ['create']);
  assert.ok(!bobEvents.events.some(e => e.object.id === globalThis.aliceOnlyId));
  assert.equal(bobEvents.events[0].object.get('name'), 'Shared');
});

await check('a non-matching object brings no event', async () => {
  const lost = await new Parse.Object(Deal, { name: 'Lost', stage: 'lost' }).save();
  const marker = await new Parse.Object(Deal, { name: 'Marker', stage: 'won' }).save();
  await aliceEvents.until(e => e.object.id === marker.id);
  assert.ok(!aliceEvents.events.some(e => e.object.id === lost.id));
});

await check('an object readable through a role reaches its member', async () => {
  const role = new Parse.Role(`Team${run}`, new Parse.ACL());
  role.getUsers().add(bob);
  await role.save(null, useMaster);
  const teamDeal = new Parse.Object(Deal, { name: 'Team', stage: 'open' });
  const acl = new Parse.ACL();
  acl.setRoleReadAccess(role, true);
  teamDeal.setACL(acl);
  await teamDeal.save(null, useMaster);
  await bobEvents.until(e => e.object.id === teamDeal.id);
  assert.ok(!aliceEvents.events.some(e => e.object.id === teamDeal.id));
});

await check('subscription.find() answers the current matches as the subscriber reads them, with the selected keys', async () => {
  const mine = new Parse.Object(Deal, { name: 'Alice only', stage: 'open' });
  mine.setACL(new Parse.ACL(alice));
  await mine.save();
  const subscription = bobClient.subscribe(new Parse.Query(Deal).containedIn('stage', ['open', 'won']).select('name'));
  await subscription.subscribePromise;
  const answered = once(subscription, 'result');
  subscription.find();
  const [objects] = await answered;
  const ids = objects.map(o => o.id);
  const shared = bobEvents.events.find(e => e.object.get('name') === 'Shared').object;
  assert.ok(ids.includes(shared.id), `the shared deal is found (${ids})`);
  assert.ok(!ids.includes(mine.id), 'the deal only Alice may read is not');
  assert.ok(objects.every(o => o.className === Deal && o.get('stage') === undefined && typeof o.get('name') === 'string'));
  // subscription.unsubscribe() goes through the SDK's default client; this subscription is bobClient's.
  await bobClient.unsubscribe(subscription);
});

await check('select() limits the fields sent and watch() limits updates to changes of the watched fields', async () => {
  const selected = await new Parse.Query(Deal).select('name').subscribe(bobToken);
  const selectedEvents = record(selected);
  const watched = await new Parse.Query(Deal).watch('stage').subscribe(bobToken);
  const watchedEvents = record(watched);
  await once(watched, 'open');
  const deal = await new Parse.Object(Deal, { name: 'Keys', stage: 'open', amount: 1 }).save();
  deal.set('amount', 2);
  await deal.save();
  deal.set('stage', 'won');
  await deal.save();
  await selectedEvents.until(e => e.op === 'update' && e.object.id === deal.id && e.object.updatedAt.getTime() === deal.updatedAt.getTime());
  await watchedEvents.until(e => e.op === 'update' && e.object.get('stage') === 'won');
  assert.deepEqual(selectedEvents.events.map(e => e.op), ['create', 'update', 'update']);
  assert.equal(selectedEvents.events[2].original.get('stage'), undefined);
  const created = selectedEvents.events.find(e => e.op === 'create').object;
  assert.equal(created.get('name'), 'Keys');
  assert.equal(created.get('amount'), undefined);
  assert.equal(created.get('stage'), undefined);
  assert.deepEqual(watchedEvents.events.map(e => e.op), ['create', 'update']);
  await selected.unsubscribe();
  await watched.unsubscribe();
});

await check('unsubscribe stops the events', async () => {
  await aliceSub.unsubscribe();
  const after = await new Parse.Object(Deal, { name: 'After', stage: 'open' }).save();
  // Bob still subscribes to every Deal: once his event arrived, Alice's would have too.
  await bobEvents.until(e => e.object.id === after.id);
  assert.ok(!aliceEvents.events.some(e => e.object.id === after.id));
});

await check('an anonymous subscription to a requiresAuthentication class is refused with 101', async () => {
  const subscription = anonymousClient.subscribe(new Parse.Query(Gated));
  const error = await subscription.subscribePromise.then(() => null, e => e);
  assert.ok(error instanceof Parse.Error, `expected a Parse.Error, got ${error}`);
  assert.equal(error.code, 101);
});

await check('a signed-in subscription to the same class is confirmed and receives events', async () => {
  const subscription = bobClient.subscribe(new Parse.Query(Gated));
  const events = record(subscription);
  await subscription.subscribePromise;
  const item = await new Parse.Object(Gated, { name: 'gated' }).save(null, { sessionToken: bobToken });
  await events.until(e => e.op === 'create' && e.object.id === item.id);
});

await check('logging out ends the session\'s live queries: error, then the socket closes and the SDK stops', async () => {
  const errored = once(bobClient, 'error');
  const closed = once(bobClient, 'close');
  await Parse.User.become(bobToken);
  await Parse.User.logOut();
  const [message] = await errored;
  assert.match(String(message), /Invalid session token/);
  await closed;
  // The SDK reconnects with the revoked token and is refused: it must end disconnected, not keep retrying.
  await new Promise(resolve => setTimeout(resolve, 2500));
  assert.ok(['disconnected', 'reconnecting'].includes(bobClient.state), bobClient.state);
});

await bobClient.close();
await anonymousClient.close();
const liveClient = await Parse.CoreManager.getLiveQueryController().getDefaultLiveQueryClient();
await liveClient.close();
console.log('all checks passed');
process.exit(0);
