import { type FormEvent, useEffect, useRef, useState } from 'react';
import { currentUser, logIn, logOut, signUp, startLive } from './api';
import { useLiveStatus, useOnline } from './hooks';
import { errorMessage } from './lib/offline';
import { Link, match, navigate, usePath } from './router';
import { DashboardPage } from './pages/Dashboard';
import { PipelinePage } from './pages/Pipeline';
import { ActivitiesPage } from './pages/Activities';
import { CompaniesPage, ContactsPage, DealsPage } from './pages/Lists';
import { CompanyPage, ContactPage, DealPage } from './pages/Details';
import { AccountPage } from './pages/Account';
import { ActivityPage } from './pages/ActivityDetail';
import { VerifyEmailBanner } from './components/VerifyEmail';
import { isInvalidSession, refreshUser, requestPasswordReset, signInOptions, type SignInOptions } from './account';
import { completeMicrosoftSignIn, signInWithMicrosoft } from './entra';
import { SignInSecondStep } from './components/TwoFactor';
import { SyncQueue } from './components/SyncQueue';
import { ConflictDialog } from './components/ConflictDialog';
import { syncNow } from './sync';
import { secondStepFor } from './twoFactor';
import { ToastHost } from './components/Toasts';
import { SearchPage } from './pages/Search';
import { ImportPage } from './pages/Import';
import { applySettings, type AppSettings, DEFAULT_SETTINGS, loadSettings } from './settings';

const nav = [
  ['/', 'Dashboard'],
  ['/pipeline', 'Pipeline'],
  ['/companies', 'Companies'],
  ['/contacts', 'Contacts'],
  ['/deals', 'Deals'],
  ['/activities', 'Activities'],
] as const;

const developerPages = [
  ['/docs/erd', 'Schema diagram'],
  ['/docs/dictionary', 'Data dictionary'],
  ['/docs/playground', 'API playground'],
  ['/docs/openapi.json', 'OpenAPI document'],
] as const;

/** The served app name and accent colour (Parse Config), applied to the page once known. */
function useAppSettings(): AppSettings {
  const [settings, setSettings] = useState(DEFAULT_SETTINGS);
  useEffect(() => {
    let cancelled = false;
    void loadSettings().then((s) => { if (!cancelled) { setSettings(s); applySettings(s); } });
    return () => { cancelled = true; };
  }, []);
  return settings;
}

export function App() {
  const [user, setUser] = useState(currentUser());
  const path = usePath();
  const settings = useAppSettings();

  useEffect(() => { if (user) { void startLive(); void syncNow(); } }, [user]);
  // A session ended elsewhere (revoked from another device, or by a password change) sends this one to the sign-in card.
  useEffect(() => {
    if (!user) return;
    refreshUser().catch(async (e: unknown) => {
      if (isInvalidSession(e)) { await logOut(); setUser(undefined); }
    });
  }, [user]);

  if (!user) return <AuthPage appName={settings.appName} onDone={() => { setUser(currentUser()); navigate('/'); }} />;

  return (
    <div className="app">
      <a className="skip" href="#main">Skip to content</a>
      <Header appName={settings.appName} username={user.getUsername() ?? ''} path={path} onLogout={async () => { await logOut(); setUser(undefined); navigate('/'); }} />
      <OfflineBanner />
      <SyncQueue />
      <ConflictDialog />
      <VerifyEmailBanner />
      <main id="main" tabIndex={-1}>
        <Route path={path} />
      </main>
      <ToastHost />
    </div>
  );
}

function Route({ path }: { path: string }) {
  let p: Record<string, string> | undefined;
  if (path === '/' || path === '/dashboard') return <DashboardPage />;
  if (path === '/pipeline') return <PipelinePage />;
  if (path === '/companies') return <CompaniesPage />;
  if (path === '/contacts') return <ContactsPage />;
  if (path === '/deals') return <DealsPage />;
  if (path === '/activities') return <ActivitiesPage />;
  if ((p = match('/companies/:id', path))) return <CompanyPage key={p.id} id={p.id} />;
  if ((p = match('/contacts/:id', path))) return <ContactPage key={p.id} id={p.id} />;
  if ((p = match('/deals/:id', path))) return <DealPage key={p.id} id={p.id} />;
  if (path === '/account') return <AccountPage />;
  if (path === '/search') return <SearchPage />;
  if (path === '/import') return <ImportPage />;
  if ((p = match('/activities/:id', path))) return <ActivityPage key={p.id} id={p.id} />;
  return <section><h1>Not found</h1><p>No page at {path}. <Link to="/">Back to the dashboard</Link>.</p></section>;
}

/** The search box in the header: Enter opens /search?q=… (deals, contacts, companies and activities). */
function GlobalSearch() {
  const [q, setQ] = useState(() => (window.location.pathname === '/search' ? new URLSearchParams(window.location.search).get('q') ?? '' : ''));
  return (
    <form role="search" className="global-search" onSubmit={(e) => { e.preventDefault(); if (q.trim()) navigate(`/search?q=${encodeURIComponent(q.trim())}`); }}>
      <label htmlFor="global-search" className="sr-only">Search everything</label>
      <input id="global-search" type="search" placeholder="Search deals, contacts, companies…" value={q} onChange={(e) => setQ(e.target.value)} />
    </form>
  );
}

