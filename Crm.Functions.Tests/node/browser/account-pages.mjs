// The account mails and pages in headless Chromium: a verification mail and its link, then a password reset done the
// way a person does it (the request form, the mail read from the SMTP server, the link, the choose-password form),
// with a screenshot of each rendered mail and page. No page may run script or break its CSP.
// Env: PARSE_URL (the server's mount path URL), PUBLIC_URL (the URL mailed links start with), MESSAGES_URL (the SMTP
// server's messages), APP_ID, USERNAME and EMAIL (a signed-up user whose verification mail was sent), SCREENSHOT_DIR.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { launch } from './browser.mjs';

const { PARSE_URL, PUBLIC_URL, MESSAGES_URL, APP_ID, USERNAME, EMAIL } = process.env;
const shots = process.env.SCREENSHOT_DIR;
mkdirSync(shots, { recursive: true });
const check = (ok, message) => { if (!ok) throw new Error(`FAILED: ${message}`); console.log(`ok - ${message}`); };
// Waits for what a click or navigation brings (a form post answers with a new page).
const shows = async (locator) => { await locator.waitFor({ state: 'visible', timeout: 15_000 }); return true; };

async function mailTo(address, subjectPart, count) {
  for (let i = 0; i < 300; i++) {
    const mails = (await (await fetch(MESSAGES_URL)).json()).filter((m) => m.envelopeTo.includes(address) && m.subject.includes(subjectPart));
    if (mails.length >= count) return mails[count - 1];
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no mail "${subjectPart}" to ${address}`);
}
const linkIn = (mail) => {
  const match = mail.text.match(new RegExp(PUBLIC_URL.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + '\\S+'));
  check(match, 'the mail carries a link to the public URL');
  return PARSE_URL + match[0].slice(PUBLIC_URL.length);
};

const browser = await launch();
const problems = [];
try {
  const context = await browser.newContext({ viewport: { width: 900, height: 760 } });
  const page = await context.newPage();
  // Pages answered with 400 on purpose (a used link, a refused password) log "Failed to load resource"; anything else
  // (a CSP violation: "Refused to apply…") is a problem.
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  const shoot = async (target, name) => { await target.screenshot({ path: path.join(shots, name), fullPage: true }); console.log(`ok - screenshot ${name}`); };
  const renderMail = async (mail, name) => {
    const view = await context.newPage();
    await view.setContent(mail.html);
    await shoot(view, name);
    await view.close();
  };

  // Verification: the mail, then its link.
  const verification = await mailTo(EMAIL, 'Confirm', 1);
  await renderMail(verification, 'mail-verify-email.png');
  await page.goto(linkIn(verification));
  check(await shows(page.getByRole('heading', { name: 'Email confirmed' })), 'the verification link confirms the address');
  await shoot(page, 'page-verify-email.png');
  await page.goto(linkIn(verification));
  check(await shows(page.getByRole('heading', { name: 'This link does not work' })), 'a used link says so');
  await shoot(page, 'page-invalid-link.png');

  // Reset: the request form, the mail, the link, the new password.
  await page.goto(`${PARSE_URL}/apps/${APP_ID}/request_password_reset`);
  await shoot(page, 'page-request-password-reset.png');
  await page.getByLabel('Email').fill(EMAIL);
  await page.getByRole('button', { name: 'Send the link' }).click();
  check(await shows(page.getByRole('heading', { name: 'Check your inbox' })), 'the request form answers');
  await shoot(page, 'page-reset-requested.png');
  const reset = await mailTo(EMAIL, 'Reset', 1);
  await renderMail(reset, 'mail-password-reset.png');
  await page.goto(linkIn(reset));
  check(page.url().includes('/choose_password?token='), 'the mailed link leads to the choose-password page');
  check(await shows(page.getByText(USERNAME)), 'the page names the account');
  await page.getByLabel('New password').fill('short');
  await page.getByLabel('Repeat it').fill('short');
  // The browser's own minlength check stops the form first; the server's policy is the one that counts.
  await page.evaluate(() => document.querySelectorAll('input').forEach((i) => i.removeAttribute('minlength')));
  await page.getByRole('button', { name: 'Change my password' }).click();
  check(await shows(page.getByRole('alert')), 'a too short password is refused by the server');
  await shoot(page, 'page-choose-password-refused.png');
  await page.getByLabel('New password').fill('chosen in chromium 1');
  await page.getByLabel('Repeat it').fill('chosen in chromium 1');
  await shoot(page, 'page-choose-password.png');
  await page.getByRole('button', { name: 'Change my password' }).click();
  check(await shows(page.getByRole('heading', { name: 'Password changed' })), 'the password is changed');
  await shoot(page, 'page-password-changed.png');

  const login = await fetch(`${PARSE_URL}/login`, {
    method: 'POST',
    headers: { 'X-Parse-Application-Id': APP_ID, 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: USERNAME, password: 'chosen in chromium 1' }),
  });
  check(login.status === 200, 'log-in works with the password chosen in the browser');
  // evaluate() above is the test's own script, run by the driver; the pages themselves ran none.
  check(problems.length === 0, `no console errors or CSP violations (${problems.join('; ')})`);
  console.log(`all checks passed; screenshots in ${shots}`);
} finally {
  await browser.close();
}
