// The web app offline, end to end in Debian's Chromium against the real server (BASE_URL, CRM template on):
// installable (manifest, service worker), reload while offline shows the app with the synced lists and dashboard,
// edits made offline are queued and sent on reconnect, a deal changed by a colleague meanwhile opens the conflict
// dialog, and the colleague's board shows the result. The server is checked over REST (PARSE_URL) at each step.
// One line per verified step; exits non-zero on the first failure. Screenshots go to SCREENSHOT_DIR.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, signUpInApp } from './browser.mjs';

const base = process.env.BASE_URL ?? 'http://127.0.0.1:1337';
const parseUrl = process.env.PARSE_URL ?? `${base}/parse`;
const appId = process.env.APP_ID ?? 'crm';
const here = path.dirname(fileURLToPath(import.meta.url));
const shots = process.env.SCREENSHOT_DIR ?? path.resolve(here, '../../../artifacts/screenshots/web-offline');
mkdirSync(shots, { recursive: true });

const suffix = Math.random().toString(36).slice(2, 8);
const password = 'offline-password-123';
const me = { username: `ana-${suffix}`, email: `ana-${suffix}@example.com`, password };
const colleague = { username: `ben-${suffix}`, password };
const T = 15_000;

let steps = 0;
const check = (ok, message) => { if (!ok) throw new Error(`FAILED: ${message}`); steps++; console.log(`ok ${steps} - ${message}`); };
const shot = async (page, name) => { await page.screenshot({ path: path.join(shots, name), fullPage: true }); console.log(`  screenshot ${name}`); };

