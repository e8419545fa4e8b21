import { type FormEvent, type ReactNode, useState } from 'react';
import { currentUser } from '../api';
import { changePassword, mySessions, revokeSession, type SessionView } from '../account';
import { useLoad, useOnline } from '../hooks';
import { formatDate } from '../lib/format';
import { errorMessage } from '../lib/offline';
import { EmailStatus } from '../components/VerifyEmail';
import { TwoFactorSettings } from '../components/TwoFactor';

/**
 * The signed-in user's account: who they are, their password, their sign-in protections and their sessions. Each
 * part is one <AccountSection>; a new part (e.g. two-factor sign-in) is one more section in the list below.
 */
export function AccountPage() {
  const user = currentUser();
  const [sessionsVersion, setSessionsVersion] = useState(0);
  // A password change ends every other session: the list is read again afterwards.
  const sessionsChanged = () => setSessionsVersion((v) => v + 1);
  return (
    <article className="account">
      <h1>Account</h1>

      <AccountSection id="profile" title="Profile">
        <dl className="summary">
          <dt>Username</dt><dd data-testid="account-username">{user?.getUsername()}</dd>
          <dt>Email</dt><dd>{user?.getEmail() ?? '—'} <EmailStatus /></dd>
        </dl>
      </AccountSection>

      <AccountSection id="password" title="Password">
        <ChangePassword onChanged={sessionsChanged} />
      </AccountSection>

      <AccountSection id="two-factor" title="Two-factor sign-in"><TwoFactorSettings /></AccountSection>

      <AccountSection id="sessions" title="Sessions">
        <Sessions key={sessionsVersion} />
      </AccountSection>
    </article>
  );
}

/** One titled part of the account page. */
export function AccountSection({ id, title, children }: { id: string; title: string; children: ReactNode }) {
  return (
    <section className="panel account-section" aria-labelledby={`account-${id}`}>
      <h2 id={`account-${id}`}>{title}</h2>
      {children}
    </section>
  );
}

function ChangePassword({ onChanged }: { onChanged: () => void }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [repeat, setRepeat] = useState('');
  const [error, setError] = useState<string>();
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);
  const online = useOnline();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    setDone(false);
    if (next !== repeat) { setError('The new passwords do not match.'); return; }
    setBusy(true);
    try {
      await changePassword(current, next);
      setCurrent(''); setNext(''); setRepeat('');
      setDone(true);
      onChanged();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="record-form" onSubmit={submit} aria-label="Change password">
      <div className="field"><label htmlFor="pw-current">Current password</label>
        <input id="pw-current" type="password" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} required /></div>
      <div className="field"><label htmlFor="pw-new">New password</label>
        <input id="pw-new" type="password" autoComplete="new-password" value={next} onChange={(e) => setNext(e.target.value)} required /></div>
      <div className="field"><label htmlFor="pw-repeat">Repeat the new password</label>
        <input id="pw-repeat" type="password" autoComplete="new-password" value={repeat} onChange={(e) => setRepeat(e.target.value)} required /></div>
      {error && <p className="error" role="alert">{error}</p>}
      {done && <p role="status">Password changed. Every other session of your account has ended; sign in again there with the new password.</p>}
      <div className="actions"><button type="submit" disabled={busy || !online}>Change password</button></div>
    </form>
  );
}

function Sessions() {
  const { data, error, reload } = useLoad(() => mySessions(), []);
  const [revokeError, setRevokeError] = useState<string>();
  const online = useOnline();
  if (error !== undefined) return <p className="error" role="alert">{errorMessage(error)}</p>;
  if (!data) return <p>Loading…</p>;
  const revoke = async (s: SessionView) => {
    setRevokeError(undefined);
    try {
      await revokeSession(s.id);
      reload();
    } catch (e) {
      setRevokeError(errorMessage(e));
    }
  };
  return (
    <>
      <p className="note">Each device or app you signed in with has a session. End one to sign that device out.</p>
      {revokeError && <p className="error" role="alert">{revokeError}</p>}
      <table className="sessions">
        <thead><tr><th>Started</th><th>How</th><th>Expires</th><th><span className="sr-only">Actions</span></th></tr></thead>
        <tbody>
          {data.map((s) => (
            <tr key={s.id} data-session-id={s.id} className={s.current ? 'current' : undefined}>
              <td>{new Date(s.createdAt).toLocaleString('en-CA')}{s.current && <strong> (this device)</strong>}</td>
              <td>{s.createdWith}</td>
              <td>{formatDate(s.expiresAt)}</td>
              <td>{!s.current && (
                <button className="danger" disabled={!online} onClick={() => revoke(s)} aria-label={`End the session started ${new Date(s.createdAt).toLocaleString('en-CA')}`}>End session</button>
              )}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