/** Links for developers (schema, dictionary, API playground) in one menu, out of the sales team's way. */
function DevelopersMenu() {
  const [open, setOpen] = useState(false);
  const ref = useRef<HTMLLIElement>(null);
  useEffect(() => {
    if (!open) return;
    const close = (e: MouseEvent | KeyboardEvent) => {
      if (e instanceof KeyboardEvent ? e.key === 'Escape' : !ref.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('mousedown', close);
    document.addEventListener('keydown', close);
    return () => { document.removeEventListener('mousedown', close); document.removeEventListener('keydown', close); };
  }, [open]);
  return (
    <li className="dev-menu" ref={ref}>
      <button className="menu-button" aria-expanded={open} aria-controls="dev-links" onClick={() => setOpen(!open)}>Developers ▾</button>
      <ul id="dev-links" hidden={!open}>
        {developerPages.map(([href, text]) => <li key={href}><a href={href}>{text}</a></li>)}
      </ul>
    </li>
  );
}

function Header({ appName, username, path, onLogout }: { appName: string; username: string; path: string; onLogout: () => void }) {
  const [open, setOpen] = useState(false);
  const status = useLiveStatus();
  return (
    <header className="top">
      <div className="brand"><Link to="/">{appName}</Link></div>
      <button className="menu" aria-expanded={open} aria-controls="nav" onClick={() => setOpen(!open)}>Menu</button>
      <nav id="nav" aria-label="Main" className={open ? 'open' : ''}>
        <ul>
          {nav.map(([to, text]) => (
            <li key={to}><Link to={to} aria-current={(to === '/' ? path === '/' : path.startsWith(to)) ? 'page' : undefined} onClick={() => setOpen(false)}>{text}</Link></li>
          ))}
          <DevelopersMenu />
        </ul>
      </nav>
      <GlobalSearch />
      <div className="user">
        <span className={`live ${status}`} role="status" aria-label={`Live updates: ${status}`} title={`Live updates: ${status}`} />
        <Link className="who" to="/account" aria-current={path === '/account' ? 'page' : undefined} title="Your account">{username}</Link>
        <button onClick={onLogout}>Log out</button>
      </div>
    </header>
  );
}

function OfflineBanner() {
  const online = useOnline();
  if (online) return null;
  return (
    <div className="offline" role="alert" data-testid="offline-banner">
      You are offline. Showing records saved on this device; your changes are kept here and sent when the connection is back.
    </div>
  );
}

function AuthPage({ appName, onDone }: { appName: string; onDone: () => void }) {
  const [mode, setMode] = useState<'login' | 'signup' | 'forgot'>('login');
  const [username, setUsername] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string>();
  const [notice, setNotice] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [options, setOptions] = useState<SignInOptions>();
  const [secondStep, setSecondStep] = useState<'code' | 'enrol'>();

  useEffect(() => {
    let cancelled = false;
    signInOptions().then(async (o) => {
      if (cancelled) return;
      setOptions(o);
      // Back from Microsoft's sign-in page: exchange its token for a session.
      if (o.entra && (await completeMicrosoftSignIn(o.entra))) onDone();
    }).catch((e: unknown) => { if (!cancelled) setError(errorMessage(e)); });
    return () => { cancelled = true; };
  }, []);

  const switchTo = (next: typeof mode) => { setMode(next); setError(undefined); setNotice(undefined); };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    setNotice(undefined);
    try {
      if (mode === 'forgot') {
        await requestPasswordReset(email);
        // The server answers alike for known and unknown addresses; so does the app.
        setNotice('If the address is known, a mail is on its way with a link to choose a new password.');
        return;
      }
      if (mode === 'login') await logIn(username, password); else await signUp(username, email, password);
      onDone();
    } catch (err) {
      // The password was right and a second factor is due: the card asks for the code (or to set it up).
      const step = mode === 'login' ? secondStepFor(err) : undefined;
      if (step) setSecondStep(step); else setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  const microsoft = async () => {
    if (!options?.entra) return;
    setError(undefined);
    try { await signInWithMicrosoft(options.entra); } catch (err) { setError(errorMessage(err)); }
  };

  if (secondStep) {
    return <SignInSecondStep step={secondStep} username={username} password={password} onDone={onDone} onCancel={() => { setSecondStep(undefined); setPassword(''); }} />;
  }

  const title = mode === 'login' ? 'Log in' : mode === 'signup' ? 'Sign up' : 'Reset your password';
  return (
    <main className="auth" id="main">
      <h1>{appName}</h1>
      <form onSubmit={submit} aria-labelledby="auth-title">
        <h2 id="auth-title">{title}</h2>
        {mode !== 'forgot' && <label>Username<input name="username" autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} required /></label>}
        {mode !== 'login' && <label>Email<input name="email" type="email" autoComplete="email" value={email} onChange={(e) => setEmail(e.target.value)} required /></label>}
        {mode !== 'forgot' && <label>Password<input name="password" type="password" autoComplete={mode === 'login' ? 'current-password' : 'new-password'} value={password} onChange={(e) => setPassword(e.target.value)} required /></label>}
        {error && <p className="error" role="alert">{error}</p>}
        {notice && <p className="notice" role="status">{notice}</p>}
        <button type="submit" disabled={busy}>{mode === 'login' ? 'Log in' : mode === 'signup' ? 'Create account' : 'Send the link'}</button>
        {mode === 'login' && options?.mail && <button type="button" className="link" onClick={() => switchTo('forgot')}>Forgot password?</button>}
        {mode === 'login' && options?.entra && <button type="button" className="microsoft" onClick={microsoft}>Sign in with Microsoft</button>}
        <p>
          {mode === 'signup' ? 'Have an account? ' : mode === 'login' ? 'No account yet? ' : 'Remembered it? '}
          <button type="button" className="link" onClick={() => switchTo(mode === 'login' ? 'signup' : 'login')}>
            {mode === 'login' ? 'Sign up' : 'Log in'}
          </button>
        </p>
      </form>
    </main>
  );
}
