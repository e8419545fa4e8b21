// The web app's files and account flows in Debian's Chromium against the real server (CRM template, mail to a real
// SMTP server, email verification and signed file URLs on). The app is opened at the server's public URL
// (PUBLIC_ORIGIN, a name Chromium maps to the server's port), so mailed links and file URLs are the app's own origin.
// One line per verified step; exits non-zero on the first failure.
// Env: PUBLIC_ORIGIN (http://crm.mail.test), SERVER_PORT, PARSE_URL (the server's /parse on loopback, for the test's
// own checks), MESSAGES_URL (the SMTP server's messages), APP_ID, SCREENSHOT_DIR.
import { mkdirSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { launch, signUpInApp } from './browser.mjs';

const { PUBLIC_ORIGIN, SERVER_PORT, PARSE_URL, MESSAGES_URL, APP_ID } = process.env;
const shots = process.env.SCREENSHOT_DIR;
mkdirSync(shots, { recursive: true });
const host = new URL(PUBLIC_ORIGIN).host;
const T = 15_000;
const suffix = Math.random().toString(36).slice(2, 8);
const username = `files-${suffix}`;
const email = `${username}@example.com`;
const passwords = ['first password 1', 'changed in the app 2', 'reset by mail 3'];
const deal = `Contract ${suffix}`;

const check = (ok, message) => { if (!ok) throw new Error(`FAILED: ${message}`); console.log(`ok - ${message}`); };

async function mails(address, subjectPart) {
  return (await (await fetch(MESSAGES_URL)).json()).filter((m) => m.envelopeTo.includes(address) && m.subject.includes(subjectPart));
}
async function mailTo(address, subjectPart, count) {
  for (let i = 0; i < 300; i++) {
    const found = await mails(address, subjectPart);
    if (found.length >= count) return found[count - 1];
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no mail "${subjectPart}" number ${count} to ${address}`);
}
const linkIn = (mail) => {
  const match = mail.text.match(new RegExp(PUBLIC_ORIGIN.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + '/\\S+'));
  check(match, 'the mail carries a link to the public URL');
  return match[0];
};
/** The session token the Parse SDK keeps for the page's current user. */
const tokenOf = (page) => page.evaluate((appId) => JSON.parse(localStorage.getItem(`Parse/${appId}/currentUser`) ?? '{}').sessionToken, APP_ID);
async function parse(pathAndQuery, token, init = {}) {
  const response = await fetch(`${PARSE_URL}${pathAndQuery}`, {
    ...init,
    headers: { 'X-Parse-Application-Id': APP_ID, 'Content-Type': 'application/json', ...(token ? { 'X-Parse-Session-Token': token } : {}) },
  });
  return { status: response.status, body: await response.json() };
}

const browser = await launch([`--host-resolver-rules=MAP ${host}:80 127.0.0.1:${SERVER_PORT}`, `--unsafely-treat-insecure-origin-as-secure=${PUBLIC_ORIGIN}`]);
const failures = [];
try {
  const context = await browser.newContext({ viewport: { width: 1300, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  page.on('pageerror', (e) => failures.push(`page error: ${e.message}`));
  page.on('dialog', (d) => d.accept());

  // 1. the sign-in card: Forgot password (mail is configured), no Microsoft button (no Entra ID settings)
  await page.goto(PUBLIC_ORIGIN + '/');
  await page.getByRole('button', { name: 'Forgot password?' }).waitFor({ timeout: T });
  check(await page.getByRole('button', { name: 'Sign in with Microsoft' }).count() === 0, 'sign-in card: "Forgot password?" shown, no "Sign in with Microsoft" without Entra ID settings');

  // 2. sign up: the verify-your-email banner, and its resend button
  await signUpInApp(page, { username, email, password: passwords[0] }, T);
  await page.getByTestId('verify-banner').waitFor({ timeout: T });
  check(true, 'after sign-up the "verify your email" banner shows');
  await mailTo(email, 'Confirm', 1);
  await page.getByRole('button', { name: 'Send the link again' }).click();
  await page.getByRole('button', { name: 'Link sent again' }).waitFor({ timeout: T });
  const verification = await mailTo(email, 'Confirm', 2);
  check(true, 'the banner\'s button mails the verification link again (POST /verificationEmailRequest)');

  // 3. a deal, and files attached to it: picked, dropped, listed, downloaded byte for byte, removed
  await page.getByRole('link', { name: 'Deals', exact: true }).click();
  await page.getByRole('button', { name: 'New deal' }).click();
  await page.getByLabel('Title *').fill(deal);
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('heading', { name: deal }).waitFor({ timeout: T });
  const dealId = page.url().split('/').pop();
  const proposal = randomBytes(300 * 1024);
  await page.getByLabel('Attach files').setInputFiles({ name: 'Proposal (v1).pdf', mimeType: 'application/pdf', buffer: proposal });
  const files = page.getByRole('list', { name: 'Attached files' });
  const proposalItem = files.getByRole('listitem').filter({ hasText: 'Proposal (v1).pdf' });
  await proposalItem.waitFor({ timeout: T });
  check(await proposalItem.locator('.size').textContent() === '300 KB' && await proposalItem.locator('.type').textContent() === 'application/pdf',
    'a picked file is uploaded and listed with its name, size (300 KB) and type (application/pdf)');
  const proposalUrl = await proposalItem.getByRole('link').getAttribute('href');
  check(proposalUrl.startsWith(`${PUBLIC_ORIGIN}/parse/files/${APP_ID}/`) && proposalUrl.includes('signature='), `its URL is this server's, signed (${proposalUrl.split('?')[0].split('/').pop()})`);
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: T }), proposalItem.getByRole('link').click()]);
  check(Buffer.compare(readFileSync(await download.path()), proposal) === 0, `downloading it gives the same ${proposal.length} bytes (saved as ${download.suggestedFilename()})`);

  const notes = `Call notes ${suffix}\nbudget approved\n`;
  await page.getByTestId('drop-zone').evaluate((zone, text) => {
    const data = new DataTransfer();
    data.items.add(new File([text], 'call notes.txt', { type: 'text/plain' }));
    zone.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
  }, notes);
  const notesItem = files.getByRole('listitem').filter({ hasText: 'call notes.txt' });
  await notesItem.waitFor({ timeout: T });
  check(await notesItem.locator('.type').textContent() === 'text/plain', 'a dropped file is uploaded and listed (text/plain)');
  const [notesDownload] = await Promise.all([page.waitForEvent('download', { timeout: T }), notesItem.getByRole('link').click()]);
  check(readFileSync(await notesDownload.path(), 'utf8') === notes, 'a text file (which the server serves inline) also downloads as the same bytes');

  const token = await tokenOf(page);
  let stored = await parse(`/classes/Deal/${dealId}`, token);
  check(stored.body.attachments?.length === 2 && stored.body.attachments.every((a) => a.file.__type === 'File' && a.addedBy),
    'the deal keeps both as File values in its attachments, with who added them');
  await page.screenshot({ path: path.join(shots, 'deal-attachments.png'), fullPage: true });

  await proposalItem.getByRole('button', { name: 'Remove Proposal (v1).pdf' }).click();
  await proposalItem.waitFor({ state: 'detached', timeout: T });
  stored = await parse(`/classes/Deal/${dealId}`, token);
  check(stored.body.attachments.length === 1 && stored.body.attachments[0].name === 'call notes.txt', 'removing a file takes it off the deal (Remove operation); the other stays');

  // 4. an activity's files
  const logForm = page.getByRole('form', { name: 'Log an activity' });
  await logForm.getByLabel('Subject').fill(`Kick-off ${suffix}`);
  await logForm.getByRole('button', { name: 'Log activity' }).click();
  await page.getByRole('link', { name: `Kick-off ${suffix}` }).click();
  await page.getByRole('heading', { name: `Kick-off ${suffix}` }).waitFor({ timeout: T });
  const agenda = randomBytes(64 * 1024);
  await page.getByLabel('Attach files').setInputFiles({ name: 'agenda.bin', mimeType: 'application/octet-stream', buffer: agenda });
  const agendaItem = page.getByRole('list', { name: 'Attached files' }).getByRole('listitem').filter({ hasText: 'agenda.bin' });
  await agendaItem.waitFor({ timeout: T });
  const [agendaDownload] = await Promise.all([page.waitForEvent('download', { timeout: T }), agendaItem.getByRole('link').click()]);
  check(Buffer.compare(readFileSync(await agendaDownload.path()), agenda) === 0, 'an activity\'s detail view attaches, lists and downloads a file (64 KB)');
  await agendaItem.getByRole('button', { name: 'Remove agenda.bin' }).click();
  await page.getByText('No files yet.').waitFor({ timeout: T });
  check(true, 'and removes it');

  // 5. following the verification link ends the banner
  const mailed = await context.newPage();
  await mailed.goto(linkIn(verification));
  await mailed.getByRole('heading', { name: 'Email confirmed' }).waitFor({ timeout: T });
  await mailed.close();
  await page.bringToFront();
  await page.getByRole('button', { name: 'I have verified it' }).click();
  await page.getByTestId('verify-banner').waitFor({ state: 'detached', timeout: T });
  check(true, 'after following the mailed link the banner goes away');

  // 6. the account page: sessions, ending another device's, changing the password
  const other = await browser.newContext();
  const otherPage = await other.newPage();
  await otherPage.goto(PUBLIC_ORIGIN + '/');
  await otherPage.getByLabel('Username').fill(username);
  await otherPage.getByLabel('Password').fill(passwords[0]);
  await otherPage.getByRole('button', { name: 'Log in' }).click();
  await otherPage.getByRole('heading', { name: 'Dashboard' }).waitFor({ timeout: T });
  const otherToken = await tokenOf(otherPage);

  await page.getByRole('link', { name: username }).click();
  await page.getByRole('heading', { name: 'Account', exact: true }).waitFor({ timeout: T });
  const rows = page.locator('table.sessions tbody tr');
  await rows.nth(1).waitFor({ timeout: T });
  check(await rows.count() === 2 && await page.locator('tr.current').count() === 1, 'the account page lists my two sessions, this device marked');
  await page.screenshot({ path: path.join(shots, 'account.png'), fullPage: true });
  await page.getByRole('button', { name: /^End the session/ }).click();
  await rows.nth(1).waitFor({ state: 'detached', timeout: T });
  check((await parse('/users/me', otherToken)).body.code === 209, 'ending the other session signs that device out (its token answers 209)');

  const form = page.getByRole('form', { name: 'Change password' });
  await form.getByLabel('Current password').fill('not my password');
  await form.getByLabel('New password', { exact: true }).fill(passwords[1]);
  await form.getByLabel('Repeat the new password').fill(passwords[1]);
  await form.getByRole('button', { name: 'Change password' }).click();
  await form.getByRole('alert').waitFor({ timeout: T });
  check(true, `a wrong current password is refused (${await form.getByRole('alert').textContent()})`);
  await otherPage.reload();
  await otherPage.getByRole('button', { name: 'Log in' }).waitFor({ timeout: T });
  check(true, 'the signed-out device, reloaded, is back at the sign-in card');
  await otherPage.getByLabel('Username').fill(username);
  await otherPage.getByLabel('Password').fill(passwords[0]);
  await otherPage.getByRole('button', { name: 'Log in' }).click();
  await otherPage.getByRole('heading', { name: 'Dashboard' }).waitFor({ timeout: T });
  const secondToken = await tokenOf(otherPage);
  const before = await tokenOf(page);
  await form.getByLabel('Current password').fill(passwords[0]);
  await form.getByRole('button', { name: 'Change password' }).click();
  await form.getByRole('status').waitFor({ timeout: T });
  const after = await tokenOf(page);
  check(after && after !== before, 'the password is changed; this device carries on with the new session the server answered');
  check((await parse('/users/me', before)).body.code === 209 && (await parse('/users/me', secondToken)).body.code === 209,
    'the server ended every earlier session (this device\'s old token and the other device\'s)');
  await page.locator('tr.current').waitFor({ timeout: T });
  check(await rows.count() === 1, 'the sessions list now shows this device alone');
  check((await parse('/login', null, { method: 'POST', body: JSON.stringify({ username, password: passwords[1] }) })).status === 200, 'log-in works with the new password');
  await other.close();

  // 7. forgot password: the same answer for any address, the mail, the link, the new password, log-in in the app
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByRole('button', { name: 'Forgot password?' }).click();
  await page.getByLabel('Email').fill(`nobody-${suffix}@example.com`);
  await page.getByRole('button', { name: 'Send the link' }).click();
  const unknownAnswer = await page.getByRole('status').textContent();
  await page.getByLabel('Email').fill(email);
  await page.getByRole('button', { name: 'Send the link' }).click();
  await page.getByRole('status').waitFor({ timeout: T });
  check(unknownAnswer === await page.getByRole('status').textContent() && unknownAnswer.includes('If the address is known'),
    `"Forgot password?" answers alike for an unknown and a known address ("${unknownAnswer}")`);
  await page.screenshot({ path: path.join(shots, 'forgot-password.png'), fullPage: true });
  const reset = await mailTo(email, 'Reset', 1);
  check((await mails(`nobody-${suffix}@example.com`, 'Reset')).length === 0, 'only the known address gets a mail');
  await page.goto(linkIn(reset));
  await page.getByLabel('New password').fill(passwords[2]);
  await page.getByLabel('Repeat it').fill(passwords[2]);
  await page.getByRole('button', { name: 'Change my password' }).click();
  await page.getByRole('heading', { name: 'Password changed' }).waitFor({ timeout: T });
  await page.goto(PUBLIC_ORIGIN + '/');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(passwords[2]);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor({ timeout: T });
  check(await page.getByTestId('verify-banner').count() === 0, 'the mailed reset link sets a new password; the app signs in with it (no banner: the address is verified)');
  check((await parse('/login', null, { method: 'POST', body: JSON.stringify({ username, password: passwords[1] }) })).body.code === 101, 'the previous password no longer works');

  if (failures.length) throw new Error(failures.join('\n'));
  console.log(`all checks passed; screenshots in ${shots}`);
} catch (e) {
  console.error(e instanceof Error ? e.stack ?? e.message : String(e));
  if (failures.length) console.error(failures.join('\n'));
  process.exitCode = 1;
} finally {
  await browser.close();
}
