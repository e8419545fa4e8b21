// The rest of the Parse surface through the official JS SDK: Parse.Config, query.aggregate/distinct and
// transactional saveAll. Env: PARSE_SERVER_URL, PARSE_APP_ID, PARSE_MASTER_KEY, SURFACE_CLASS (a fresh class name).
// Prints one line per check; exits non-zero with the failing check's message on the first failure.
import assert from 'node:assert/strict';
import { connect, env } from './connect.mjs';

const Parse = connect();
const master = { useMasterKey: true };
const className = env('SURFACE_CLASS');
const only = (process.env.SURFACE_CHECKS ?? 'config,aggregate').split(',');

let current = '(setup)';
const check = async (name, body) => {
  current = name;
  await body();
  console.log(`ok - ${name}`);
};

try {
  if (only.includes('config')) {
    await check('config: save params with a master-key-only one, read them back', async () => {
      const launch = new Date(Date.UTC(2030, 0, 2));
      await Parse.Config.save({ welcome: 'hello', maxDiscount: 0.2, launch, secret: 's3' }, { secret: true });
      const config = await Parse.Config.get(master);
      assert.equal(config.get('welcome'), 'hello');
      assert.equal(config.get('maxDiscount'), 0.2);
      assert.equal(config.get('launch').getTime(), launch.getTime());
      assert.equal(config.get('secret'), 's3');
    });

    await check('config: a client without the master key does not see master-key-only params', async () => {
      const config = await Parse.Config.get();
      assert.equal(config.get('welcome'), 'hello');
      assert.equal(config.get('secret'), undefined);
    });

    await check('config: change a param, the SDK reads the new value', async () => {
      await Parse.Config.save({ maxDiscount: 0.3 });
      const config = await Parse.Config.get();
      assert.equal(config.get('maxDiscount'), 0.3);
      assert.equal(config.get('welcome'), 'hello');
    });
  }

  if (only.includes('aggregate')) {
    await check('aggregate: saveAll deals, then group by stage with $sum/$avg and sort', async () => {
      const deals = [
        ['won', 100], ['won', 250], ['lead', 10], ['lead', 20], ['lost', 5],
      ].map(([stage, amount]) => new Parse.Object(className, { stage, amount }));
      await Parse.Object.saveAll(deals, master);
      const query = new Parse.Query(className);
      const results = await query.aggregate([
        { $match: { amount: { $gt: 6 } } },
        { $group: { _id: '$stage', total: { $sum: '$amount' }, average: { $avg: '$amount' } } },
        { $sort: { total: -1 } },
      ]);
      assert.deepEqual(results, [
        { objectId: 'won', total: 350, average: 175 },
        { objectId: 'lead', total: 30, average: 15 },
      ]);
    });

    await check('aggregate: the object form and $count', async () => {
      const results = await new Parse.Query(className).aggregate({ $match: { stage: 'won' }, $count: 'won' });
      assert.deepEqual(results, [{ won: 2 }]);
    });

    await check('distinct: values once, with the query as where', async () => {
      const all = await new Parse.Query(className).distinct('stage');
      assert.deepEqual([...all].sort(), ['lead', 'lost', 'won']);
      const big = await new Parse.Query(className).greaterThan('amount', 50).distinct('stage');
      assert.deepEqual(big, ['won']);
    });
  }

  console.log('all checks passed');
} catch (error) {
  console.error(`FAIL: ${current}: ${error?.stack ?? error}`);
  process.exit(1);
}
