// The account's calls to the backend (beside api.ts, over the same Parse SDK): the server's sign-in options,
// password reset and verification mails, password change, the user's own sessions, and signing in with a
// Microsoft Entra ID access token.
import { API_ROOT, APP_ID, currentUser, guardWrite, Parse } from './api';

/** What the server offers at sign-in (GET /parse/signInOptions); all off when an older server lacks the route. */
export interface SignInOptions {
  /** Mail is configured: password reset and verification mails can be sent. */
  mail: boolean;
  /** New addresses must be verified (Parse:Accounts:VerifyUserEmails). */
  verifyUserEmails: boolean;
  /** Present when the server accepts Entra ID tokens: what MSAL in the browser needs. */
  entra?: EntraOptions;
}

export interface EntraOptions {
  clientId: string;
  authority: string;
  scopes: string[];
}

export async function signInOptions(): Promise<SignInOptions> {
  const response = await fetch(`${API_ROOT}/parse/signInOptions`, { headers: { 'X-Parse-Application-Id': APP_ID } });
  if (!response.ok) return { mail: false, verifyUserEmails: false };
  return (await response.json()) as SignInOptions;
}

/** POST /requestPasswordReset: the server answers the same whether or not an account has the address. */
export async function requestPasswordReset(email: string): Promise<void> {
  await Parse.User.requestPasswordReset(email.trim());
}

/** POST /verificationEmailRequest for the signed-in user's address. */
export async function resendVerification(): Promise<void> {
  const email = currentUser()?.getEmail();
  if (!email) throw new Error('Your account has no email address.');
  await Parse.User.requestEmailVerification(email);
}

/** The signed-in user as the server has it now (emailVerified changes on the server, when the mailed link is followed). */
export async function refreshUser(): Promise<Parse.User | undefined> {
  const user = currentUser();
  if (!user) return undefined;
  return user.fetch();
}

/** Parse's "invalid session token" (209): the session was ended (revoked, expired, or by a password change). */
export function isInvalidSession(error: unknown): boolean {
  return !!error && typeof error === 'object' && 'code' in error && (error as { code: unknown }).code === Parse.Error.INVALID_SESSION_TOKEN;
}

/** Whether the "verify your email" banner applies: the server marks new addresses unverified only when verification is on. */
export function mustVerifyEmail(user: Parse.User | undefined): boolean {
  return !!user && !!user.getEmail() && user.get('emailVerified') === false;
}

/**
 * Checks the current password (POST /verifyPassword), then saves the new one. The server ends every session of the
 * account, this one included, and answers this device with a new session, which the SDK keeps.
 */
export async function changePassword(current: string, next: string): Promise<void> {
  guardWrite('change the password');
  const user = currentUser();
  if (!user) throw new Error('You are not signed in.');
  await Parse.User.verifyPassword(user.getUsername() ?? '', current);
  user.setPassword(next);
  await user.save();
}

export interface SessionView {
  id: string;
  createdAt: string;
  expiresAt?: string;
  /** How it began: signup, login, create… with which provider (password, entra…). */
  createdWith: string;
  installationId?: string;
  current: boolean;
}

/** The user's own sessions (GET /classes/_Session: the server answers only the caller's), newest first. */
export async function mySessions(): Promise<SessionView[]> {
  const [rows, current] = await Promise.all([
    new Parse.Query(Parse.Session).descending('createdAt').limit(100).find(),
    Parse.Session.current(),
  ]);
  return rows.map((s) => {
    const created = s.get('createdWith') as { action?: string; authProvider?: string } | undefined;
    const expires = s.get('expiresAt') as Date | undefined;
    return {
      id: s.id ?? '',
      createdAt: s.createdAt?.toISOString() ?? '',
      expiresAt: expires?.toISOString(),
      createdWith: [created?.action, created?.authProvider].filter(Boolean).join(' · ') || 'unknown',
      installationId: (s.get('installationId') as string | undefined) || undefined,
      current: s.id === current.id,
    };
  });
}

/** DELETE /classes/_Session/{id}: that device's token stops working at once. */
export async function revokeSession(id: string): Promise<void> {
  guardWrite('end the session');
  const session = Parse.Object.fromJSON({ className: '_Session', objectId: id });
  await session.destroy();
}

/**
 * Turns an Entra ID access token for this API into a Parse session: POST /sessions with the token as a bearer
 * (the server validates it and links the person to a _User), then the SDK adopts the session as the current user.
 */
export async function signInWithEntraToken(accessToken: string): Promise<Parse.User> {
  const response = await fetch(`${API_ROOT}/parse/sessions`, {
    method: 'POST',
    headers: { 'X-Parse-Application-Id': APP_ID, Authorization: `Bearer ${accessToken}`, 'Content-Type': 'application/json' },
    body: '{}',
  });
  const body = (await response.json()) as { sessionToken?: string; error?: string };
  if (!response.ok || !body.sessionToken) throw new Error(body.error ?? `Sign-in refused (${response.status}).`);
  return Parse.User.become(body.sessionToken);
}
