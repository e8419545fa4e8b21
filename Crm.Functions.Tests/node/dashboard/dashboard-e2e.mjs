// Parse Dashboard 9.2.0 (the npm release, served from serve.mjs on loopback) driven in headless Chromium against this
// server, as a person manages a Parse app with it: log in, browse the CRM classes, add a row, edit cells, add and
// delete a column, edit a CLP, filter, create and change a Config parameter, create a View over an aggregate
// pipeline and run a query in the API console. Each step checks what the page shows and leaves a screenshot
// (SCREENSHOT_DIR/NN-step.png); the facts the caller checks against the store are printed as one line
// "result: {json}". Requests the page sends anywhere but loopback (web fonts) are blocked and listed.
// Env: PARSE_SERVER_URL, GRAPHQL_URL, APP_ID, MASTER_KEY, SCREENSHOT_DIR, EXPECTED_COUNTS ({"Company": 6, …}).
import fs from 'node:fs';
import path from 'node:path';
import Parse from 'parse/node';
import { launch } from './browser.mjs';
import { serveDashboard } from './serve.mjs';

const env = (name) => {
  const value = process.env[name];
  if (!value) {
    console.error(`${name} is required`);
    process.exit(2);
  }
  return value;
};
const serverURL = env('PARSE_SERVER_URL');
const appId = env('APP_ID');
const masterKey = env('MASTER_KEY');
const screenshots = env('SCREENSHOT_DIR');
const expectedCounts = JSON.parse(env('EXPECTED_COUNTS'));
const expectedStages = JSON.parse(env('EXPECTED_STAGES'));
// A receiver on loopback (the server allows loopback webhooks in Development) for the afterSave trigger added on the Webhooks page.
const webhookURL = env('WEBHOOK_URL');
const appName = 'CRM';
const login = { user: 'admin', pass: 'dashboard-password-1' };
fs.mkdirSync(screenshots, { recursive: true });

const result = {};
const outside = new Set();
const problems = [];
let shotNumber = 0;

class CheckFailed extends Error {}
const check = (condition, message) => {
  if (!condition) throw new CheckFailed(message);
};

const dashboard = await serveDashboard({ serverURL, graphQLServerURL: process.env.GRAPHQL_URL, appId, masterKey, appName, ...login });
const browser = await launch();
const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
page.setDefaultTimeout(15000);
const serverOrigin = new URL(serverURL).origin;
const dashboardOrigin = new URL(dashboard.url).origin;
page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
// Every answer of this server the page saw, for the log.
page.on('response', (response) => {
  const url = response.url();
  if (url.startsWith(serverOrigin) && response.status() >= 400) console.log(`server answered ${response.status()} to ${response.request().method()} ${url}`);
});
await page.route('**/*', (route) => {
  const target = route.request().url();
  if (target.startsWith(serverOrigin) || target.startsWith(dashboardOrigin) || target.startsWith('data:')) return route.continue();
  outside.add(new URL(target).origin);
  return route.abort();
});

const app = `${dashboard.url}/apps/${appName}`;
const bodyText = () => page.locator('body').innerText();

async function step(name, action) {
  shotNumber += 1;
  const file = path.join(screenshots, `${String(shotNumber).padStart(2, '0')}-${name}.png`);
  try {
    await action();
    await page.screenshot({ path: file });
    console.log(`step ${name}: ok`);
  } catch (e) {
    await page.screenshot({ path: file }).catch(() => {});
    throw new Error(`step ${name}: ${e.message}`);
  }
}

/** Waits until the page's text satisfies the predicate (the dashboard renders after its requests come back). */
async function waitForText(predicate, what) {
  for (let i = 0; i < 150; i++) {
    const text = await bodyText();
    if (predicate(text)) return text;
    await page.waitForTimeout(100);
  }
  throw new CheckFailed(`the page never showed ${what}`);
}

/** The data browser's table as {headers, rows}, each row an object of the cells' text by column name. */
async function grid() {
  return page.evaluate(() => {
    const table = document.querySelector('#browser-table');
    if (!table) return { headers: [], rows: [] };
    const headers = [...table.querySelectorAll('div[draggable="true"]')].map((h) => h.firstChild.textContent);
    const rows = [...table.querySelectorAll('div')]
      .filter((r) => r.firstElementChild?.tagName === 'SPAN' && r.firstElementChild.querySelector(':scope > input[type=checkbox]'))
      .map((r) => Object.fromEntries(headers.map((h, i) => [h, r.children[i + 1]?.innerText.trim() ?? ''])));
    return { headers, rows };
  });
}

