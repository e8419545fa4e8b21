// Two-factor sign-in in the web app, in Debian's Chromium against the real server (CRM template on,
// Parse:Accounts:MfaRequiredRoles = Managers): turn it on from the account page (QR code, first code, recovery codes
// shown once), sign out, sign in with a code the test computes (RFC 6238 with node's crypto), with a recovery code,
// turn it off; then a Managers member who has no second factor yet is made to set it up while signing in.
// One line per verified step; exits non-zero on the first failure.
// Env: BASE_URL (the server), PARSE_URL, APP_ID, MASTER_KEY, SCREENSHOT_DIR.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { launch, signUpInApp } from './browser.mjs';
import { totp } from '../sdk/totp.mjs';

const { BASE_URL, PARSE_URL, APP_ID, MASTER_KEY } = process.env;
const shots = process.env.SCREENSHOT_DIR;
mkdirSync(shots, { recursive: true });
const T = 15_000;
const suffix = Math.random().toString(36).slice(2, 8);
const username = `twofa-${suffix}`;
const manager = `manager-${suffix}`;
const password = 'two factor password 1';

const check = (ok, message) => { if (!ok) throw new Error(`FAILED: ${message}`); console.log(`ok - ${message}`); };
async function parse(method, pathAndQuery, body, headers = {}) {
  const response = await fetch(`${PARSE_URL}${pathAndQuery}`, {
    method,
    headers: { 'X-Parse-Application-Id': APP_ID, 'Content-Type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}
const storedUser = (page) => page.evaluate((appId) => localStorage.getItem(`Parse/${appId}/currentUser`) ?? '', APP_ID);

async function signIn(page, name) {
  await page.getByLabel('Username').fill(name);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
}
async function signOut(page) {
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByRole('heading', { name: 'Log in' }).waitFor({ timeout: T });
}
/** Reads the secret from the QR code's otpauth:// URI, checks it matches the key shown as text, and answers it. */
async function enrolmentSecret(page) {
  const qr = page.getByRole('img', { name: 'QR code for the authenticator app' });
  await qr.waitFor({ timeout: T });
  check((await qr.getAttribute('src')).startsWith('data:image/png;base64,'), 'the secret is shown as a QR code (PNG)');
  const uri = new URL(await qr.getAttribute('data-otpauth'));
  const secret = uri.searchParams.get('secret');
  check(uri.protocol === 'otpauth:' && uri.host === 'totp' && uri.searchParams.get('algorithm') === 'SHA1' && uri.searchParams.get('digits') === '6'
    && uri.searchParams.get('period') === '30' && /^[A-Z2-7]{32}$/.test(secret), `the QR code holds an otpauth://totp URI with a 32-character base32 secret`);
  check((await page.getByTestId('two-factor-secret').textContent()).replaceAll(' ', '') === secret, 'the same key is shown as text for typing in');
  return secret;
}

const browser = await launch();
const failures = [];
try {
  const context = await browser.newContext({ viewport: { width: 1300, height: 900 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => failures.push(`page error: ${e.message}`));

  // 1. sign up, open the account page: two-factor sign-in is off
  await page.goto(BASE_URL + '/');
  await signUpInApp(page, { username, email: `${username}@example.com`, password }, T);
  await page.getByRole('link', { name: username }).click();
  await page.getByRole('heading', { name: 'Two-factor sign-in' }).waitFor({ timeout: T });
  await page.getByText('Two-factor sign-in is off.').waitFor({ timeout: T });
  check(true, 'the account page has a two-factor section, off for a new user');

  // 2. turn it on: a wrong code is refused, the app's code turns it on, the recovery codes are shown once
  await page.getByRole('button', { name: 'Turn on two-factor sign-in' }).click();
  const secret = await enrolmentSecret(page);
  await page.getByLabel('Code from the app').fill(totp(secret, 10));
  await page.getByRole('button', { name: 'Turn on' }).click();
  await page.getByRole('alert').filter({ hasText: 'Invalid MFA token' }).waitFor({ timeout: T });
  check(true, 'a wrong first code is refused with the server\'s message');
  await page.getByLabel('Code from the app').fill(totp(secret, 0));
  await page.getByRole('button', { name: 'Turn on' }).click();
  const codesList = page.getByTestId('recovery-codes');
  await codesList.waitFor({ timeout: T });
  const recovery = (await codesList.locator('li').allTextContents()).map((c) => c.trim());
  check(recovery.length === 10 && recovery.every((c) => /^[a-z2-9]{5}(-[a-z2-9]{5}){3}$/.test(c)), `ten recovery codes are shown (${recovery[0]}, …)`);
  await page.screenshot({ path: path.join(shots, 'two-factor-recovery-codes.png'), fullPage: true });
  const kept = await storedUser(page);
  check(!kept.includes(secret) && !recovery.some((c) => kept.includes(c)), 'neither the secret nor the recovery codes are kept in the browser\'s storage');
  const token = JSON.parse(kept).sessionToken;
  const me = await parse('GET', '/users/me', undefined, { 'X-Parse-Session-Token': token });
  check(me.body.authData?.mfa?.status === 'enabled' && !JSON.stringify(me.body).includes(secret), 'the server has it on (authData.mfa.status), without echoing the secret');
  await page.getByRole('button', { name: 'I have saved them' }).click();
  await page.getByText('Two-factor sign-in is on').waitFor({ timeout: T });
  check(true, 'after "I have saved them" the codes are gone and the section says it is on');

  // 3. sign out; signing in asks for the code: a wrong one is refused, the app's current one signs in
  await signOut(page);
  await signIn(page, username);
  await page.getByRole('heading', { name: 'Enter your code' }).waitFor({ timeout: T });
  check(true, 'after the password the sign-in card asks for the code');
  await page.screenshot({ path: path.join(shots, 'two-factor-sign-in.png'), fullPage: true });
  await page.getByLabel('Code', { exact: true }).fill('000000');
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByRole('alert').filter({ hasText: 'Invalid MFA token' }).waitFor({ timeout: T });
  await page.getByLabel('Code', { exact: true }).fill(totp(secret, 1));
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor({ timeout: T });
  check(true, 'a wrong code is refused; the current code signs in');

  // 4. a recovery code signs in once
  await signOut(page);
  await signIn(page, username);
  await page.getByLabel('Code', { exact: true }).fill(recovery[0]);
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor({ timeout: T });
  await signOut(page);
  await signIn(page, username);
  await page.getByLabel('Code', { exact: true }).fill(recovery[0]);
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByRole('alert').filter({ hasText: 'Invalid MFA token' }).waitFor({ timeout: T });
  await page.getByLabel('Code', { exact: true }).fill(recovery[1]);
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor({ timeout: T });
  check(true, 'a recovery code signs in once; used again it is refused');

  // 5. turn it off with a recovery code; then the password alone signs in
  await page.getByRole('link', { name: username }).click();
  await page.getByLabel('Current code or a recovery code').fill('123456');
  await page.getByRole('button', { name: 'Turn off two-factor sign-in' }).click();
  await page.getByRole('alert').filter({ hasText: 'Invalid MFA token' }).waitFor({ timeout: T });
  await page.getByLabel('Current code or a recovery code').fill(recovery[2]);
  await page.getByRole('button', { name: 'Turn off two-factor sign-in' }).click();
  await page.getByText('Two-factor sign-in is off.').waitFor({ timeout: T });
  await signOut(page);
  await signIn(page, username);
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor({ timeout: T });
  check(true, 'turned off with a recovery code (a wrong code is refused); the password alone signs in again');
  await signOut(page);

  // 6. a Managers member without a second factor sets it up while signing in
  const created = await parse('POST', '/users', { username: manager, password });
  check(created.status === 201, `a manager account (${created.body.objectId})`);
  const master = { 'X-Parse-Master-Key': MASTER_KEY };
  const roles = await parse('GET', `/roles?where=${encodeURIComponent(JSON.stringify({ name: 'Managers' }))}`, undefined, master);
  const members = { users: { __op: 'AddRelation', objects: [{ __type: 'Pointer', className: '_User', objectId: created.body.objectId }] } };
  const role = roles.body.results[0]
    ? await parse('PUT', `/roles/${roles.body.results[0].objectId}`, members, master)
    : await parse('POST', '/roles', { name: 'Managers', ACL: { '*': { read: true } }, ...members }, master);
  check(role.status < 300, 'the manager is in the Managers role');
  await signIn(page, manager);
  await page.getByRole('heading', { name: 'Set up two-factor sign-in' }).waitFor({ timeout: T });
  check(true, 'the sign-in card asks a Managers member without two-factor sign-in to set it up');
  const managerSecret = await enrolmentSecret(page);
  await page.getByLabel('Code from the app').fill(totp(managerSecret, 0));
  await page.getByRole('button', { name: 'Turn on' }).click();
  await page.getByTestId('recovery-codes').waitFor({ timeout: T });
  check((await page.getByTestId('recovery-codes').locator('li').count()) === 10, 'setting it up signs in and shows the recovery codes');
  await page.getByRole('button', { name: 'I have saved them' }).click();
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor({ timeout: T });
  check(!(await storedUser(page)).includes(managerSecret), 'then the dashboard, with the session adopted and no secret stored');
  await signOut(page);
  await signIn(page, manager);
  await page.getByRole('heading', { name: 'Enter your code' }).waitFor({ timeout: T });
  check(true, 'from then on the manager signs in with a code');

  if (failures.length) throw new Error(failures.join('\n'));
  console.log('all checks passed');
} catch (error) {
  console.error(error?.stack ?? error);
  process.exitCode = 1;
} finally {
  await browser.close();
}
