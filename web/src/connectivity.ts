// Whether the server can be reached: the browser's online/offline events, corrected by what requests find
// (a request that cannot reach the server marks the app offline until the browser says otherwise or one succeeds).
type Listener = () => void;

let online = typeof navigator === 'undefined' ? true : navigator.onLine;
const listeners = new Set<Listener>();

function setOnline(value: boolean) {
  if (online === value) return;
  online = value;
  listeners.forEach((l) => l());
}

if (typeof window !== 'undefined') {
  window.addEventListener('online', () => setOnline(true));
  window.addEventListener('offline', () => setOnline(false));
}

export const connectivity = {
  get online() { return online; },
  subscribe(l: Listener) { listeners.add(l); return () => { listeners.delete(l); }; },
  /** A request failed to reach the server: treat as offline until the browser says otherwise or a call succeeds. */
  failed() { setOnline(false); },
  succeeded() { if (navigator.onLine) setOnline(true); },
};