/** The data browser's cell of a row (by index) and column, as a locator. */
async function cell(row, column) {
  const found = await page.evaluate(([row, column]) => {
    document.querySelectorAll('[data-test-cell]').forEach((e) => e.removeAttribute('data-test-cell'));
    const table = document.querySelector('#browser-table');
    const headers = [...table.querySelectorAll('div[draggable="true"]')].map((h) => h.firstChild.textContent);
    const rows = [...table.querySelectorAll('div')]
      .filter((r) => r.firstElementChild?.tagName === 'SPAN' && r.firstElementChild.querySelector(':scope > input[type=checkbox]'));
    const target = rows[row]?.children[headers.indexOf(column) + 1];
    target?.setAttribute('data-test-cell', '1');
    return !!target;
  }, [row, column]);
  check(found, `no cell ${column} in row ${row}`);
  return page.locator('[data-test-cell="1"]');
}

async function openClass(className, expectedRows) {
  await page.goto(`${app}/browser/${className}`);
  await page.waitForSelector('#browser-table');
  let table = await grid();
  for (let i = 0; i < 100 && table.rows.length < expectedRows; i++) {
    await page.waitForTimeout(100);
    table = await grid();
  }
  return table;
}

/** Double-clicks a cell, replaces its editor's text and commits with Enter; waits for the save to reach the server. */
async function editCell(row, column, text, className, objectId) {
  await (await cell(row, column)).dblclick();
  const saved = page.waitForResponse((r) => r.url() === `${serverURL}/classes/${className}/${objectId}` && r.request().method() === 'POST');
  await page.keyboard.press('Control+A');
  await page.keyboard.type(text);
  await page.keyboard.press('Enter');
  const response = await saved;
  check(response.status() === 200, `saving ${column} answered ${response.status()}`);
  const body = JSON.parse(response.request().postData());
  check(body._method === 'PUT' && column in body, `the save did not carry ${column}: ${response.request().postData()}`);
}

/** The input area of a dialog's row, found by the row's label. */
async function field(label) {
  await page.getByText(label, { exact: true }).first().waitFor();
  await page.evaluate((label) => {
    document.querySelectorAll('[data-test-field]').forEach((e) => e.removeAttribute('data-test-field'));
    let node = [...document.querySelectorAll('*')].find((e) => e.childElementCount === 0 && e.textContent === label);
    // Up to the row: the label sits on its left, the input beside it (a label's own description sits below it).
    const width = (e) => e.getBoundingClientRect().width;
    while (node && !(node.parentElement?.childElementCount === 2 && node.parentElement.firstElementChild === node
      && width(node.parentElement) > 1.5 * width(node))) node = node.parentElement;
    node?.parentElement.children[1].setAttribute('data-test-field', '1');
  }, label);
  return page.locator('[data-test-field="1"]');
}

const sidebarCount = async (className) => {
  const text = await page.locator(`a[href$="/browser/${className}"]`).first().evaluate((a) => a.parentElement.innerText);
  return Number(text.replace(className, '').trim());
};

