// End-to-end test of the web app's everyday CRM work in Debian's Chromium against the real server (BASE_URL,
// CRM template and demo data): complete records (activities edited and deleted, deletes that re-link or delete
// what points at a record), field-level errors, toasts and the confirm dialog, owners and reassignment, quick
// add, the activities list, search (lists, related names, global), CSV import and export, dashboard signals,
// served app name and colour, the Developers menu and the pipeline's stage tabs on a phone.
// One line per verified step; exits non-zero on the first failure. Screenshots go to SCREENSHOT_DIR.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { launch } from './browser.mjs';

const base = process.env.BASE_URL ?? 'http://127.0.0.1:1337';
const appId = process.env.APP_ID ?? 'crm';
const masterKey = process.env.MASTER_KEY ?? '';
const shots = process.env.SCREENSHOT_DIR ?? path.resolve('artifacts/screenshots');
const manager = process.env.MANAGER_USER ?? 'carol';
const demoPassword = process.env.DEMO_PASSWORD ?? 'demo-password';
mkdirSync(shots, { recursive: true });

const suffix = Math.random().toString(36).slice(2, 8);
const T = 10_000;
const password = 'crm-password-123';
const appName = `Northwind Sales ${suffix}`;
const accent = '#0a7d5a';
let steps = 0;
const check = (ok, message) => { if (!ok) throw new Error(`FAILED: ${message}`); steps++; console.log(`ok ${steps} - ${message}`); };
const day = (offset) => { const d = new Date(); d.setDate(d.getDate() + offset); return d.toISOString().slice(0, 10); };
const money = (n) => new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', maximumFractionDigits: 0 }).format(n);

