// Opens the API playground in headless Chromium, logs in from the page ("Test Request" on POST /login,
// then "Send") and checks that the request reached the server and succeeded. Requests leaving the test
// server are refused and reported: the page must work offline.
// Usage: node playground.mjs BASE_URL   (a user alice / demo-password must exist)
import { launch } from '../browser/browser.mjs';

const base = process.argv[2];
const browser = await launch();
const external = [];
try {
  const page = await browser.newPage();
  await page.route('**/*', route => {
    if (route.request().url().startsWith(base)) return route.continue();
    external.push(route.request().url());
    return route.abort();
  });
  await page.goto(`${base}/docs/playground/`, { waitUntil: 'networkidle' });
  console.log('page loaded: ' + await page.title());

  await page.getByRole('button', { name: /Test Request.*post \/login/ }).click();
  const login = page.waitForResponse(r => r.url() === `${base}/parse/login` && r.request().method() === 'POST', { timeout: 30000 });
  await page.getByRole('button', { name: /^Send/ }).first().click();
  const response = await login;
  const body = await response.json();
  console.log(`POST /login from the page: ${response.status()}`);
  if (response.status() !== 200 || typeof body.sessionToken !== 'string') throw new Error(`login failed: ${JSON.stringify(body)}`);
  if (external.length) throw new Error(`the page tried to load from outside the server: ${external.join(', ')}`);
  console.log('all checks passed');
} finally {
  await browser.close();
}
