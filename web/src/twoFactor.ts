// Two-factor sign-in (TOTP) in parse-server's authData.mfa shape; the server side is described in docs/two-factor.md.
// Enrolment and turning it off go over plain fetch rather than user.save(): the SDK would keep the secret it sent and
// the recovery codes it got in the current user it stores in localStorage, and neither may outlive this screen.
import { API_ROOT, APP_ID, currentUser, guardWrite, Parse } from './api';
import { recoveryCodes } from './lib/otp';

/** What the sign-in card must ask for after the password, from the server's log-in error; undefined for other errors. */
export function secondStepFor(error: unknown): 'code' | 'enrol' | undefined {
  if (!error || typeof error !== 'object') return undefined;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (code !== Parse.Error.OTHER_CAUSE || typeof message !== 'string') return undefined;
  if (message === 'Missing additional authData mfa') return 'code';
  if (message.startsWith('Two-factor sign-in is required')) return 'enrol';
  return undefined;
}

async function call(method: string, path: string, body: unknown, sessionToken?: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${API_ROOT}/parse/${path}`, {
    method,
    headers: {
      'X-Parse-Application-Id': APP_ID,
      'Content-Type': 'application/json',
      ...(sessionToken ? { 'X-Parse-Session-Token': sessionToken } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await response.json()) as Record<string, unknown>;
  if (!response.ok) throw new Parse.Error(Number(json.code ?? Parse.Error.OTHER_CAUSE), String(json.error ?? response.statusText));
  return json;
}

function session(): { id: string; token: string } {
  const user = currentUser();
  const token = user?.getSessionToken();
  if (!user?.id || !token) throw new Error('You are not signed in.');
  return { id: user.id, token };
}

/** Whether the signed-in user has two-factor sign-in on (GET /users/me shows authData.mfa.status). */
export async function twoFactorEnabled(): Promise<boolean> {
  const me = await call('GET', 'users/me', undefined, session().token);
  return (me.authData as { mfa?: { status?: string } } | undefined)?.mfa?.status === 'enabled';
}

/** Turns it on once the code proves the app has the secret; answers the recovery codes (shown once). */
export async function enrolTwoFactor(secret: string, token: string): Promise<string[]> {
  guardWrite('turn on two-factor sign-in');
  const { id, token: sessionToken } = session();
  return recoveryCodes(await call('PUT', `users/${id}`, { authData: { mfa: { secret, token: token.trim() } } }, sessionToken));
}

/** Turns it off with a current code or a recovery code. */
export async function disableTwoFactor(code: string): Promise<void> {
  guardWrite('turn off two-factor sign-in');
  const { id, token } = session();
  await call('PUT', `users/${id}`, { authData: { mfa: { old: code.trim() } } }, token);
}

/** The second step of signing in: the password again with the current code or a recovery code. */
export async function logInWithCode(username: string, password: string, code: string): Promise<void> {
  await Parse.User.logInWithAdditionalAuth(username, password, { mfa: { token: code.trim() } });
}

/** Signing in and enrolling at once (a role requires it): answers the recovery codes; the SDK then adopts the session. */
export async function logInEnrolling(username: string, password: string, secret: string, code: string): Promise<string[]> {
  const answer = await call('POST', 'login', { username, password, authData: { mfa: { secret, token: code.trim() } } });
  await Parse.User.become(String(answer.sessionToken));
  return recoveryCodes(answer);
}
