// "Sign in with Microsoft": MSAL signs the person in with Microsoft Entra ID (redirect flow) and gets an access
// token for this API; the server validates it (its AzureAd settings) and answers a Parse session for the linked user.
// MSAL is loaded only when the server advertises Entra ID, so the app without it carries none of it at run time.
import type { PublicClientApplication } from '@azure/msal-browser';
import { signInWithEntraToken, type EntraOptions } from './account';

let client: Promise<PublicClientApplication> | undefined;

function msal(options: EntraOptions): Promise<PublicClientApplication> {
  client ??= import('@azure/msal-browser').then(async ({ PublicClientApplication }) => {
    const app = new PublicClientApplication({
      // The authority comes from this app's own server, so it is trusted as given (no cloud instance look-up).
      auth: { clientId: options.clientId, authority: options.authority, knownAuthorities: [new URL(options.authority).host], redirectUri: `${window.location.origin}/` },
      // Only for the round trip: the app keeps its own Parse session, not Microsoft's tokens.
      cache: { cacheLocation: 'sessionStorage' },
    });
    await app.initialize();
    return app;
  });
  return client;
}

/** Leaves for Microsoft's sign-in page; the answer comes back to / and is read by completeMicrosoftSignIn. */
export async function signInWithMicrosoft(options: EntraOptions): Promise<void> {
  const app = await msal(options);
  await app.loginRedirect({ scopes: options.scopes, prompt: 'select_account' });
}

/** On return from Microsoft: the session for the signed-in person, or undefined when this load is no such return. */
export async function completeMicrosoftSignIn(options: EntraOptions) {
  const app = await msal(options);
  const result = await app.handleRedirectPromise();
  if (!result?.accessToken) return undefined;
  return signInWithEntraToken(result.accessToken);
}
