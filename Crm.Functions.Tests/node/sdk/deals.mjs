// SDK compatibility check: drives the official Parse JS SDK (npm `parse`) against a running server.
// Env: PARSE_SERVER_URL (e.g. http://127.0.0.1:5000/parse), PARSE_APP_ID, PARSE_MASTER_KEY.
// Prints one line per check; exits non-zero with the failing check's message on the first failure.
import assert from 'node:assert/strict';
import { connect } from './connect.mjs';

// Sign-up has its own tests; everything here runs with the master key.
const Parse = connect();
const master = { useMasterKey: true };

let current = '(setup)';
const check = async (name, body) => {
  current = name;
  await body();
  console.log(`ok - ${name}`);
};

const day = n => new Date(Date.UTC(2030, 0, n));
const deal = fields => new Parse.Object('Deal', fields);
const titles = list => list.map(d => d.get('title'));

try {
  await check('schema: create Deal with fields and a stage+expectedCloseDate index', async () => {
    const schema = new Parse.Schema('Deal');
    schema
      .addString('title', { required: true })
      .addNumber('amount')
      .addString('stage')
      .addDate('expectedCloseDate')
      .addIndex('stage_close', { stage: 1, expectedCloseDate: 1 });
    const saved = await schema.save();
    assert.equal(saved.className, 'Deal');
    assert.equal(saved.fields.title.type, 'String');
    assert.equal(saved.fields.title.required, true);
    assert.equal(saved.fields.amount.type, 'Number');
    assert.equal(saved.fields.stage.type, 'String');
    assert.equal(saved.fields.expectedCloseDate.type, 'Date');
    const fetched = await new Parse.Schema('Deal').get();
    assert.deepEqual(fetched.indexes?.stage_close, { stage: 1, expectedCloseDate: 1 });
  });

  // Saved out of date order so that ascending('expectedCloseDate') has something to do.
  const batch = [
    deal({ title: 'Acme renewal', amount: 1200, stage: 'proposal', expectedCloseDate: day(20) }),
    deal({ title: 'Globex pilot', amount: 500, stage: 'lead', expectedCloseDate: day(5) }),
    deal({ title: 'Acme expansion', amount: 3000, stage: 'proposal', expectedCloseDate: day(3) }),
    deal({ title: 'Initech support', amount: 800, stage: 'won', expectedCloseDate: day(10) }),
  ];

  await check('Parse.Object.saveAll creates deals through /batch', async () => {
    const saved = await Parse.Object.saveAll(batch, master);
    assert.equal(saved.length, batch.length);
    for (const d of saved) {
      assert.match(d.id, /^[A-Za-z0-9]{10}$/);
      assert.ok(d.createdAt instanceof Date, 'createdAt is a Date');
      assert.ok(d.updatedAt instanceof Date, 'updatedAt is a Date');
    }
    assert.equal(new Set(saved.map(d => d.id)).size, batch.length, 'ids are distinct');
  });

  const single = deal({ title: 'Umbrella audit', amount: 2000, stage: 'proposal', expectedCloseDate: day(12) });
  await check('save() creates a single deal', async () => {
    await single.save(null, master);
    assert.match(single.id, /^[A-Za-z0-9]{10}$/);
    assert.ok(single.createdAt instanceof Date);
  });

  await check('the required title is enforced (142)', async () => {
    await assert.rejects(deal({ amount: 1, stage: 'lead' }).save(null, master), err => {
      assert.ok(err instanceof Parse.Error, `expected a Parse.Error, got ${err}`);
      assert.equal(err.code, Parse.Error.VALIDATION_ERROR);
      return true;
    });
  });

  await check('equalTo(stage) + ascending(expectedCloseDate): order and content', async () => {
    const results = await new Parse.Query('Deal').equalTo('stage', 'proposal').ascending('expectedCloseDate').find(master);
    assert.deepEqual(titles(results), ['Acme expansion', 'Umbrella audit', 'Acme renewal']);
    const first = results[0];
    assert.equal(first.id, batch[2].id);
    assert.equal(first.get('amount'), 3000);
    assert.equal(first.get('stage'), 'proposal');
    assert.ok(first.get('expectedCloseDate') instanceof Date, 'expectedCloseDate decodes to a Date');
    assert.equal(first.get('expectedCloseDate').toISOString(), day(3).toISOString());
  });

  await check('containedIn(stage)', async () => {
    const results = await new Parse.Query('Deal').containedIn('stage', ['lead', 'won']).ascending('title').find(master);
    assert.deepEqual(titles(results), ['Globex pilot', 'Initech support']);
  });

  await check('startsWith(title)', async () => {
    const results = await new Parse.Query('Deal').startsWith('title', 'Acme').ascending('amount').find(master);
    assert.deepEqual(titles(results), ['Acme renewal', 'Acme expansion']);
    // startsWith quotes its text (\Q..\E): regex metacharacters must match literally.
    assert.equal(await new Parse.Query('Deal').startsWith('title', 'Acme.*').count(master), 0);
  });

  await check('count()', async () => {
    assert.equal(await new Parse.Query('Deal').count(master), 5);
    assert.equal(await new Parse.Query('Deal').equalTo('stage', 'proposal').count(master), 3);
    assert.equal(await new Parse.Query('Deal').greaterThan('amount', 1000).count(master), 3);
  });

  await check('first()', async () => {
    const top = await new Parse.Query('Deal').descending('amount').first(master);
    assert.equal(top.get('title'), 'Acme expansion');
    assert.equal(await new Parse.Query('Deal').equalTo('stage', 'lost').first(master), undefined);
  });

  await check('get()', async () => {
    const got = await new Parse.Query('Deal').get(single.id, master);
    assert.equal(got.id, single.id);
    assert.equal(got.get('title'), 'Umbrella audit');
    assert.equal(got.get('amount'), 2000);
    assert.equal(got.createdAt.getTime(), single.createdAt.getTime());
  });

  await check("increment('amount') + save echoes the new total", async () => {
    const stale = await new Parse.Query('Deal').get(single.id, master);
    single.increment('amount', 250);
    await single.save(null, master);
    assert.equal(single.get('amount'), 2250);
    // A second copy increments from its stale value; the server's echoed total wins.
    stale.increment('amount', 50);
    await stale.save(null, master);
    assert.equal(stale.get('amount'), 2300);
    assert.equal((await new Parse.Query('Deal').get(single.id, master)).get('amount'), 2300);
  });

  await check('add / addUnique / remove on an array field', async () => {
    single.add('tags', 'hot');
    await single.save(null, master);
    assert.deepEqual(single.get('tags'), ['hot']);
    single.addUnique('tags', 'hot');
    single.addUnique('tags', 'q1');
    await single.save(null, master);
    assert.deepEqual(single.get('tags'), ['hot', 'q1']);
    single.remove('tags', 'hot');
    await single.save(null, master);
    assert.deepEqual(single.get('tags'), ['q1']);
    const reread = await new Parse.Query('Deal').get(single.id, master);
    assert.deepEqual(reread.get('tags'), ['q1']);
    assert.equal(await new Parse.Query('Deal').equalTo('tags', 'q1').count(master), 1);
  });

  await check('unset removes a field', async () => {
    single.unset('stage');
    await single.save(null, master);
    assert.equal(single.has('stage'), false);
    const reread = await new Parse.Query('Deal').get(single.id, master);
    assert.equal(reread.has('stage'), false);
    assert.equal(reread.get('stage'), undefined);
    assert.equal(await new Parse.Query('Deal').doesNotExist('stage').count(master), 1);
  });

  await check('Pointer to another class, resolved with include', async () => {
    const company = new Parse.Object('Company');
    company.set('name', 'Umbrella Corp');
    // The unsaved child is saved first (via /batch), then the deal with a Pointer to it.
    single.set('company', company);
    await single.save(null, master);
    assert.match(company.id, /^[A-Za-z0-9]{10}$/);

    const plain = await new Parse.Query('Deal').get(single.id, master);
    assert.equal(plain.get('company').className, 'Company');
    assert.equal(plain.get('company').id, company.id);
    assert.equal(plain.get('company').get('name'), undefined, 'without include only the pointer comes back');

    const included = await new Parse.Query('Deal').include('company').get(single.id, master);
    assert.equal(included.get('company').id, company.id);
    assert.equal(included.get('company').get('name'), 'Umbrella Corp');

    const byPointer = await new Parse.Query('Deal').equalTo('company', company).find(master);
    assert.deepEqual(byPointer.map(d => d.id), [single.id]);
  });

  await check('destroy(), then get() rejects with 101', async () => {
    const victim = batch[1];
    await victim.destroy(master);
    await assert.rejects(new Parse.Query('Deal').get(victim.id, master), err => {
      assert.ok(err instanceof Parse.Error, `expected a Parse.Error, got ${err}`);
      assert.equal(err.code, Parse.Error.OBJECT_NOT_FOUND);
      return true;
    });
    assert.equal(await new Parse.Query('Deal').count(master), 4);
  });

  await check('Parse.Object.destroyAll removes the rest', async () => {
    const rest = await new Parse.Query('Deal').find(master);
    assert.equal(rest.length, 4);
    const destroyed = await Parse.Object.destroyAll(rest, master);
    assert.equal(destroyed.length, 4);
    assert.equal(await new Parse.Query('Deal').count(master), 0);
  });

  console.log('all checks passed');
} catch (err) {
  const detail = err instanceof Parse.Error ? `Parse.Error ${err.code}: ${err.message}` : (err?.stack ?? String(err));
  console.error(`FAIL - ${current}\n${detail}`);
  process.exit(1);
}