try {
  await step('login', async () => {
    await page.goto(`${dashboard.url}/login`);
    await page.fill('input[name=username]', login.user);
    await page.fill('input[name=password]', login.pass);
    await Promise.all([page.waitForURL(/\/apps/), page.click('button[type=submit], input[type=submit]')]);
    await waitForText((t) => t.includes(appName), 'the app list');
    check(!(await bodyText()).includes('not officially supported'), 'the dashboard warns that the server version is not supported');
  });

  for (const [className, count] of Object.entries(expectedCounts)) {
    await step(`browse-${className}`, async () => {
      const table = await openClass(className, Math.min(count, 100));
      check(table.rows.length === Math.min(count, 100), `${className} shows ${table.rows.length} rows, expected ${count}`);
      check(table.rows.every((r) => /^[A-Za-z0-9]{10}$/.test(r.objectId)), `${className} rows lack object ids`);
      await waitForText((t) => t.includes(`${count} objects`), `"${count} objects" for ${className}`);
      check(await sidebarCount(className) === count, `the sidebar count of ${className} is not ${count}`);
      if (className === 'Company') {
        // serverInfo's features hide what this server does not offer (push, jobs, logs, cloud code) and show what it does.
        const links = await page.evaluate(() => [...document.querySelectorAll('a')].map((a) => a.getAttribute('href') ?? ''));
        const offered = links.filter((href) => /\/(push|jobs|logs|cloud_code)(\/|$)/.test(href));
        check(offered.length === 0, `the sidebar offers pages this server lacks: ${offered}`);
        check(['/config', '/views', '/webhooks'].every((page) => links.some((href) => href.endsWith(page))), 'the sidebar lacks Config, Views or Webhooks');
      }
      result[`${className}Headers`] = table.headers;
      if (className === 'Company') result.companyIds = table.rows.map((r) => r.objectId);
      if (className === 'Deal') result.dealRow = table.rows[0];
    });
  }

  await step('add-row', async () => {
    await openClass('Company', expectedCounts.Company);
    await page.getByText('Add Row', { exact: true }).click();
    await (await cell(0, 'name')).dblclick();
    await page.keyboard.type('Dashboard Row Ltd');
    await page.keyboard.press('Enter');
    await (await cell(0, 'industry')).dblclick();
    await page.keyboard.type('Dashboards');
    await page.keyboard.press('Enter');
    const created = page.waitForResponse((r) => r.url() === `${serverURL}/classes/Company` && r.request().method() === 'POST'
      && !JSON.parse(r.request().postData())._method);
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    const response = await created;
    check(response.status() === 201, `adding the row answered ${response.status()}`);
    result.addedCompanyId = (await response.json()).objectId;
    await waitForText((t) => t.includes(`${expectedCounts.Company + 1} objects`), 'the new count');
    const rows = (await grid()).rows;
    check(rows.some((r) => r.objectId === result.addedCompanyId && r.name === 'Dashboard Row Ltd' && r.industry === 'Dashboards'),
      'the new row is not in the table');
  });

  await step('edit-cells', async () => {
    const table = await openClass('Deal', Math.min(expectedCounts.Deal, 100));
    const dealId = table.rows[0].objectId;
    const companyId = result.companyIds.find((id) => id !== table.rows[0].company);
    await editCell(0, 'title', 'Edited in the dashboard', 'Deal', dealId);
    await editCell(0, 'amount', '4321.5', 'Deal', dealId);
    await editCell(0, 'expectedCloseDate', '2027-05-04T10:30:00.000Z', 'Deal', dealId);
    await editCell(0, 'company', companyId, 'Deal', dealId);
    await page.reload();
    const reloaded = await openClass('Deal', 1);
    const row = reloaded.rows.find((r) => r.objectId === dealId);
    check(row?.title === 'Edited in the dashboard', `the title reads ${row?.title}`);
    check(row.amount === '4321.5', `the amount reads ${row.amount}`);
    check(row.expectedCloseDate.startsWith('4 May 2027'), `the date reads ${row.expectedCloseDate}`);
    check(row.company === companyId, `the company reads ${row.company}`);
    result.editedDeal = { objectId: dealId, companyId };
  });

  await step('add-column', async () => {
    await openClass('Contact', 1);
    await page.getByText('Add a new column').click();
    await page.getByPlaceholder('Give it a good name...').fill('dashboardNote');
    const saved = page.waitForResponse((r) => r.url().startsWith(`${serverURL}/schemas/Contact`));
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    const response = await saved;
    check(response.status() === 200, `adding the column answered ${response.status()}`);
    await page.waitForFunction(() => [...document.querySelectorAll('div[draggable="true"]')].some((h) => h.firstChild.textContent === 'dashboardNote'));
  });

  await step('delete-column', async () => {
    await page.getByText('Edit', { exact: true }).click();
    await page.getByText('Delete a column', { exact: true }).click();
    await page.getByText('Select a column', { exact: true }).click();
    await page.getByText('dashboardNote', { exact: true }).last().click();
    const saved = page.waitForResponse((r) => r.url().startsWith(`${serverURL}/schemas/Contact`));
    await page.getByRole('button', { name: 'Remove', exact: true }).click();
    const response = await saved;
    check(response.status() === 200, `deleting the column answered ${response.status()}`);
    check(JSON.parse(response.request().postData()).fields?.dashboardNote?.__op === 'Delete', 'the request did not delete dashboardNote');
    await page.waitForFunction(() => ![...document.querySelectorAll('div[draggable="true"]')].some((h) => h.firstChild.textContent === 'dashboardNote'));
  });

  await step('edit-clp', async () => {
    await openClass('Company', 1);
    await page.getByText('Security', { exact: true }).click();
    await page.getByText('Class Level Permissions', { exact: true }).click();
    const entry = page.getByPlaceholder('Role, User, or Pointer…');
    await entry.fill('role:Managers');
    await page.keyboard.press('Enter');
    // The dialog looks the role up on the server, then adds its row and empties the entry (or says it is not found).
    for (let i = 0; i < 150 && (await entry.inputValue()) !== ''; i++) {
      check(!(await bodyText()).includes('not found'), 'the dialog did not find role:Managers');
      await page.waitForTimeout(100);
    }
    check((await entry.inputValue()) === '', 'the dialog did not add role:Managers');
    const saved = page.waitForResponse((r) => r.url().startsWith(`${serverURL}/schemas/Company`));
    await page.getByRole('button', { name: 'Save CLP', exact: true }).click();
    const response = await saved;
    check(response.status() === 200, `saving the CLP answered ${response.status()}`);
    const clp = JSON.parse(response.request().postData()).classLevelPermissions;
    check(clp?.find?.['role:Managers'] === true, `the saved CLP lacks read for role:Managers: ${JSON.stringify(clp)}`);
    result.savedClp = clp;
  });

  await step('filter', async () => {
    const filters = JSON.stringify([{ field: 'stage', constraint: 'eq', compareTo: 'won' }]);
    const queried = page.waitForResponse((r) => r.url() === `${serverURL}/classes/Deal`
      && JSON.parse(r.request().postData() ?? '{}').where?.stage === 'won' && !JSON.parse(r.request().postData()).count);
    await page.goto(`${app}/browser/Deal?filters=${encodeURIComponent(filters)}`);
    const response = await queried;
    check(response.status() === 200, `the filtered query answered ${response.status()}`);
    const found = (await response.json()).results.length;
    await page.waitForFunction((n) => [...document.querySelectorAll('#browser-table div')]
      .filter((r) => r.firstElementChild?.tagName === 'SPAN' && r.firstElementChild.querySelector(':scope > input[type=checkbox]')).length === n, found);
    const rows = (await grid()).rows;
    result.filteredDealIds = rows.map((r) => r.objectId);
    check(rows.length > 0 && rows.every((r) => r.stage === 'won'), `the filter shows stages ${rows.map((r) => r.stage)}`);
  });

  await step('config-add', async () => {
    await page.goto(`${app}/config`);
    await page.getByRole('button', { name: 'Create a parameter' }).first().click();
    await page.getByPlaceholder('New parameter').fill('welcomeMessage');
    await page.locator('textarea').last().fill('Hello from the dashboard');
    const saved = page.waitForResponse((r) => r.url() === `${serverURL}/config` && JSON.parse(r.request().postData() ?? '{}')._method === 'PUT');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    const response = await saved;
    check(response.status() === 200, `creating the parameter answered ${response.status()}`);
    await waitForText((t) => t.includes('welcomeMessage') && t.includes('Hello from the dashboard'), 'the new parameter');
  });

  await step('config-change', async () => {
    await page.getByText('Hello from the dashboard', { exact: true }).click();
    await page.locator('textarea').last().fill('Changed in the dashboard');
    const saved = page.waitForResponse((r) => r.url() === `${serverURL}/config` && JSON.parse(r.request().postData() ?? '{}')._method === 'PUT');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    const response = await saved;
    check(response.status() === 200, `changing the parameter answered ${response.status()}`);
    await waitForText((t) => t.includes('Changed in the dashboard'), 'the changed parameter');
    // The official JS SDK, as an app would read it.
    Parse.initialize(appId);
    Parse.serverURL = serverURL;
    const config = await Parse.Config.get();
    check(config.get('welcomeMessage') === 'Changed in the dashboard', `Parse.Config.get() read ${config.get('welcomeMessage')}`);
    result.sdkConfigWelcomeMessage = config.get('welcomeMessage');
  });

  await step('view', async () => {
    await page.goto(`${app}/views`);
    await page.getByText('Create a view').first().click();
    await (await field('Name')).locator('input').fill('DealsByStage');
    await (await field('Class')).click();
    await page.getByText('Deal', { exact: true }).last().click();
    const pipeline = [{ $group: { _id: '$stage', deals: { $sum: 1 } } }, { $sort: { _id: 1 } }];
    await page.locator('textarea').last().fill(JSON.stringify(pipeline));
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    const ran = page.waitForResponse((r) => r.url().startsWith(`${serverURL}/aggregate/Deal`));
    await page.getByText('DealsByStage', { exact: true }).click();
    const response = await ran;
    check(response.status() === 200, `the view's aggregate answered ${response.status()}`);
    const expected = Object.entries(expectedStages).sort(([a], [b]) => a.localeCompare(b));
    await waitForText((t) => expected.every(([stage]) => t.includes(stage)), 'the stages of the view');
    const rows = await page.evaluate(() => [...document.querySelectorAll('table tr, [role=row]')].map((r) => r.innerText.split(/\t|\n/).map((c) => c.trim()).filter(Boolean)));
    result.viewRows = rows;
    for (const [stage, count] of expected) {
      check(rows.some((r) => r.includes(stage) && r.includes(String(count))), `the view lacks ${stage} ${count}: ${JSON.stringify(rows)}`);
    }
  });

  await step('api-console', async () => {
    await page.goto(`${app}/api_console`);
    await (await field('Which endpoint?')).locator('input').fill('classes/Deal');
    await (await field('Use Master Key?')).click();
    await (await field('Query parameters')).locator('textarea').fill('where={"stage":"won"}&count=1&limit=0');
    const sent = page.waitForResponse((r) => r.url().startsWith(`${serverURL}/classes/Deal`));
    await page.getByRole('button', { name: 'Send Query' }).click();
    const response = await sent;
    check(response.status() === 200, `the console's query answered ${response.status()}`);
    const won = expectedStages.won ?? 0;
    await waitForText((t) => t.includes(`"count": ${won}`), `"count": ${won} in the results`);
  });

  await step('webhook-add', async () => {
    await page.goto(`${app}/webhooks`);
    await page.getByText('Create a Webhook', { exact: true }).first().click();
    await (await field('Webhook type')).click();
    await page.getByText('afterSave', { exact: true }).last().click();
    await (await field('Choose a Class')).click();
    await page.getByText('Deal', { exact: true }).last().click();
    await (await field('Webhook URL')).locator('input').fill(webhookURL);
    const created = page.waitForResponse((r) => r.url() === `${serverURL}/hooks/triggers` && r.request().method() === 'POST'
      && JSON.parse(r.request().postData() ?? '{}').url === webhookURL);
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    const response = await created;
    check(response.status() === 200, `creating the webhook answered ${response.status()}`);
    // Listed as Parse lists it: type, class, method, destination.
    const row = page.locator('tr', { hasText: webhookURL });
    await row.waitFor();
    const cells = (await row.innerText()).split(/\t|\n/).map((c) => c.trim()).filter(Boolean);
    check(['Trigger', 'Deal', 'afterSave', webhookURL].every((c) => cells.includes(c)), `the webhook's row shows ${JSON.stringify(cells)}`);
    result.listedWebhook = cells;
  });

  await step('webhook-delete', async () => {
    await page.locator('tr', { hasText: webhookURL }).locator('button').click();
    const removed = page.waitForResponse((r) => r.url() === `${serverURL}/hooks/triggers/Deal/afterSave`);
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    const response = await removed;
    check(response.status() === 200, `deleting the webhook answered ${response.status()}`);
    await waitForText((t) => !t.includes(webhookURL), 'the webhook gone from the list');
    // Read again from the server: the page's list is the server's, not the page's memory.
    await page.reload();
    await waitForText((t) => t.includes('Webhooks') && !t.includes(webhookURL), 'the list without the webhook after a reload');
  });
} catch (e) {
  problems.unshift(e.message);
}
console.log(`result: ${JSON.stringify(result)}`);
if (outside.size > 0) console.log(`blocked requests to: ${[...outside].join(', ')}`);
await browser.close();
await dashboard.close();
if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exitCode = 1;
} else {
  console.log('all checks passed');
}
