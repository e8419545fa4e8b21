// "Sign in with Microsoft" in Debian's Chromium against the real server configured for an identity provider on
// loopback (the tests' Entra ID stand-in: OpenID metadata and signing keys over HTTPS). MSAL runs for real: it reads
// the provider's metadata, sends the browser to its authorize endpoint with PKCE, and redeems the code at its token
// endpoint. Only the provider's interactive pages are played by this script (the person signing in, the token
// answer), since nothing here can reach Microsoft; the access token it hands back is a real signed one (ACCESS_TOKEN),
// which the server validates before it gives the app a session.
// Env: APP_URL (the server with AzureAd settings), PLAIN_URL (a server without them), IDP_ORIGIN, CLIENT_ID,
// TENANT_ID, ACCESS_TOKEN, USERNAME (the token's preferred_username), SCREENSHOT_DIR.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { launch } from './browser.mjs';

const { APP_URL, PLAIN_URL, IDP_ORIGIN, CLIENT_ID, TENANT_ID, ACCESS_TOKEN, USERNAME } = process.env;
const shots = process.env.SCREENSHOT_DIR;
mkdirSync(shots, { recursive: true });
const T = 15_000;
const check = (ok, message) => { if (!ok) throw new Error(`FAILED: ${message}`); console.log(`ok - ${message}`); };
const b64url = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

const browser = await launch();
const failures = [];
try {
  // The provider's certificate is self-signed (the server trusts it by thumbprint); the browser is told to accept it.
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  page.on('pageerror', (e) => failures.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error' && m.text().includes('Content Security Policy')) failures.push(`console: ${m.text()}`); });

  await page.goto(PLAIN_URL + '/');
  await page.getByRole('button', { name: 'Log in' }).waitFor({ timeout: T });
  await page.waitForLoadState('networkidle');
  check(await page.getByRole('button', { name: 'Sign in with Microsoft' }).count() === 0, 'without Entra ID settings the sign-in card has no "Sign in with Microsoft"');

  // The stand-in serves its metadata without CORS headers; Entra ID sends them, so the browser may read it.
  await context.route(`${IDP_ORIGIN}/**/.well-known/openid-configuration`, async (route) => {
    const response = await route.fetch();
    return route.fulfill({ response, headers: { ...response.headers(), 'access-control-allow-origin': '*' } });
  });
  // The provider's sign-in page: answers at once with a code, as after the person chose an account.
  let authorize;
  await context.route(`${IDP_ORIGIN}/${TENANT_ID}/oauth2/v2.0/authorize**`, (route) => {
    authorize = new URL(route.request().url());
    const back = new URL(authorize.searchParams.get('redirect_uri'));
    const answer = new URLSearchParams({ code: 'code-from-the-provider', state: authorize.searchParams.get('state'),
      client_info: b64url({ uid: 'oid-1', utid: TENANT_ID }) });
    back.hash = answer.toString();
    return route.fulfill({ status: 302, headers: { location: back.toString() } });
  });
  let redeemed;
  await context.route(`${IDP_ORIGIN}/${TENANT_ID}/oauth2/v2.0/token**`, (route) => {
    redeemed = new URLSearchParams(route.request().postData() ?? '');
    const now = Math.floor(Date.now() / 1000);
    const idToken = [b64url({ alg: 'RS256', typ: 'JWT' }), b64url({
      aud: CLIENT_ID, iss: `${IDP_ORIGIN}/${TENANT_ID}/v2.0`, iat: now, nbf: now, exp: now + 3600, tid: TENANT_ID, oid: 'oid-1', sub: 'oid-1',
      preferred_username: USERNAME, name: 'Pat', nonce: authorize.searchParams.get('nonce'),
    }), 'signature'].join('.');
    return route.fulfill({ status: 200, contentType: 'application/json', headers: { 'access-control-allow-origin': '*' }, body: JSON.stringify({
      token_type: 'Bearer', scope: redeemed.get('scope'), expires_in: 3600, ext_expires_in: 3600, access_token: ACCESS_TOKEN, id_token: idToken,
      client_info: b64url({ uid: 'oid-1', utid: TENANT_ID }),
    }) });
  });

  await page.goto(APP_URL + '/');
  const button = page.getByRole('button', { name: 'Sign in with Microsoft' });
  await button.waitFor({ timeout: T });
  check(true, 'with Entra ID settings (GET /parse/signInOptions) the sign-in card shows "Sign in with Microsoft"');
  await page.screenshot({ path: path.join(shots, 'sign-in-with-microsoft.png'), fullPage: true });
  await button.click();
  // The first token of a person creates the account (and the server fetches the provider's keys): allow for it.
  await Promise.race([
    page.getByRole('heading', { name: 'Dashboard' }).waitFor({ timeout: 2 * T }),
    // An error on the card ends the wait at once; no error (the usual case) leaves this branch pending, never rejected.
    page.getByRole('alert').waitFor({ timeout: 2 * T }).then(
      async () => { throw new Error(`sign-in refused: ${await page.getByRole('alert').textContent()}`); },
      () => new Promise(() => {})),
  ]);
  check(authorize.searchParams.get('client_id') === CLIENT_ID && authorize.searchParams.get('redirect_uri') === `${APP_URL}/`
    && authorize.searchParams.get('code_challenge_method') === 'S256' && authorize.searchParams.get('scope').includes(`api://${CLIENT_ID}/`),
    `MSAL sent the browser to the provider with the server's client id, this app as redirect URI, PKCE and the API scope (${authorize.searchParams.get('scope')})`);
  check(redeemed?.get('code') === 'code-from-the-provider' && !!redeemed.get('code_verifier'), 'MSAL redeemed the code with its PKCE verifier');
  check(await page.getByText(USERNAME).isVisible(), `the server accepted the access token and the app is signed in as ${USERNAME}`);
  await page.reload();
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor({ timeout: T });
  check(await page.getByText(USERNAME).isVisible(), 'the Parse session survives a reload like any other');

  if (failures.length) throw new Error(failures.join('\n'));
  console.log('all checks passed');
} catch (e) {
  console.error(e instanceof Error ? e.stack ?? e.message : String(e));
  if (failures.length) console.error(failures.join('\n'));
  process.exitCode = 1;
} finally {
  await browser.close();
}
