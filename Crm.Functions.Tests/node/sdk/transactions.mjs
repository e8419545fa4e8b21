// Transactional batches and request idempotency through the official JS SDK: Parse.Object.saveAll/destroyAll with
// {transaction: true}, and Parse.idempotency. Env: PARSE_SERVER_URL, PARSE_APP_ID, PARSE_MASTER_KEY, TX_CLASS (a fresh
// class name), TX_COMMITS ("0" leaves out the checks that need a committed transaction), TX_IDEMPOTENCY ("1" when the
// server runs with Parse:Idempotency:Enabled). Prints one line per check; exits non-zero on the first failure.
import assert from 'node:assert/strict';
import { connect, env } from './connect.mjs';

const Parse = connect();
const master = { useMasterKey: true };
const className = env('TX_CLASS');
const commits = process.env.TX_COMMITS !== '0';
const idempotency = process.env.TX_IDEMPOTENCY === '1';

let current = '(setup)';
const check = async (name, body) => {
  current = name;
  await body();
  console.log(`ok - ${name}`);
};
const count = () => new Parse.Query(className).count(master);
// saveAll rejects with one ParseError per object of the failed batch (the SDK's task queue collects them).
const errorsOf = error => (Array.isArray(error) ? error : [error]);

try {
  await check('setup: two objects saved without a transaction', async () => {
    await Parse.Object.saveAll([new Parse.Object(className, { title: 'a', amount: 1 }), new Parse.Object(className, { title: 'b', amount: 2 })], master);
    assert.equal(await count(), 2);
  });

  await check('saveAll with transaction: a failing object rejects the save and keeps none of it', async () => {
    const good = new Parse.Object(className, { title: 'c', amount: 3 });
    const bad = new Parse.Object(className, { title: 'd', amount: 'not a number' });
    await assert.rejects(Parse.Object.saveAll([good, bad], { ...master, transaction: true }), error => {
      const errors = errorsOf(error);
      assert.ok(errors.length >= 1);
      for (const e of errors) {
        assert.ok(e instanceof Parse.Error, `expected a Parse.Error, got ${e}`);
        assert.equal(e.code, Parse.Error.INCORRECT_TYPE);
        assert.match(e.message, /amount/);
      }
      return true;
    });
    assert.equal(good.id, undefined);
    assert.equal(bad.id, undefined);
    assert.equal(await count(), 2);
  });

  await check('destroyAll with transaction: a missing object rejects with 101 and deletes nothing', async () => {
    const [existing] = await new Parse.Query(className).equalTo('title', 'a').find(master);
    const ghost = Parse.Object.createWithoutData(className, 'zzzzzzzzzz');
    await assert.rejects(Parse.Object.destroyAll([existing, ghost], { ...master, transaction: true }), error => {
      assert.ok(error instanceof Parse.Error, `expected a Parse.Error, got ${error}`);
      assert.equal(error.code, Parse.Error.OBJECT_NOT_FOUND);
      return true;
    });
    assert.equal(await count(), 2);
  });

  if (commits) {
    await check('saveAll with transaction: every object saved, with ids', async () => {
      const objects = [new Parse.Object(className, { title: 'e', amount: 5 }), new Parse.Object(className, { title: 'f', amount: 6 })];
      await Parse.Object.saveAll(objects, { ...master, transaction: true });
      assert.ok(objects.every(o => typeof o.id === 'string' && o.id.length === 10));
      assert.equal(await count(), 4);
      objects[0].increment('amount', 10);
      objects[1].set('title', 'f2');
      await Parse.Object.saveAll(objects, { ...master, transaction: true });
      const fetched = await new Parse.Query(className).containedIn('objectId', objects.map(o => o.id)).ascending('title').find(master);
      assert.deepEqual(fetched.map(o => [o.get('title'), o.get('amount')]), [['e', 15], ['f2', 6]]);
    });

    await check('destroyAll with transaction: every object deleted', async () => {
      const objects = await new Parse.Query(className).containedIn('title', ['e', 'f2']).find(master);
      await Parse.Object.destroyAll(objects, { ...master, transaction: true });
      assert.equal(await count(), 2);
    });
  } else {
    console.log('skip - committed transactions (TX_COMMITS=0)');
  }

  if (idempotency) {
    await check('idempotency: with Parse.idempotency every write carries its own request id and passes', async () => {
      Parse.idempotency = true;
      const one = await new Parse.Object(className, { title: 'g', amount: 7 }).save(null, master);
      one.increment('amount');
      await one.save(null, master);
      assert.equal((await new Parse.Query(className).get(one.id, master)).get('amount'), 8);
      assert.equal(await count(), 3);
    });

    await check('idempotency: a write repeated with the same request id is refused with 159 and not applied', async () => {
      // What a retry after a lost answer sends: the request id of the first attempt.
      Parse.CoreManager.set('REQUEST_HEADERS', { 'X-Parse-Request-Id': `retry-${className}` });
      try {
        await new Parse.Object(className, { title: 'h', amount: 9 }).save(null, master);
        await assert.rejects(new Parse.Object(className, { title: 'h', amount: 9 }).save(null, master), error => {
          assert.ok(error instanceof Parse.Error);
          assert.equal(error.code, Parse.Error.DUPLICATE_REQUEST);
          assert.equal(error.message, 'Duplicate request');
          return true;
        });
        // Queries go out as POST with the same id, and are not de-duplicated.
        assert.equal(await new Parse.Query(className).equalTo('title', 'h').count(master), 1);
        assert.equal(await new Parse.Query(className).equalTo('title', 'h').count(master), 1);
      } finally {
        Parse.CoreManager.set('REQUEST_HEADERS', {});
      }
      assert.equal(await count(), 4);
    });
  }

  console.log('all checks passed');
} catch (error) {
  console.error(`FAIL: ${current}: ${error?.stack ?? error}`);
  process.exit(1);
}
