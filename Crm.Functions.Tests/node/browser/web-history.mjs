// End-to-end test of the record history timeline in Debian's Chromium against the real server (BASE_URL, CRM
// template): on a deal page the user changes the stage and amount; the timeline then shows the change (old → new)
// above an activity logged before it and the deal's creation by a colleague; a change by the master key arrives
// live; the company and contact pages show their own history; the server answers the history only to those who may read the deal
// (404, code 101 to others); offline, without the history route, and on a server error the page keeps working; a
// long history comes a page at a time.
// One line per verified step; exits non-zero on the first failure. Screenshots go to SCREENSHOT_DIR.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { launch } from './browser.mjs';

const base = process.env.BASE_URL ?? 'http://127.0.0.1:1337';
const appId = process.env.APP_ID ?? 'crm';
const masterKey = process.env.MASTER_KEY ?? '';
const shots = process.env.SCREENSHOT_DIR ?? path.resolve('artifacts/screenshots');
mkdirSync(shots, { recursive: true });

const suffix = Math.random().toString(36).slice(2, 8);
const T = 10_000;
const password = 'crm-password-123';
let steps = 0;
const check = (ok, message) => { if (!ok) throw new Error(`FAILED: ${message}`); steps++; console.log(`ok ${steps} - ${message}`); };
const money = (n) => new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', maximumFractionDigits: 0 }).format(n);

