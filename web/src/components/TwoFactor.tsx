import { type FormEvent, useEffect, useState } from 'react';
import QRCode from 'qrcode';
import { currentUser } from '../api';
import { useOnline } from '../hooks';
import { errorMessage } from '../lib/offline';
import { disableTwoFactor, enrolTwoFactor, logInEnrolling, logInWithCode, twoFactorEnabled } from '../twoFactor';
import { newSecret, otpauthUri } from '../lib/otp';

const ISSUER = 'CRM';

/** The account page's section: turn two-factor sign-in on (QR code, first code, recovery codes once) or off. */
export function TwoFactorSettings() {
  const [enabled, setEnabled] = useState<boolean>();
  const [error, setError] = useState<string>();
  const [enrolling, setEnrolling] = useState(false);
  const [codes, setCodes] = useState<string[]>();

  useEffect(() => {
    twoFactorEnabled().then(setEnabled, (e: unknown) => setError(errorMessage(e)));
  }, []);

  if (codes) return <RecoveryCodes codes={codes} onDone={() => setCodes(undefined)} />;
  if (error) return <p className="error" role="alert">{error}</p>;
  if (enabled === undefined) return <p>Loading…</p>;
  if (enrolling) {
    return (
      <Enrol
        account={currentUser()?.getUsername() ?? ''}
        submit={(secret, code) => enrolTwoFactor(secret, code)}
        onEnrolled={(c) => { setEnrolling(false); setEnabled(true); setCodes(c); }}
        onCancel={() => setEnrolling(false)}
      />
    );
  }
  if (!enabled) {
    return (
      <>
        <p className="note" data-testid="two-factor-status">Two-factor sign-in is off. Turn it on to ask for a code from an authenticator app after your password.</p>
        <div className="actions"><button onClick={() => setEnrolling(true)}>Turn on two-factor sign-in</button></div>
      </>
    );
  }
  return <Disable onDisabled={() => setEnabled(false)} />;
}

/** A fresh secret as a QR code (and as text, for typing in), confirmed with the first code the app shows. */
function Enrol({ account, submit, onEnrolled, onCancel }: {
  account: string;
  submit: (secret: string, code: string) => Promise<string[]>;
  onEnrolled: (codes: string[]) => void;
  onCancel: () => void;
}) {
  const [secret] = useState(newSecret);
  const [qr, setQr] = useState<string>();
  const [code, setCode] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const uri = otpauthUri(ISSUER, account, secret);

  useEffect(() => {
    QRCode.toDataURL(uri, { margin: 1, width: 200 }).then(setQr, (e: unknown) => setError(errorMessage(e)));
  }, [uri]);

  const confirm = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      onEnrolled(await submit(secret, code));
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="record-form two-factor" onSubmit={confirm} aria-label="Set up two-factor sign-in">
      <p>Scan this code with an authenticator app (Microsoft Authenticator, Google Authenticator, 1Password…), then enter the six-digit code it shows.</p>
      {qr && <img src={qr} width={200} height={200} alt="QR code for the authenticator app" data-otpauth={uri} />}
      <p className="note">Or type the key: <code data-testid="two-factor-secret">{secret.replace(/(.{4})/g, '$1 ').trim()}</code></p>
      <div className="field"><label htmlFor="mfa-enrol-code">Code from the app</label>
        <input id="mfa-enrol-code" inputMode="numeric" autoComplete="one-time-code" pattern="[0-9]{6}" maxLength={6} value={code}
          onChange={(e) => setCode(e.target.value)} required /></div>
      {error && <p className="error" role="alert">{error}</p>}
      <div className="actions">
        <button type="submit" disabled={busy}>Turn on</button>
        <button type="button" className="link" onClick={onCancel}>Cancel</button>
      </div>
    </form>
  );
}

/** The recovery codes, shown this once: the server keeps only their hashes. */
function RecoveryCodes({ codes, onDone }: { codes: string[]; onDone: () => void }) {
  return (
    <div className="two-factor" role="region" aria-label="Recovery codes">
      <p><strong>Two-factor sign-in is on.</strong> Save these recovery codes somewhere safe. Each works once, instead of a code from the app, if you lose your phone. They are not shown again.</p>
      <ul className="recovery-codes" data-testid="recovery-codes">{codes.map((c) => <li key={c}><code>{c}</code></li>)}</ul>
      <div className="actions"><button onClick={onDone}>I have saved them</button></div>
    </div>
  );
}

function Disable({ onDisabled }: { onDisabled: () => void }) {
  const [code, setCode] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const online = useOnline();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await disableTwoFactor(code);
      onDisabled();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="record-form" onSubmit={submit} aria-label="Turn off two-factor sign-in">
      <p className="note" data-testid="two-factor-status">Two-factor sign-in is on: signing in asks for a code from your authenticator app.</p>
      <div className="field"><label htmlFor="mfa-off-code">Current code or a recovery code</label>
        <input id="mfa-off-code" autoComplete="one-time-code" value={code} onChange={(e) => setCode(e.target.value)} required /></div>
      {error && <p className="error" role="alert">{error}</p>}
      <div className="actions"><button type="submit" className="danger" disabled={busy || !online}>Turn off two-factor sign-in</button></div>
    </form>
  );
}

/**
 * The sign-in card's second step, after the server answered that the password is right but a second factor is due:
 * a code (or a recovery code), or — when the user's role requires two-factor sign-in and it is not on yet — enrolling
 * right there, which signs in at the same time.
 */
export function SignInSecondStep({ step, username, password, onDone, onCancel }: {
  step: 'code' | 'enrol';
  username: string;
  password: string;
  onDone: () => void;
  onCancel: () => void;
}) {
  const [code, setCode] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [codes, setCodes] = useState<string[]>();

  if (codes) return <main className="auth" id="main"><h1>CRM</h1><RecoveryCodes codes={codes} onDone={onDone} /></main>;
  if (step === 'enrol') {
    return (
      <main className="auth" id="main">
        <h1>CRM</h1>
        <h2>Set up two-factor sign-in</h2>
        <p>Your role requires a second step when you sign in. Set it up now to continue.</p>
        <Enrol account={username} submit={(secret, c) => logInEnrolling(username, password, secret, c)} onEnrolled={setCodes} onCancel={onCancel} />
      </main>
    );
  }

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await logInWithCode(username, password, code);
      onDone();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="auth" id="main">
      <h1>CRM</h1>
      <form onSubmit={submit} aria-labelledby="code-title">
        <h2 id="code-title">Enter your code</h2>
        <p>Open your authenticator app and enter the six-digit code for {username}, or one of your recovery codes.</p>
        <label>Code<input name="code" autoComplete="one-time-code" autoFocus value={code} onChange={(e) => setCode(e.target.value)} required /></label>
        {error && <p className="error" role="alert">{error}</p>}
        <button type="submit" disabled={busy}>Verify</button>
        <p><button type="button" className="link" onClick={onCancel}>Back</button></p>
      </form>
    </main>
  );
}