// ---- REST, as a Parse client (node's fetch is not affected by the browser going offline) ----
async function rest(method, route, body, token) {
  const headers = { 'X-Parse-Application-Id': appId, 'Content-Type': 'application/json' };
  if (token) headers['X-Parse-Session-Token'] = token;
  const r = await fetch(`${parseUrl}/${route}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const json = await r.json();
  if (!r.ok) throw new Error(`${method} ${route}: ${r.status} ${JSON.stringify(json)}`);
  return json;
}
const pointer = (className, objectId) => ({ __type: 'Pointer', className, objectId });
const noon = (days) => { const d = new Date(); d.setUTCDate(d.getUTCDate() + days); d.setUTCHours(12, 0, 0, 0); return { __type: 'Date', iso: d.toISOString() }; };
const deal = (id, token) => rest('GET', `classes/Deal/${id}`, undefined, token);

const browser = await launch();
const failures = [];
let page;
try {
  // 1. the colleague (REST) and me (the app's sign-up card)
  const ben = await rest('POST', 'users', { username: colleague.username, password, email: `ben-${suffix}@example.com` });
  const a = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  page = await a.newPage();
  page.on('pageerror', (e) => failures.push(`page error: ${e.message}`));
  await page.goto(base + '/');
  await signUpInApp(page, me, T);
  const token = await page.evaluate((id) => JSON.parse(localStorage.getItem(`Parse/${id}/currentUser`) ?? '{}').sessionToken, appId);
  check(typeof token === 'string' && token.length > 0, `signed up in the app as ${me.username}; colleague ${colleague.username} signed up`);

  // 2. records made elsewhere (REST, as me): a company, a contact, three deals shared with the colleague (assignee)
  const company = (await rest('POST', 'classes/Company', { name: `Northwind ${suffix}`, industry: 'Logistics' }, token)).objectId;
  const contact = (await rest('POST', 'classes/Contact', { name: `Dana Reyes ${suffix}`, email: `dana-${suffix}@example.com`, company: pointer('Company', company) }, token)).objectId;
  const shared = { company: pointer('Company', company), contact: pointer('Contact', contact), assignedTo: pointer('_User', ben.objectId) };
  const d1 = (await rest('POST', 'classes/Deal', { title: `Northwind renewal ${suffix}`, amount: 40000, stage: 'proposal', expectedCloseDate: noon(20), ...shared }, token)).objectId;
  const d2 = (await rest('POST', 'classes/Deal', { title: `Northwind pilot ${suffix}`, amount: 15000, stage: 'lead', expectedCloseDate: noon(30), ...shared }, token)).objectId;
  const d3 = (await rest('POST', 'classes/Deal', { title: `Northwind fleet ${suffix}`, amount: 90000, stage: 'qualified', expectedCloseDate: noon(45), ...shared }, token)).objectId;
  await rest('POST', 'classes/Activity', { type: 'call', subject: `Call Dana about the renewal ${suffix}`, relatedTo: pointer('Deal', d1), dueDate: noon(2) }, token);
  check((await deal(d1, ben.sessionToken)).title === `Northwind renewal ${suffix}`, 'company, contact, three deals and an activity created over REST; the colleague (assignee) can read the deals');

  // 3. installable: the manifest, the service worker controlling the page, no installability errors.
  // The worker must be active before the reload: a navigation already under way while it activates belongs to no
  // worker, and clients.claim() can miss the document it makes (seen on a slow machine), so the page stays uncontrolled.
  const sw = await page.evaluate(async () => { const r = await navigator.serviceWorker.ready; return r.active?.scriptURL ?? ''; });
  check(sw.endsWith('/sw.js'), `a service worker is active (${sw})`);
  await page.reload();
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor({ timeout: T });
  await page.waitForFunction(() => !!navigator.serviceWorker.controller, undefined, { timeout: T });
  const cdp = await a.newCDPSession(page);
  // A test browser context is an incognito profile, where nothing can be installed: that one reason is not the app's.
  const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
  const errors = installabilityErrors.filter((e) => e.errorId !== 'in-incognito');
  check(errors.length === 0, `Chromium finds the app installable (installability errors: ${JSON.stringify(installabilityErrors)})`);
  const { url: manifestUrl, errors: manifestErrors } = await cdp.send('Page.getAppManifest');
  check(manifestUrl.endsWith('/manifest.webmanifest') && manifestErrors.length === 0, 'the web manifest is linked and parses without errors');

  // 4. synced on start: every contact, company and deal is on the device, not only those opened
  await page.waitForFunction(({ id, ids }) => ids.every((x) => Object.keys(localStorage).some((k) => k.endsWith(`Parse_LDS_${x}`))), { id: appId, ids: [`Contact_${contact}`, `Company_${company}`, `Deal_${d1}`, `Deal_${d2}`, `Deal_${d3}`] }, { timeout: T });
  check(true, 'the sync on start pinned the contact, the company and the three deals in the local datastore');
  await page.getByRole('link', { name: 'Pipeline' }).click();
  await page.locator(`[data-deal-id="${d1}"]`).waitFor({ timeout: T });
  check(await page.locator(`[data-deal-id="${d3}"]`).isVisible(), 'online, the board shows the three deals');

  // 5. offline: the page and the service worker lose the network; the live dot and the banner say so
  await a.setOffline(true);
  await page.getByTestId('offline-banner').waitFor({ timeout: T });
  const pageFetch = await page.evaluate((u) => fetch(u).then(() => 'reached', () => 'blocked'), `${parseUrl}/health`);
  check(pageFetch === 'blocked', 'offline: the page cannot reach the server');
  const worker = a.serviceWorkers()[0];
  if (worker) {
    const swFetch = await worker.evaluate((u) => fetch(u, { cache: 'no-store' }).then(() => 'reached', () => 'blocked'), `${parseUrl}/health`);
    check(swFetch === 'blocked', 'offline: the service worker cannot reach the server either');
  }
  await page.locator('[aria-label="Live updates: offline"]').waitFor({ timeout: T });
  check(true, 'offline: the banner shows and the live indicator says offline');

  // 6. reload while offline: the app shell comes from the service worker, the dashboard from the device
  await page.reload();
  await page.getByRole('heading', { name: 'Pipeline' }).waitFor({ timeout: T });
  // Chromium's emulation may report navigator.onLine true in the reloaded document while every request fails (as on a
  // network that is up without reaching anything): the app goes by what its requests find.
  const reloaded = await page.evaluate(async (u) => ({ controlled: !!navigator.serviceWorker.controller, health: await fetch(u).then(() => 'reached', () => 'blocked') }), `${parseUrl}/health`);
  check(reloaded.controlled && reloaded.health === 'blocked', 'reloaded offline: the page is served by the service worker and still cannot reach the server');
  await page.locator(`[data-deal-id="${d3}"]`).waitFor({ timeout: T });
  check(await page.getByTestId('offline-banner').isVisible(), 'reloaded offline on /pipeline: the app opens (service worker) with the board from the device');
  await shot(page, 'offline-reload-board.png');
  await page.getByRole('link', { name: 'Dashboard' }).click();
  await page.getByRole('heading', { name: 'Pipeline value by stage' }).waitFor({ timeout: T });
  const open = await page.locator('.stat', { hasText: 'Open pipeline' }).textContent();
  check(open.includes('$145,000'), `offline dashboard: open pipeline from the device's deals (${open.trim()})`);
  check(!(await page.getByText('Failed to fetch').isVisible()), 'offline dashboard: no "Failed to fetch"');
  await shot(page, 'offline-dashboard.png');

  // 7. lists offline show synced records never opened
  await page.getByRole('link', { name: 'Contacts', exact: true }).click();
  await page.getByRole('link', { name: `Dana Reyes ${suffix}` }).waitFor({ timeout: T });
  check(await page.getByRole('link', { name: `Northwind ${suffix}` }).isVisible(), 'offline contacts list: the synced contact, with its company\'s name');
  await page.getByRole('link', { name: 'Companies', exact: true }).click();
  await page.getByRole('link', { name: `Northwind ${suffix}` }).waitFor({ timeout: T });
  check(await page.getByText('Showing companies saved on this device').isVisible(), 'offline companies list: the synced company, marked as saved on this device');
  await shot(page, 'offline-companies.png');
  await page.getByRole('link', { name: 'Activities', exact: true }).click();
  await page.getByText(`Call Dana about the renewal ${suffix}`).waitFor({ timeout: T });
  check(await page.getByText('Showing activities saved on this device').isVisible(), 'offline activities list: the synced activity');

  // 8. edit a deal offline: queued, shown at once, not on the server
  await page.getByRole('link', { name: 'Deals', exact: true }).click();
  await page.getByRole('link', { name: `Northwind renewal ${suffix}` }).click();
  await page.getByRole('heading', { name: `Northwind renewal ${suffix}` }).waitFor({ timeout: T });
  await page.getByRole('button', { name: 'Edit' }).click();
  await page.getByLabel('Amount').fill('47500');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByTestId('queue-count').filter({ hasText: '1 change not on the server yet' }).waitFor({ timeout: T });
  await page.locator('.summary', { hasText: '$47,500' }).waitFor({ timeout: T });
  check(true, 'offline edit of the deal\'s amount: queued (1 change), the deal shows $47,500');
  check((await deal(d1, token)).amount === 40000, 'the server still has 40000');

  // 9. two board moves offline, on deals the colleague will change meanwhile
  await page.getByRole('link', { name: 'Pipeline' }).click();
  await page.getByLabel(`Stage of Northwind pilot ${suffix}`).selectOption('qualified');
  await page.getByLabel(`Stage of Northwind fleet ${suffix}`).selectOption('negotiation');
  await page.getByTestId('queue-count').filter({ hasText: '3 changes not on the server yet' }).waitFor({ timeout: T });
  await page.locator(`[data-stage="qualified"] [data-deal-id="${d2}"]`).waitFor({ timeout: T });
  check(true, 'offline board moves: queued (3 changes), cards in their new columns');
  await page.getByRole('button', { name: 'Show the list' }).click();
  const items = await page.locator('#sync-queue-list li').allTextContents();
  check(items.length === 3 && items[0].includes(`Update deal “Northwind renewal ${suffix}”: amount`) && items.every((t) => t.includes('waiting to be sent')),
    `the queue lists each change: ${items.map((t) => t.split('—')[0].trim()).join(' | ')}`);
  await shot(page, 'offline-queue.png');
  await page.reload();
  await page.getByTestId('queue-count').filter({ hasText: '3 changes not on the server yet' }).waitFor({ timeout: T });
  await page.locator(`[data-stage="negotiation"] [data-deal-id="${d3}"]`).waitFor({ timeout: T });
  check(true, 'reloaded offline again: the queue and the edited board are still there');

  // 10. meanwhile the colleague changes two of those deals (stage) and another field of the first (notes), and
  //     assigns me a new deal
  await rest('PUT', `classes/Deal/${d2}`, { stage: 'proposal' }, ben.sessionToken);
  await rest('PUT', `classes/Deal/${d3}`, { stage: 'won' }, ben.sessionToken);
  await rest('PUT', `classes/Deal/${d1}`, { notes: 'Procurement wants a 3-year term' }, ben.sessionToken);
  const d4 = (await rest('POST', 'classes/Deal', { title: `Northwind depot ${suffix}`, amount: 5000, stage: 'lead', expectedCloseDate: noon(60), assignedTo: pointer('_User', (await rest('GET', 'users/me', undefined, token)).objectId) }, ben.sessionToken)).objectId;
  check(true, 'meanwhile the colleague moved two of the deals, added notes to the first, and assigned me a new deal');

  // 11. a new contact offline
  await page.getByRole('link', { name: 'Contacts', exact: true }).click();
  await page.getByRole('button', { name: 'New contact' }).click();
  await page.getByLabel('Name *').fill(`Lee Park ${suffix}`);
  await page.getByLabel('Email').fill(`lee-${suffix}@example.com`);
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByTestId('queue-count').filter({ hasText: '4 changes not on the server yet' }).waitFor({ timeout: T });
  check(true, 'offline new contact: queued (4 changes)');

  // 12. back online: the queue is sent; the two stage moves conflict; the first edit goes through (notes kept)
  await page.getByRole('link', { name: 'Pipeline' }).click();
  await a.setOffline(false);
  await page.getByTestId('offline-banner').waitFor({ state: 'detached', timeout: T });
  const dialog = page.getByTestId('conflict-dialog');
  await dialog.waitFor({ timeout: T });
  check(true, 'back online: the conflict dialog opens');
  await expectTexts(dialog, `Northwind pilot ${suffix}`, 'Qualified', 'Proposal');
  await shot(page, 'conflict-dialog.png');
  const afterD1 = await waitFor(async () => { const d = await deal(d1, token); return d.amount === 47500 ? d : undefined; });
  check(afterD1.notes === 'Procurement wants a 3-year term', 'the amount edit reached the server; the colleague\'s notes (another field) are kept');

  // 13. choose: take theirs for the pilot, keep mine for the fleet
  await dialog.getByRole('button', { name: 'Take theirs' }).click();
  await expectTexts(dialog, `Northwind fleet ${suffix}`, 'Negotiation', 'Won');
  check((await deal(d2, token)).stage === 'proposal', 'pilot: "Take theirs" leaves the colleague\'s stage (proposal) on the server');
  await dialog.getByRole('button', { name: 'Keep mine' }).click();
  await dialog.waitFor({ state: 'detached', timeout: T });
  await waitFor(async () => ((await deal(d3, token)).stage === 'negotiation' ? true : undefined));
  check(true, 'fleet: "Keep mine" puts my stage (negotiation) on the server');

  // 14. the queue drains; the created contact is on the server; the board refreshed without navigating
  await page.getByTestId('sync-queue').waitFor({ state: 'detached', timeout: T });
  check(true, 'the queue is empty');
  const created = await rest('GET', `classes/Contact?where=${encodeURIComponent(JSON.stringify({ name: `Lee Park ${suffix}` }))}`, undefined, token);
  check(created.results.length === 1 && created.results[0].email === `lee-${suffix}@example.com`, 'the contact created offline is on the server, once');
  await page.locator(`[data-stage="lead"] [data-deal-id="${d4}"]`).waitFor({ timeout: T });
  await page.locator(`[data-stage="proposal"] [data-deal-id="${d2}"]`).waitFor({ timeout: T });
  await page.locator(`[data-stage="negotiation"] [data-deal-id="${d3}"]`).waitFor({ timeout: T });
  check(true, 'the board refreshed on reconnect: the deal assigned meanwhile shows, and each deal sits in its chosen stage');
  await page.locator('[aria-label="Live updates: live"]').waitFor({ timeout: T });
  check(true, 'the live indicator is live again');
  await shot(page, 'back-online-board.png');

  // 15. the colleague's board shows my offline edit
  const b = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const other = await b.newPage();
  await other.goto(base + '/');
  await other.getByLabel('Username').fill(colleague.username);
  await other.getByLabel('Password').fill(password);
  await other.getByRole('button', { name: 'Log in' }).click();
  await other.getByRole('heading', { name: 'Dashboard' }).waitFor({ timeout: T });
  await other.getByRole('link', { name: 'Pipeline' }).click();
  const card = other.locator(`[data-deal-id="${d1}"]`);
  await card.waitFor({ timeout: T });
  check((await card.textContent()).includes('$47,500'), 'the colleague\'s board shows the deal with the amount edited offline ($47,500)');
  await shot(other, 'colleague-board.png');

  // 16. log out: the records kept on the device go
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByRole('button', { name: 'Log in' }).waitFor({ timeout: T });
  const left = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.includes('Parse_LDS_')).length);
  check(left === 0, `logged out: no record is left in the local datastore (${left} entries)`);

  if (failures.length) throw new Error(failures.join('\n'));
  console.log(`RESULT ${JSON.stringify({ d1, d2, d3, d4, contact: `Lee Park ${suffix}` })}`);
  console.log(`all checks passed (${steps} steps); screenshots in ${shots}`);
} catch (e) {
  console.error(e instanceof Error ? e.stack ?? e.message : String(e));
  if (failures.length) console.error(failures.join('\n'));
  await page?.screenshot({ path: path.join(shots, 'failure.png'), fullPage: true }).catch(() => undefined);
  process.exitCode = 1;
} finally {
  await browser.close();
}

async function expectTexts(locator, ...texts) {
  for (const t of texts) await locator.getByText(t, { exact: false }).first().waitFor({ timeout: T });
}

/** Polls the server (REST) until the answer is there: the app sends queued changes in the background. */
async function waitFor(probe) {
  const until = Date.now() + T;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error('FAILED: the server did not get the change in time');
    await new Promise((r) => setTimeout(r, 200));
  }
}