// ---- REST, for setup and for checking what the server holds ------------------------------------------
async function rest(method, route, body, token, master = false) {
  const headers = { 'X-Parse-Application-Id': appId, 'Content-Type': 'application/json' };
  if (token) headers['X-Parse-Session-Token'] = token;
  if (master) headers['X-Parse-Master-Key'] = masterKey;
  const r = await fetch(`${base}/parse/${route}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const json = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(`${method} ${route}: ${r.status} ${JSON.stringify(json)}`);
  return json;
}
const query = (className, where, token, extra = '') => rest('GET', `classes/${className}?where=${encodeURIComponent(JSON.stringify(where))}${extra}`, undefined, token).then((r) => r.results);
const ptr = (className, objectId) => ({ __type: 'Pointer', className, objectId });

async function signUp(username) {
  const u = await rest('POST', 'users', { username, email: `${username}@example.com`, password });
  return { username, id: u.objectId, token: u.sessionToken };
}

async function logIn(page, username, pw = password) {
  await page.goto(base + '/');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(pw);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor({ timeout: T });
}

const browser = await launch();
const failures = [];
try {
  // ---- setup: the team's brand (Parse Config) and two colleagues who can see each other -------------
  await rest('PUT', 'config', { params: { appName, accentColor: accent } }, undefined, true);
  const me = await signUp(`rep-${suffix}`);
  const colleague = await signUp(`mate-${suffix}`);
  // Each shares their profile (username; the server keeps email protected) with the other, so each can assign deals to the other.
  await rest('PUT', `users/${me.id}`, { ACL: { [me.id]: { read: true, write: true }, [colleague.id]: { read: true } } }, me.token);
  await rest('PUT', `users/${colleague.id}`, { ACL: { [colleague.id]: { read: true, write: true }, [me.id]: { read: true } } }, colleague.token);

  const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 }, acceptDownloads: true });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => failures.push(`page error: ${e.message}`));
  const started = new Map();
  page.on('request', (r) => started.set(r, Date.now()));
  page.on('requestfinished', (r) => { const ms = Date.now() - (started.get(r) ?? Date.now()); if (ms > 1500) console.error(`slow ${ms} ms: ${r.method()} ${r.url()} ${(r.postData() ?? '').slice(0, 200)}`); });
  // Refused API calls, for the log when a step fails (some are expected: validation refusals).
  page.on('response', async (r) => { if (r.status() >= 400 && r.url().includes('/parse/')) console.error(`${r.status()} ${r.request().method()} ${r.url()} ${(r.request().postData() ?? '').slice(0, 300)} -> ${(await r.text().catch(() => '')).slice(0, 300)}`); });
  const successToast = (text) => page.getByTestId('toast-success').filter({ hasText: text }).first().waitFor({ timeout: T });
  const goto = async (link) => { await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: link, exact: true }).click(); };

  // ---- 1. polish: served name and colour, Developers menu -------------------------------------------
  await logIn(page, me.username);
  await page.waitForFunction((n) => document.title === n, appName, { timeout: T });
  check(await page.locator('.brand').textContent() === appName, `the app name comes from the served config ("${appName}" in the header and the title)`);
  const accentNow = await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--accent').trim());
  check(accentNow === accent, `the accent colour comes from the served config (${accentNow})`);
  const nav = page.getByRole('navigation', { name: 'Main' });
  check(!(await nav.getByRole('link', { name: 'Schema diagram' }).isVisible()), 'developer links are not in the main navigation');
  await nav.getByRole('button', { name: /Developers/ }).click();
  check(await nav.getByRole('link', { name: 'Schema diagram' }).isVisible() && await nav.getByRole('link', { name: 'API playground' }).isVisible(), 'the Developers menu opens the schema diagram, dictionary and API playground links');
  await page.keyboard.press('Escape');
  check(!(await nav.getByRole('link', { name: 'Schema diagram' }).isVisible()), 'Escape closes the Developers menu');

  // ---- 2. field errors and toasts --------------------------------------------------------------------
  await goto('Contacts');
  await page.getByRole('button', { name: 'New contact' }).click();
  let requests = 0;
  // A save, not a query: the SDK sends finds as POSTs with _method GET (the contact list may refetch meanwhile).
  const countSaves = (r) => { if (r.url().includes('/parse/classes/Contact') && r.method() === 'POST' && !(r.postData() ?? '').includes('"_method":"GET"')) requests++; };
  page.on('request', countSaves);
  await page.getByLabel('Name *').fill(`Dana ${suffix}`);
  await page.getByLabel('Email').fill('not-an-email');
  await page.getByRole('button', { name: 'Save' }).click();
  const emailError = page.locator('.field.invalid').filter({ has: page.getByLabel('Email') }).locator('.field-error');
  await emailError.waitFor({ timeout: T });
  check(await emailError.textContent() === 'Email must be a valid email address' && await page.getByLabel('Email').getAttribute('aria-invalid') === 'true',
    'an invalid email is shown at the Email field (aria-invalid, message under it)');
  check(requests === 0, `nothing was sent (${requests} saves)`);
  check(await page.evaluate(() => document.activeElement?.getAttribute('type')) === 'email', 'focus moved to the field');
  page.off('request', countSaves);
  // A refusal by the server (Parse error 142 naming a field) lands at that field too.
  await page.route('**/parse/classes/Contact', (route) => route.request().method() === 'POST'
    ? route.fulfill({ status: 400, contentType: 'application/json', body: JSON.stringify({ code: 142, error: 'phone must be a phone number' }) })
    : route.continue());
  await page.getByLabel('Email').fill(`dana-${suffix}@example.com`);
  await page.getByLabel('Phone').fill('call me maybe');
  await page.getByRole('button', { name: 'Save' }).click();
  const phoneError = page.locator('.field.invalid').filter({ has: page.getByLabel('Phone') }).locator('.field-error');
  await phoneError.waitFor({ timeout: T });
  await page.getByTestId('toast-error').filter({ hasText: 'Phone must be a phone number' }).waitFor({ timeout: T });
  check(await phoneError.textContent() === 'Phone must be a phone number', 'a server validation error (142 "phone must …") is shown at the Phone field, and as an error toast');
  await page.unroute('**/parse/classes/Contact');
  await page.getByLabel('Phone').fill('+1 555 0100');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('heading', { name: `Dana ${suffix}` }).waitFor({ timeout: T });
  await successToast('Contact created');
  check(true, 'saving shows a success toast');
  const danaId = page.url().split('/').pop();

  // ---- 3. a company page adds contacts and deals -----------------------------------------------------
  const company = `Globex ${suffix}`;
  await goto('Companies');
  await page.getByRole('button', { name: 'New company' }).click();
  await page.getByLabel('Name *').fill(company);
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('heading', { name: company, exact: true }).waitFor({ timeout: T });
  const companyId = page.url().split('/').pop();
  await page.getByRole('button', { name: 'Add contact' }).click();
  let form = page.getByRole('form', { name: 'New contact' });
  check(await form.getByLabel('Company').inputValue() === companyId, 'a company\'s "Add contact" form has the company filled in');
  await form.getByLabel('Name *').fill(`Hank ${suffix}`);
  await form.getByLabel('Email').fill(`hank-${suffix}@example.com`);
  await form.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('link', { name: `Hank ${suffix}` }).waitFor({ timeout: T });
  check(true, 'the new contact is listed on the company page');
  await page.getByRole('button', { name: 'Add deal' }).click();
  form = page.getByRole('form', { name: 'New deal' });
  await form.getByLabel('Title *').fill(`Globex rollout ${suffix}`);
  await form.getByLabel('Amount').fill('-500');
  await form.getByRole('button', { name: 'Save' }).click();
  await form.locator('.field-error', { hasText: 'Amount must be zero or more' }).waitFor({ timeout: T });
  check(true, 'a negative amount is refused at the Amount field');
  await form.getByLabel('Amount').fill('40000');
  await form.getByLabel('Expected close date').fill(day(-3));
  await form.getByLabel('Stage').selectOption('proposal');
  await form.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('link', { name: `Globex rollout ${suffix}` }).waitFor({ timeout: T });
  check(await page.locator('.related-list li', { hasText: `Globex rollout ${suffix}` }).locator('.overdue').count() === 1,
    'the deal added on the company page is listed there, its past close date flagged overdue');

  // ---- 4. a contact page adds a deal; activities are logged, edited and deleted ------------------------
  await page.goto(`${base}/contacts/${danaId}`);
  await page.getByRole('heading', { name: `Dana ${suffix}` }).waitFor({ timeout: T });
  await page.getByRole('button', { name: 'Add deal' }).click();
  form = page.getByRole('form', { name: 'New deal' });
  check(await form.getByLabel('Contact').inputValue() === danaId, 'a contact\'s "Add deal" form has the contact filled in');
  const dealA = `Dana renewal ${suffix}`;
  await form.getByLabel('Title *').fill(dealA);
  await form.getByLabel('Amount').fill('12000');
  await form.getByLabel('Expected close date').fill(day(30));
  await form.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('link', { name: dealA }).click();
  await page.getByRole('heading', { name: dealA }).waitFor({ timeout: T });
  const dealAId = page.url().split('/').pop();
  const closes = await page.locator('.summary time').first().textContent();
  check(!/\d{4}-\d{2}-\d{2}/.test(closes) && await page.locator('.summary time').first().evaluate((el) => getComputedStyle(el).whiteSpace) === 'nowrap',
    `dates are in the user's locale, not ISO, and do not wrap ("${closes}")`);

  const log = page.getByRole('form', { name: 'Log an activity' });
  await log.getByRole('button', { name: 'Log activity' }).click();
  await log.locator('.field-error', { hasText: 'Subject is required' }).waitFor({ timeout: T });
  check(true, 'an activity without a subject is refused at the Subject field');
  for (const [subject, due] of [[`Kick-off call ${suffix}`, day(-1)], [`Send pricing ${suffix}`, day(2)]]) {
    await log.getByLabel('Subject').fill(subject);
    await log.getByLabel('Due date').fill(due);
    await log.getByRole('button', { name: 'Log activity' }).click();
    await page.locator('.timeline .activity', { hasText: subject }).waitFor({ timeout: T });
  }
  check(await page.locator('.timeline .activity', { hasText: `Kick-off call ${suffix}` }).locator('.flag.overdue').count() === 1
    && await page.locator('.timeline .activity', { hasText: `Send pricing ${suffix}` }).locator('.flag.due-soon').count() === 1,
  'two activities logged: the past one flagged overdue, the next one due soon');
  await page.screenshot({ path: path.join(shots, 'deal.png'), fullPage: true });
  check(true, 'screenshot: deal.png');

  await page.getByRole('link', { name: `Send pricing ${suffix}` }).click();
  await page.getByRole('heading', { name: `Send pricing ${suffix}` }).waitFor({ timeout: T });
  await page.getByRole('button', { name: 'Edit' }).click();
  form = page.getByRole('form', { name: `Edit Send pricing ${suffix}` });
  await form.getByLabel('Subject *').fill(`Send revised pricing ${suffix}`);
  await form.getByLabel('Type').selectOption('email');
  await form.getByRole('button', { name: 'Save' }).click();
  // The page's title, and the form gone: the real-time event of the save can rename the still open form's heading
  // ("Edit Send revised pricing …") before the save's own answer closes it.
  await page.getByRole('heading', { name: `Send revised pricing ${suffix}`, exact: true }).waitFor({ timeout: T });
  await page.getByRole('form', { name: /^Edit / }).waitFor({ state: 'detached', timeout: T });
  const edited = await query('Activity', { subject: `Send revised pricing ${suffix}` }, me.token);
  check(edited.length === 1 && edited[0].type === 'email', 'an activity is edited from its page (subject and type saved on the server)');

  await page.getByRole('button', { name: 'Delete' }).click();
  const dialog = page.getByRole('dialog', { name: `Delete Send revised pricing ${suffix}?` });
  await dialog.waitFor({ timeout: T });
  check(await dialog.getAttribute('aria-modal') === 'true' && await page.evaluate(() => document.activeElement?.textContent) === 'Cancel',
    'Delete opens a modal dialog (role=dialog, aria-modal) with focus on Cancel');
  for (let i = 0; i < 5; i++) await page.keyboard.press('Tab');
  check(await page.evaluate(() => !!document.activeElement?.closest('[role=dialog]')), 'Tab keeps focus inside the dialog');
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached', timeout: T });
  check(await page.getByRole('heading', { name: `Send revised pricing ${suffix}`, exact: true }).isVisible(), 'Escape closes the dialog and deletes nothing');
  await page.getByRole('button', { name: 'Delete' }).click();
  await dialog.getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('heading', { name: dealA }).waitFor({ timeout: T });
  await successToast('deleted');
  check(await page.locator('.timeline .activity', { hasText: `Send revised pricing ${suffix}` }).count() === 0
    && (await query('Activity', { subject: `Send revised pricing ${suffix}` }, me.token)).length === 0,
  'confirming deletes the activity and returns to its deal');

  // ---- 5. deleting a deal that has activities: the dialog offers to delete them too ------------------
  await page.getByRole('button', { name: 'Delete' }).first().click();
  const dealDialog = page.getByRole('dialog', { name: `Delete ${dealA}?` });
  await dealDialog.waitFor({ timeout: T });
  check((await dealDialog.textContent()).includes('1 activity refers to'), 'deleting a deal with an activity says so in the dialog');
  await dealDialog.getByLabel('Delete it too').check();
  await dealDialog.getByRole('button', { name: 'Delete' }).click();
  await page.waitForURL(`${base}/deals`, { timeout: T });
  check((await query('Deal', { objectId: dealAId }, me.token)).length === 0 && (await query('Activity', { relatedTo: ptr('Deal', dealAId) }, me.token, '&count=1')).length === 0,
    'the deal and its activity are deleted (none left on the server)');

  // ---- 6. deleting a contact with activities: re-link them to another contact ------------------------
  await rest('POST', 'classes/Activity', { type: 'note', subject: `Met at expo ${suffix}`, relatedTo: ptr('Contact', danaId) }, me.token);
  const hank = (await query('Contact', { name: `Hank ${suffix}` }, me.token))[0];
  await page.goto(`${base}/contacts/${danaId}`);
  await page.getByRole('heading', { name: `Dana ${suffix}` }).waitFor({ timeout: T });
  await page.getByRole('button', { name: 'Delete' }).first().click();
  const contactDialog = page.getByRole('dialog', { name: `Delete Dana ${suffix}?` });
  await contactDialog.getByLabel('Move it to another contact').check();
  await contactDialog.getByLabel('Move to').selectOption({ label: `Hank ${suffix}` });
  await contactDialog.getByRole('button', { name: 'Delete' }).click();
  await page.waitForURL(`${base}/contacts`, { timeout: T });
  const moved = await query('Activity', { subject: `Met at expo ${suffix}` }, me.token);
  check(moved.length === 1 && moved[0].relatedTo.objectId === hank.objectId && (await query('Contact', { objectId: danaId }, me.token)).length === 0,
    'the contact is deleted and its activity re-linked to the chosen contact');

  // ---- 7. a company with contacts and deals: a target is required, then they are re-linked -----------
  const other = await rest('POST', 'classes/Company', { name: `Initech ${suffix}` }, me.token);
  await page.goto(`${base}/companies/${companyId}`);
  await page.getByRole('heading', { name: company, exact: true }).waitFor({ timeout: T });
  await page.getByRole('button', { name: 'Delete' }).first().click();
  const companyDialog = page.getByRole('dialog', { name: `Delete ${company}?` });
  await companyDialog.waitFor({ timeout: T });
  check((await companyDialog.textContent()).includes('1 contact and 1 deal refer to'), 'deleting a company with a contact and a deal lists them in the dialog');
  await companyDialog.getByRole('button', { name: 'Delete' }).click();
  await companyDialog.getByRole('alert').filter({ hasText: 'Choose the company to move them to' }).waitFor({ timeout: T });
  check((await query('Company', { objectId: companyId }, me.token)).length === 1, 'without a company to move them to, nothing is deleted');
  await companyDialog.getByLabel('Move to').selectOption({ label: `Initech ${suffix}` });
  await companyDialog.getByRole('button', { name: 'Delete' }).click();
  await page.waitForURL(`${base}/companies`, { timeout: T });
  const relinkedDeals = await query('Deal', { company: ptr('Company', other.objectId) }, me.token);
  const relinkedContacts = await query('Contact', { company: ptr('Company', other.objectId) }, me.token);
  check((await query('Company', { objectId: companyId }, me.token)).length === 0 && relinkedDeals.length === 1 && relinkedContacts.length === 1,
    'the company is deleted after its contact and deal moved to the chosen company (nothing dangling)');
  const globexDealId = relinkedDeals[0].objectId;

  // ---- 8. owners: reassign a deal; the card shows the owner --------------------------------------------
  await page.goto(`${base}/deals/${globexDealId}`);
  await page.getByTestId('deal-owner').filter({ hasText: me.username }).waitFor({ timeout: T });
  await page.getByLabel('Reassign to').selectOption({ label: colleague.username });
  await page.getByTestId('deal-owner').filter({ hasText: colleague.username }).waitFor({ timeout: T });
  const reassigned = (await query('Deal', { objectId: globexDealId }, colleague.token))[0];
  if (reassigned?.assignedTo?.objectId !== colleague.id) console.log(JSON.stringify(reassigned), colleague.id);
  check(reassigned?.assignedTo?.objectId === colleague.id, `the deal is reassigned to ${colleague.username} (who can now read it)`);
  await goto('Pipeline');
  const card = (stage, id) => page.locator(`section[data-stage="${stage}"] li[data-deal-id="${id}"]`);
  await card('proposal', globexDealId).waitFor({ timeout: T });
  check((await card('proposal', globexDealId).getByTestId('card-owner').textContent()).includes(colleague.username)
    && await card('proposal', globexDealId).evaluate((el) => el.classList.contains('overdue')),
  'the card shows the new owner\'s name and is flagged overdue');

  // ---- 9. quick add on the board -----------------------------------------------------------------------
  await page.getByRole('button', { name: 'Add a deal in Qualified' }).click();
  const quick = page.getByRole('form', { name: 'New deal in Qualified' });
  await quick.getByLabel('Title').fill(`Quick deal ${suffix}`);
  await quick.getByLabel('Amount').fill('-1');
  await quick.getByRole('button', { name: 'Add' }).click();
  await quick.locator('.field-error', { hasText: 'Amount must be zero or more' }).waitFor({ timeout: T });
  await quick.getByLabel('Amount').fill('1500');
  await quick.getByRole('button', { name: 'Add' }).click();
  const quickCard = page.locator('section[data-stage="qualified"] li.card', { hasText: `Quick deal ${suffix}` });
  await quickCard.waitFor({ timeout: T });
  const quickSaved = await query('Deal', { title: `Quick deal ${suffix}` }, me.token);
  check(quickSaved.length === 1 && quickSaved[0].stage === 'qualified' && quickSaved[0].amount === 1500 && (await quickCard.getByTestId('card-owner').textContent()).includes(me.username),
    'quick add in the Qualified column creates the deal there, owned by me');
  const quickId = quickSaved[0].objectId;

  // ---- 10. a live change by another device is flagged on the card ----------------------------------------
  await page.waitForFunction(() => document.querySelector('.live.live') !== null, null, { timeout: T });
  await rest('PUT', `classes/Deal/${quickId}`, { stage: 'negotiation' }, me.token);
  const cue = card('negotiation', quickId).locator('.live-cue');
  await cue.waitFor({ timeout: 5000 });
  check((await cue.textContent()).startsWith('changed'), `a change made elsewhere moves the card live and flags it ("${await cue.textContent()}")`);
  await page.screenshot({ path: path.join(shots, 'board.png'), fullPage: true });
  check(true, 'screenshot: board.png');

  // ---- 11. search: list search on related names kept in the address; global search --------------------
  await goto('Deals');
  await page.getByLabel('Search deals').fill(`Initech ${suffix}`);
  await page.waitForURL((u) => u.searchParams.get('q') === `Initech ${suffix}`, { timeout: T });
  await page.waitForFunction((t) => { const rows = document.querySelectorAll('tbody tr'); return rows.length === 1 && rows[0].textContent.includes(t); }, `Globex rollout ${suffix}`, { timeout: T });
  check(true, 'the deals list finds a deal by its company\'s name; the search is in the address');
  await page.getByRole('button', { name: 'Amount' }).click();
  await page.waitForURL(/sort=amount/, { timeout: T });
  await page.reload();
  await page.getByRole('link', { name: `Globex rollout ${suffix}` }).waitFor({ timeout: T });
  check(await page.getByLabel('Search deals').inputValue() === `Initech ${suffix}` && await page.locator('th[aria-sort="ascending"]').textContent() === 'Amount ▲',
    'after a reload the search and the sort come back from the address');
  await page.getByLabel('Search everything').fill(suffix);
  await page.getByLabel('Search everything').press('Enter');
  await page.getByRole('heading', { name: `Search: “${suffix}”` }).waitFor({ timeout: T });
  await page.getByTestId('results-deals').getByRole('link', { name: `Quick deal ${suffix}` }).waitFor({ timeout: T });
  await page.getByTestId('results-contacts').getByRole('link', { name: `Hank ${suffix}` }).waitFor({ timeout: T });
  await page.getByTestId('results-companies').getByRole('link', { name: `Initech ${suffix}` }).waitFor({ timeout: T });
  await page.getByTestId('results-activities').getByRole('link', { name: `Met at expo ${suffix}` }).waitFor({ timeout: T });
  check(true, 'the global search box finds deals, contacts, companies and activities');

  // ---- 12. the list of all activities, filtered in the address -----------------------------------------
  await rest('POST', 'classes/Activity', { type: 'call', subject: `Chase invoice ${suffix}`, relatedTo: ptr('Contact', hank.objectId), dueDate: { __type: 'Date', iso: new Date(Date.now() - 3 * 86_400_000).toISOString() } }, me.token);
  await goto('Activities');
  await page.getByLabel('Status').selectOption('overdue');
  await page.waitForURL(/status=overdue/, { timeout: T });
  const overdueItem = page.locator('.timeline .activity', { hasText: `Chase invoice ${suffix}` });
  await overdueItem.waitFor({ timeout: T });
  await page.locator('.timeline .activity', { hasText: `Met at expo ${suffix}` }).waitFor({ state: 'detached', timeout: T });
  check(await overdueItem.locator('.flag.overdue').count() === 1 && await page.getByLabel('Status').inputValue() === 'overdue',
    'the activities list filtered to overdue shows the overdue activity, flagged');

  // ---- 13. CSV import with a duplicate and bad rows; the report says why --------------------------------
  const csv = [
    'Full Name,E-mail,Organisation,Phone',
    `Ivy ${suffix},ivy-${suffix}@example.com,Initech ${suffix},555-0101`,
    `Jon ${suffix},jon-${suffix}@example.com,,555-0102`,
    `Hank Again ${suffix},hank-${suffix}@example.com,,`,
    `Kim ${suffix},not-an-email,,`,
    `,nobody-${suffix}@example.com,,`,
    `Ivy Twin ${suffix},IVY-${suffix}@example.com,,`,
    `"Lee, Jr. ${suffix}",lee-${suffix}@example.com,Nowhere Ltd,`,
  ].join('\n');
  const csvDir = mkdtempSync(path.join(tmpdir(), 'web-crm-'));
  const csvFile = path.join(csvDir, 'contacts.csv');
  writeFileSync(csvFile, csv);
  await goto('Contacts');
  await page.getByRole('link', { name: 'Import CSV' }).click();
  await page.getByRole('heading', { name: 'Import contacts' }).waitFor({ timeout: T });
  await page.getByLabel('CSV file').setInputFiles(csvFile);
  await page.getByTestId('import-summary').waitFor({ timeout: T });
  rmSync(csvDir, { recursive: true, force: true });
  check(await page.getByLabel('Name *').inputValue() === 'Full Name' && await page.getByLabel('Email').inputValue() === 'E-mail' && await page.getByLabel('Company (by name)').inputValue() === 'Organisation',
    'the columns are mapped from the header (Full Name → name, E-mail → email, Organisation → company)');
  const skippedRows = page.locator('table.preview tr.skipped');
  check((await page.getByTestId('import-summary').textContent()).includes('7 rows: 3 to import, 4 to skip') && await skippedRows.count() === 4
    && await skippedRows.first().isVisible() && (await skippedRows.first().textContent()).includes('Skipped: duplicate'),
  'the preview shows every row, 3 to import and 4 marked skipped with the reason');
  await page.screenshot({ path: path.join(shots, 'import.png'), fullPage: true });
  check(true, 'screenshot: import.png (mapping and preview)');
  const batches = [];
  page.on('request', (r) => { if (r.url().endsWith('/parse/batch')) batches.push(r); });
  await page.getByRole('button', { name: 'Import 3 rows' }).click();
  await page.getByTestId('import-report').waitFor({ timeout: T });
  check(await page.getByTestId('import-report').textContent() === '3 imported, 4 skipped.' && await page.locator('progress').getAttribute('value') === '3',
    'the import saves the rows (progress bar full) and reports 3 imported, 4 skipped');
  check(batches.length >= 1, `the rows went through /batch (${batches.length} request)`);
  const reasons = await page.getByTestId('import-skipped').locator('tbody tr').allTextContents();
  check(reasons.length === 4 && reasons[0].startsWith('4duplicate') && reasons[1].startsWith('5email must be a valid email address') && reasons[2] === '6name is required' && reasons[3].startsWith('7duplicate'),
    `the report says why each row was skipped (${reasons.join(' | ')})`);
  check((await page.locator('.report .notes').textContent()).includes('company "Nowhere Ltd" not found'), 'an unknown company name is reported; the contact is imported without it');
  const ivy = (await query('Contact', { email: `ivy-${suffix}@example.com` }, me.token))[0];
  check(ivy?.company?.objectId === other.objectId && (await query('Contact', { name: `Lee, Jr. ${suffix}` }, me.token)).length === 1,
    'imported contacts are on the server, linked to the company named in the file');
  await page.getByRole('combobox', { name: 'Import into' }).selectOption('Company');
  await page.getByLabel('CSV file').setInputFiles({ name: 'companies.csv', mimeType: 'text/csv', buffer: Buffer.from(`name,industry\nUmbrella ${suffix},Pharma\nInitech ${suffix},Software\n`) });
  await page.getByRole('button', { name: 'Import 1 row' }).click();
  await page.getByTestId('import-report').waitFor({ timeout: T });
  check((await page.getByTestId('import-skipped').textContent()).includes(`name Initech ${suffix} is already used by an existing record`), 'importing companies skips a name already known');

  // ---- 14. CSV export of a filtered list --------------------------------------------------------------
  await goto('Contacts');
  await page.getByLabel('Search contacts').fill(suffix);
  await page.waitForURL((u) => u.searchParams.get('q') === suffix, { timeout: T });
  await page.waitForFunction(() => document.querySelectorAll('tbody tr').length === 4, null, { timeout: T });
  const downloadStarted = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Export CSV' }).click();
  const exported = readFileSync(await (await downloadStarted).path(), 'utf8');
  const lines = exported.trim().split(/\r?\n/);
  check(lines[0] === 'Name,Email,Phone,Company' && lines.length === 1 + 4 && exported.includes(`"Lee, Jr. ${suffix}"`) && exported.includes(`Ivy ${suffix},ivy-${suffix}@example.com,555-0101,Initech ${suffix}`),
    `Export CSV downloads the filtered list (${lines.length - 1} contacts, quoted where needed)`);

  // ---- 15. dashboard: forecast, trend, overdue deals, activities due ---------------------------------------
  await goto('Dashboard');
  await page.getByTestId('forecast').waitFor({ timeout: T });
  const summary = (await rest('POST', 'functions/pipelineSummary', {}, me.token)).result;
  const visible = await query('Deal', {}, me.token, '&limit=1000');
  const p = { lead: 0.1, qualified: 0.25, proposal: 0.5, negotiation: 0.75 };
  const serverForecast = typeof summary.forecast === 'number' ? summary.forecast : summary.forecast?.weighted;
  const expected = serverForecast ?? visible.reduce((s, d) => s + (d.amount ?? 0) * (p[d.stage] ?? 0), 0);
  const shown = await page.getByTestId('forecast').textContent();
  check(shown === money(expected), `the dashboard's weighted forecast is ${money(expected)} (${serverForecast === undefined ? 'computed from stage probabilities' : 'from pipelineSummary'}; shown ${shown}; deals ${visible.map((d) => `${d.stage}:${d.amount}`).join(',')})`);
  check(await page.locator('[data-testid=trend-chart] rect').count() === 12, 'the won/lost trend has a pair of bars for each of the last 6 months');
  check(await page.getByTestId('due-count').textContent() === '1' && await page.getByTestId('due-activities').getByRole('link', { name: `Chase invoice ${suffix}` }).isVisible(),
    'my activities due lists the overdue call');
  await page.screenshot({ path: path.join(shots, 'dashboard.png'), fullPage: true });
  check(true, 'screenshot: dashboard.png');

  // A manager sees every owner's pipeline broken down by owner.
  const m = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const mp = await m.newPage();
  await logIn(mp, manager, demoPassword);
  await mp.getByTestId('by-owner').waitFor({ timeout: T });
  const ownerRows = await mp.getByTestId('by-owner').locator('tbody tr').count();
  check(ownerRows >= 2, `the manager's dashboard breaks the pipeline down by owner (${ownerRows} owners)`);
  const carol = await rest('POST', 'login', { username: manager, password: demoPassword });
  const today = new Date(); today.setHours(0, 0, 0, 0);
  const overdueDeals = await query('Deal', { stage: { $in: ['lead', 'qualified', 'proposal', 'negotiation'] }, expectedCloseDate: { $lt: { __type: 'Date', iso: today.toISOString() } } }, carol.sessionToken, '&limit=1000');
  check(await mp.getByTestId('overdue-count').textContent() === String(overdueDeals.length), `the manager's dashboard counts the open deals past their close date (${overdueDeals.length})`);
  await mp.screenshot({ path: path.join(shots, 'dashboard-manager.png'), fullPage: true });

  // ---- 16. the pipeline on a phone: one stage at a time, as tabs --------------------------------------
  await mp.setViewportSize({ width: 390, height: 844 });
  await mp.getByRole('button', { name: 'Menu' }).click();
  await mp.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Pipeline' }).click();
  const tabs = mp.getByRole('tablist', { name: 'Stages' });
  await tabs.waitFor({ timeout: T });
  await mp.locator('section.column').first().waitFor({ timeout: T });
  check(await tabs.getByRole('tab').count() === 6 && await mp.locator('section.column').count() === 1 && await mp.locator('section.column[data-stage="lead"]').count() === 1,
    'at phone width the stages are tabs and one column (Lead) shows');
  await tabs.getByRole('tab', { name: /Proposal/ }).click();
  await mp.locator('section.column[data-stage="proposal"]').waitFor({ timeout: T });
  check(mp.url().includes('stage=proposal') && await tabs.getByRole('tab', { name: /Proposal/ }).getAttribute('aria-selected') === 'true', 'the Proposal tab shows that stage (kept in the address)');
  const overflow = await mp.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 1, `no sideways scrolling at 390 px (overflow ${overflow} px)`);
  await mp.screenshot({ path: path.join(shots, 'board-phone.png'), fullPage: true });
  check(true, 'screenshot: board-phone.png');

  if (failures.length) throw new Error(failures.join('\n'));
  console.log(`all ${steps} checks passed; screenshots in ${shots}`);
} catch (e) {
  console.error(e instanceof Error ? e.stack ?? e.message : String(e));
  if (failures.length) console.error(failures.join('\n'));
  process.exitCode = 1;
} finally {
  await browser.close();
}
