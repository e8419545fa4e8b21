// Opens /docs/erd in headless Chromium and checks that the bundled mermaid rendered the diagram as SVG,
// without any request leaving the server. Usage: node erd-page.mjs BASE_URL
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
  await page.goto(`${base}/docs/erd`, { waitUntil: 'networkidle' });
  await page.waitForSelector('pre.mermaid svg', { timeout: 30000 });
  const text = await page.locator('pre.mermaid svg').textContent();
  for (const name of ['Company', 'Contact', 'Deal', 'Activity', '_User']) {
    if (!text.includes(name)) throw new Error(`the rendered diagram lacks ${name}`);
  }
  if (external.length) throw new Error(`the page tried to load from outside the server: ${external.join(', ')}`);
  console.log('all checks passed');
} finally {
  await browser.close();
}