// ---- REST, for setup and for what the server answers ------------------------------------------------
async function call(method, route, body, token, master = false) {
  const headers = { 'X-Parse-Application-Id': appId, 'Content-Type': 'application/json' };
  if (token) headers['X-Parse-Session-Token'] = token;
  if (master) headers['X-Parse-Master-Key'] = masterKey;
  const r = await fetch(`${base}/parse/${route}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: r.status, json: await r.json().catch(() => ({})) };
}
async function rest(method, route, body, token, master = false) {
  const r = await call(method, route, body, token, master);
  if (r.status >= 400) throw new Error(`${method} ${route}: ${r.status} ${JSON.stringify(r.json)}`);
  return r.json;
}
const ptr = (className, objectId) => ({ __type: 'Pointer', className, objectId });

async function signUp(username) {
  const u = await rest('POST', 'users', { username, email: `${username}@example.com`, password });
  return { username, id: u.objectId, token: u.sessionToken };
}

const browser = await launch();
const failures = [];
try {
  // ---- setup: me; a colleague who creates a deal for me (their profile stays private); an outsider -------
  const me = await signUp(`hist-${suffix}`);
  const mate = await signUp(`mate-${suffix}`);
  const outsider = await signUp(`out-${suffix}`);
  const companyName = `Initech ${suffix}`;
  const company = await rest('POST', 'classes/Company', { name: companyName, industry: 'Software' }, me.token);
  const title = `Initech renewal ${suffix}`;
  const deal = await rest('POST', 'classes/Deal', {
    title, amount: 40000, stage: 'proposal', assignedTo: ptr('_User', me.id),
    expectedCloseDate: { __type: 'Date', iso: new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10) + 'T12:00:00.000Z' },
  }, mate.token);

  const ctx = await browser.newContext({ viewport: { width: 1300, height: 1000 } });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => failures.push(`page error: ${e.message}`));
  // Slow calls and the history calls' answers, for the log when a step fails.
  const started = new Map();
  page.on('request', (r) => started.set(r, Date.now()));
  page.on('requestfinished', (r) => { const ms = Date.now() - (started.get(r) ?? Date.now()); if (ms > 1500 || r.url().includes('/history')) console.error(`${ms} ms: ${r.method()} ${r.url()}`); });
  page.on('response', async (r) => { if (r.status() >= 400 && r.url().includes('/parse/')) console.error(`${r.status()} ${r.request().method()} ${r.url()} -> ${(await r.text().catch(() => '')).slice(0, 300)}`); });
  await page.goto(base + '/');
  await page.getByLabel('Username').fill(me.username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor({ timeout: T });

  // ---- 1. the deal page: its creation by a colleague ------------------------------------------------------
  await page.goto(`${base}/deals/${deal.objectId}`);
  await page.getByRole('heading', { name: title }).waitFor({ timeout: T });
  const timeline = page.getByRole('list', { name: 'Timeline, newest first' });
  const created = timeline.locator('li.change.create');
  // The first history read of a fresh server can take longer than later ones on the local Cosmos DB API server (a
  // query over the history's partitions, cold); its time is in the log. Later steps use the usual wait.
  await created.waitFor({ timeout: 3 * T });
  const createdText = await created.textContent();
  check(createdText.includes('A colleague created this deal') && createdText.includes('Stage: Proposal') && createdText.includes(`Amount: ${money(40000)}`),
    `the timeline shows the deal's creation by a colleague whose profile is private, with its first values ("${createdText}")`);
  const createdAt = await created.locator('time').getAttribute('datetime');
  check(!Number.isNaN(Date.parse(createdAt)) && Math.abs(Date.parse(createdAt) - Date.parse(deal.createdAt)) < 5000,
    `the entry has a <time datetime> of when it happened (${createdAt}; the deal's createdAt ${deal.createdAt})`);

  // ---- 2. an activity logged on the page joins the timeline -----------------------------------------------
  const activity = `Pricing call ${suffix}`;
  const log = page.getByRole('form', { name: 'Log an activity' });
  await log.getByLabel('Subject').fill(activity);
  await log.getByRole('button', { name: 'Log activity' }).click();
  await timeline.locator('li.activity', { hasText: activity }).waitFor({ timeout: T });
  let order = await timeline.locator('> li').evaluateAll((items) => items.map((li) => li.className.split(' ')[0] + (li.classList.contains('create') ? ':create' : '')));
  check(JSON.stringify(order) === JSON.stringify(['activity', 'change:create']), `the logged activity (no due date: placed when logged) sits above the creation (${order.join(', ')})`);

  // ---- 3. the user changes stage and amount: the timeline shows the change, merged in time order ------------
  await page.getByRole('button', { name: 'Edit' }).click();
  const form = page.getByRole('form', { name: `Edit ${title}` });
  await form.getByLabel('Stage').selectOption('won');
  await form.getByLabel('Amount').fill('45000');
  await form.getByRole('button', { name: 'Save' }).click();
  await page.getByTestId('deal-stage').filter({ hasText: 'Won' }).waitFor({ timeout: T });
  const updated = timeline.locator('li.change.update').first();
  await updated.waitFor({ timeout: T });
  const updatedText = await updated.locator('.what').textContent();
  check(updatedText === `You changed Amount from ${money(40000)} to ${money(45000)} and Stage from Proposal to Won`,
    `after saving, the timeline shows one entry for the change with old → new values, without a reload ("${updatedText}")`);
  order = await timeline.locator('> li').evaluateAll((items) => items.map((li) => li.className.split(' ').slice(0, 2).join(':')));
  check(JSON.stringify(order) === JSON.stringify(['change:update', 'activity:', 'change:create']),
    `newest first: the change, the activity, the creation (${order.join(', ')})`);
  const times = await timeline.locator('li.change time').evaluateAll((ts) => ts.map((t) => Date.parse(t.getAttribute('datetime'))));
  check(times.length === 2 && times[0] > times[1], 'the change entries\' times run newest first');
  check(await page.getByRole('heading', { name: 'Activities and history' }).isVisible(), 'the section is headed "Activities and history"');
  await page.screenshot({ path: path.join(shots, 'deal-history.png'), fullPage: true });
  check(true, 'screenshot: deal-history.png');

  // ---- 4. what the server answers, to whom ------------------------------------------------------------------
  const history = (await rest('GET', `classes/Deal/${deal.objectId}/history?limit=50&skip=0`, undefined, me.token)).results;
  const stageChange = history[0]?.changes?.find((c) => c.field === 'stage');
  const amountChange = history[0]?.changes?.find((c) => c.field === 'amount');
  check(history.length === 2 && history[0].event === 'update' && history[0].user?.objectId === me.id && stageChange?.old === 'proposal' && stageChange?.new === 'won'
    && amountChange?.old === 40000 && amountChange?.new === 45000 && history[1].event === 'create' && history[1].user?.objectId === mate.id,
  `the server's history of the deal, newest first: my change (stage, amount) and the colleague's creation (${history.map((h) => `${h.event}:${(h.changes ?? []).map((c) => c.field).join('+')}`).join(', ')})`);
  const refused = await call('GET', `classes/Deal/${deal.objectId}/history`, undefined, outsider.token);
  check(refused.status === 404 && refused.json.code === 101, `a user who cannot read the deal cannot read its history (${refused.status} ${JSON.stringify(refused.json)})`);
  const creator = await call('GET', `classes/Deal/${deal.objectId}/history`, undefined, mate.token);
  check(creator.status === 200 && creator.json.results?.length === 2, 'the colleague who created it (and still reads it) can');

  // ---- 5. a change made elsewhere (master key) shows live ---------------------------------------------------
  await page.waitForFunction(() => document.querySelector('.live.live') !== null, null, { timeout: T });
  await rest('PUT', `classes/Deal/${deal.objectId}`, { notes: 'Signed by fax' }, undefined, true);
  const byAdmin = timeline.locator('li.change.update', { hasText: 'Administrator set Notes to “Signed by fax”' });
  await byAdmin.waitFor({ timeout: T });
  check(await timeline.locator('> li').first().evaluate((li, text) => li.textContent.includes(text), 'Administrator'), 'a change through the master key arrives live, at the top, by "Administrator"');

  // ---- 6. the company page: its own history -----------------------------------------------------------------
  await page.goto(`${base}/companies/${company.objectId}`);
  await page.getByRole('heading', { name: companyName, exact: true }).waitFor({ timeout: T });
  const companyHistory = page.locator('section.history');
  await companyHistory.locator('li.change.create').waitFor({ timeout: T });
  const companyText = await companyHistory.locator('li.change.create').textContent();
  check(await companyHistory.getByRole('heading', { name: 'History' }).isVisible() && companyText.includes('You created this company') && companyText.includes('Industry: “Software”'),
    `the company page has a History section: "${companyText}"`);
  await page.screenshot({ path: path.join(shots, 'company-history.png'), fullPage: true });
  check(true, 'screenshot: company-history.png');

  // ---- 7. a contact page: its creation names the company the page has; an edit there joins at the top -------------
  const contactName = `Ida ${suffix}`;
  const contact = await rest('POST', 'classes/Contact', { name: contactName, email: `ida-${suffix}@example.com`, company: ptr('Company', company.objectId) }, me.token);
  await rest('POST', 'classes/Activity', { type: 'email', subject: `Intro mail ${suffix}`, relatedTo: ptr('Contact', contact.objectId) }, me.token);
  await page.goto(`${base}/contacts/${contact.objectId}`);
  await page.getByRole('heading', { name: contactName }).waitFor({ timeout: T });
  await timeline.locator('li.change.create').waitFor({ timeout: T });
  const contactCreated = await timeline.locator('li.change.create').textContent();
  check(contactCreated.includes('You created this contact') && contactCreated.includes(`Company: ${companyName}`),
    `the contact's creation shows its company by name, from the record the page has ("${contactCreated}")`);
  await page.getByRole('button', { name: 'Edit' }).click();
  const contactForm = page.getByRole('form', { name: `Edit ${contactName}` });
  await contactForm.getByLabel('Phone').fill('+1 555 0199');
  await contactForm.getByRole('button', { name: 'Save' }).click();
  await timeline.locator('li.change.update').waitFor({ timeout: T });
  order = await timeline.locator('> li').evaluateAll((items) => items.map((li) => li.textContent));
  check(order.length === 3 && order[0].includes('You set Phone to “+1 555 0199”') && order[1].includes(`Intro mail ${suffix}`) && order[2].includes('You created this contact'),
    `on the contact page too: the edit, the activity, the creation (${order.length} entries)`);

  // ---- 8. offline: no history (it is not kept on the device); the activities stay -------------------------
  await page.goto(`${base}/deals/${deal.objectId}`);
  await timeline.locator('li.change.update').first().waitFor({ timeout: T });
  await timeline.locator('li.activity', { hasText: activity }).waitFor({ timeout: T });
  await ctx.setOffline(true);
  await page.getByTestId('history-status').filter({ hasText: 'History is available when online.' }).waitFor({ timeout: T });
  check(await timeline.locator('li.change').count() === 0 && await timeline.locator('li.activity', { hasText: activity }).isVisible() && await page.getByRole('heading', { name: title }).isVisible(),
    'offline the page says "History is available when online." and still shows the deal and its activity');
  await page.screenshot({ path: path.join(shots, 'deal-history-offline.png'), fullPage: true });
  await ctx.setOffline(false);
  await timeline.locator('li.change.create').waitFor({ timeout: T });
  check(await page.getByTestId('history-status').count() === 0, 'back online the history comes back');

  // ---- 9. a server without the history route, and a server error: the page keeps working --------------------
  const historyRoute = /\/parse\/classes\/Deal\/[^/]+\/history(\?|$)/;
  await page.route(historyRoute, (route) => route.fulfill({ status: 404, contentType: 'application/json', body: JSON.stringify({ code: 107, error: 'Cannot GET /parse/classes/Deal/x/history' }) }));
  await page.reload();
  await page.getByTestId('history-status').filter({ hasText: 'This server keeps no history of changes.' }).waitFor({ timeout: T });
  await timeline.locator('li.activity', { hasText: activity }).waitFor({ timeout: T });
  check(await timeline.locator('li.change').count() === 0 && await page.getByRole('button', { name: 'Edit' }).isEnabled() && await page.locator('p.error[role=alert]').count() === 0,
    'a server without the route (404, code 107) leaves the page as it was: the activities, no error, a quiet note');
  await page.unroute(historyRoute);
  await page.route(historyRoute, (route) => route.fulfill({ status: 500, contentType: 'application/json', body: JSON.stringify({ code: 1, error: 'Internal server error.' }) }));
  await page.reload();
  const alert = page.locator('p.error[role=alert]', { hasText: 'The history could not be loaded: Internal server error.' });
  await alert.waitFor({ timeout: T });
  await timeline.locator('li.activity', { hasText: activity }).waitFor({ timeout: T });
  check(await timeline.locator('li.change').count() === 0, 'a failing history call is reported in an alert beside the activities');
  await page.unroute(historyRoute);
  await alert.getByRole('button', { name: 'Try again' }).click();
  await timeline.locator('li.change.create').waitFor({ timeout: T });
  check(await page.locator('p.error[role=alert]').count() === 0, '"Try again" loads it once the server answers');

  // ---- 10. a long history comes a page (50) at a time: "Show earlier changes" loads the rest ---------------------
  const busy = await rest('POST', 'classes/Deal', { title: `Busy deal ${suffix}`, amount: 0, stage: 'lead' }, me.token);
  const edits = Array.from({ length: 50 }, (_, i) => ({ method: 'PUT', path: `/parse/classes/Deal/${busy.objectId}`, body: { amount: (i + 1) * 100 } }));
  const saved = await rest('POST', 'batch', { requests: edits }, me.token);
  check(saved.length === 50 && saved.every((r) => r.success), 'setup: 50 changes of one deal in one /batch');
  await page.goto(`${base}/deals/${busy.objectId}`);
  await page.getByRole('heading', { name: `Busy deal ${suffix}` }).waitFor({ timeout: T });
  const more = page.getByRole('button', { name: 'Show earlier changes' });
  await more.waitFor({ timeout: T });
  check(await timeline.locator('li.change').count() === 50 && await timeline.locator('li.change.create').count() === 0
    && (await timeline.locator('li.change').first().textContent()).includes(`You changed Amount from ${money(4900)} to ${money(5000)}`),
  'the first page shows the 50 latest changes, newest first, and offers earlier ones');
  await more.click();
  await timeline.locator('li.change.create').waitFor({ timeout: T });
  check(await timeline.locator('li.change').count() === 51 && await more.count() === 0
    && (await timeline.locator('li.change').nth(49).textContent()).includes(`You changed Amount from ${money(0)} to ${money(100)}`),
  '"Show earlier changes" adds the rest, down to the creation, and goes away');

  if (failures.length) throw new Error(failures.join('\n'));
  console.log(`all ${steps} checks passed; screenshots in ${shots}`);
} catch (e) {
  console.error(e instanceof Error ? e.stack ?? e.message : String(e));
  for (const p of browser.contexts().flatMap((c) => c.pages())) console.error(`page ${p.url()}: ${await p.locator('main').textContent().catch(() => '?')}`);
  if (failures.length) console.error(failures.join('\n'));
  process.exitCode = 1;
} finally {
  await browser.close();
}
