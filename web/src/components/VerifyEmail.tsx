import { useEffect, useState, useSyncExternalStore } from 'react';
import { currentUser } from '../api';
import { mustVerifyEmail, refreshUser, resendVerification } from '../account';
import { errorMessage } from '../lib/offline';

// Whether the signed-in user's address still needs verifying: the server sets emailVerified (false on sign-up and on
// an address change when verification is on; true when the mailed link is followed). Read again when the window
// gets focus, since the link is usually followed in another tab.
const listeners = new Set<() => void>();
let unverified = mustVerifyEmail(currentUser());
function set(value: boolean) { if (value !== unverified) { unverified = value; listeners.forEach((l) => l()); } }
async function check() {
  try { set(mustVerifyEmail(await refreshUser())); } catch { /* offline or signed out: keep what is known */ }
}
function subscribe(l: () => void) { listeners.add(l); return () => { listeners.delete(l); }; }
const useUnverified = () => useSyncExternalStore(subscribe, () => unverified);

/** "Verify your email" across the top of the app, with a button that mails the link again. */
export function VerifyEmailBanner() {
  const needed = useUnverified();
  const [sent, setSent] = useState(false);
  const [error, setError] = useState<string>();
  useEffect(() => {
    set(mustVerifyEmail(currentUser()));
    void check();
    const onFocus = () => void check();
    window.addEventListener('focus', onFocus);
    return () => window.removeEventListener('focus', onFocus);
  }, []);
  if (!needed) return null;
  const resend = async () => {
    setError(undefined);
    try { await resendVerification(); setSent(true); } catch (e) { setError(errorMessage(e)); }
  };
  return (
    <div className="verify" role="region" aria-label="Verify your email" data-testid="verify-banner">
      <span>Verify your email: open the link we mailed to <strong>{currentUser()?.getEmail()}</strong>.</span>
      <button onClick={resend} disabled={sent}>{sent ? 'Link sent again' : 'Send the link again'}</button>
      <button className="link" onClick={() => void check()}>I have verified it</button>
      {error && <span className="error" role="alert">{error}</span>}
    </div>
  );
}

/** "verified" / "not verified" next to the address on the account page (nothing when verification is off). */
export function EmailStatus() {
  const needed = useUnverified();
  const verified = currentUser()?.get('emailVerified') === true;
  if (needed) return <span className="badge">not verified</span>;
  return verified ? <span className="badge">verified</span> : null;
}
