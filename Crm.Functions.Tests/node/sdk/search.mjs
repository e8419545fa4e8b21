// Full-text search through the Parse JS SDK: query.fullText, ascending('$score') and select('$score') as documented
// for Parse Server, against a running server. Env: PARSE_SERVER_URL, PARSE_APP_ID, PARSE_MASTER_KEY, SEARCH_CLASS
// (a class name of its own, so runs never meet). Prints one line per check.
import assert from 'node:assert/strict';
import { connect, env } from './connect.mjs';

const Parse = connect();
const master = { useMasterKey: true };
const className = env('SEARCH_CLASS');

let current = '(setup)';
const check = async (name, body) => {
  current = name;
  await body();
  console.log(`ok - ${name}`);
};

const titles = list => list.map(o => o.get('title'));
const query = () => new Parse.Query(className);

try {
  await check('saveAll creates the objects to search', async () => {
    const objects = [
      'Acme – 50 seat renewal',
      'Renewal',
      'Globex pilot, renewal pending',
      'Café Olé expansion',
      'Initech support contract',
    ].map((title, i) => new Parse.Object(className, { title, rank: i }));
    await Parse.Object.saveAll(objects, master);
  });

  await check('fullText finds every title with a word beginning with the term', async () => {
    const found = await query().fullText('title', 'renewal').ascending('rank').find(master);
    assert.deepEqual(titles(found), ['Acme – 50 seat renewal', 'Renewal', 'Globex pilot, renewal pending']);
  });

  await check('fullText ignores case and diacritics', async () => {
    const found = await query().fullText('title', 'CAFE').find(master);
    assert.deepEqual(titles(found), ['Café Olé expansion']);
  });

  await check("ascending('$score') with select('$score') ranks and returns the score", async () => {
    const found = await query().fullText('title', 'renewal').ascending('$score').select('$score', 'title').find(master);
    assert.equal(found[0].get('title'), 'Renewal');
    const scores = found.map(o => o.get('score'));
    assert.ok(scores.every(s => typeof s === 'number' && s > 0), `scores ${scores}`);
    assert.ok(scores[0] >= scores[1] && scores[1] >= scores[2], `scores ${scores}`);
  });

  await check('fullText combines with other constraints and count', async () => {
    const q = query().fullText('title', 'renewal').greaterThan('rank', 0);
    assert.equal(await q.count(master), 2);
    assert.deepEqual(titles(await q.ascending('rank').limit(1).find(master)), ['Renewal']);
  });

  await check('a quoted phrase is required and a minus excludes', async () => {
    assert.deepEqual(titles(await query().fullText('title', '"seat renewal"').find(master)), ['Acme – 50 seat renewal']);
    const found = await query().fullText('title', 'renewal -acme -globex').find(master);
    assert.deepEqual(titles(found), ['Renewal']);
  });

  await check('fullText options: the false ones are accepted, caseSensitive true is a Parse.Error 107', async () => {
    const found = await query().fullText('title', 'initech', { language: 'en', caseSensitive: false, diacriticSensitive: false }).find(master);
    assert.deepEqual(titles(found), ['Initech support contract']);
    await assert.rejects(query().fullText('title', 'initech', { caseSensitive: true }).find(master),
      err => err instanceof Parse.Error && err.code === 107);
  });

  console.log('all checks passed');
} catch (err) {
  const detail = err instanceof Parse.Error ? `Parse.Error ${err.code}: ${err.message}` : (err?.stack ?? String(err));
  console.error(`FAIL - ${current}\n${detail}`);
  process.exit(1);
}
