// Opens the GraphiQL page served at GET /graphql in headless Chromium, runs a query from it and checks
// that the answer shows the expected text. Any request leaving the server (a CDN) fails the check.
// Env: GRAPHQL_URL (http://127.0.0.1:port/graphql), GRAPHQL_QUERY, EXPECT (text the result must contain),
// SCREENSHOT (optional PNG path, to look at the page).
import { launch } from './browser.mjs';

const url = process.env.GRAPHQL_URL;
const query = process.env.GRAPHQL_QUERY;
const expected = process.env.EXPECT;
if (!url || !query || !expected) {
  console.error('GRAPHQL_URL, GRAPHQL_QUERY and EXPECT are required');
  process.exit(2);
}
const origin = new URL(url).origin;
const outside = [];
const problems = [];

const browser = await launch();
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });
  await page.route('**/*', (route) => {
    const target = route.request().url();
    if (!target.startsWith(origin)) {
      outside.push(target);
      return route.abort();
    }
    return route.continue();
  });

  const response = await page.goto(`${url}?query=${encodeURIComponent(query)}`, { waitUntil: 'load' });
  console.log(`page: HTTP ${response.status()} ${response.headers()['content-type']}`);
  if (response.status() !== 200) throw new Error('the GraphiQL page did not load');

  const run = page.locator('.graphiql-execute-button');
  await run.waitFor({ state: 'visible', timeout: 30000 });
  console.log('graphiql: editor ready');
  await run.click();

  const result = page.locator('.graphiql-response');
  let text = '';
  for (let i = 0; i < 100 && !text.includes(expected); i++) {
    await page.waitForTimeout(200);
    text = await result.innerText();
  }
  console.log(`result: ${text.replace(/\s+/g, ' ').slice(0, 400)}`);
  if (process.env.SCREENSHOT) await page.screenshot({ path: process.env.SCREENSHOT });
  if (!text.includes(expected)) throw new Error(`the result does not show ${expected}`);
  if (outside.length > 0) throw new Error(`requests left the server: ${outside.join(', ')}`);
  if (problems.length > 0) throw new Error(problems.join('\n'));
  console.log('all checks passed');
} catch (e) {
  console.error(e.message);
  if (problems.length > 0) console.error(problems.join('\n'));
  process.exitCode = 1;
} finally {
  await browser.close();
}
