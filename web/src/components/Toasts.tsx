// Short-lived messages for what just happened ("Deal saved", "Could not delete: …"), announced to screen
// readers through a polite live region (errors assertively). One host in the app; any code can post.
import { useEffect, useState } from 'react';

export interface Toast {
  id: number;
  kind: 'success' | 'error';
  text: string;
}

type Listener = (toasts: Toast[]) => void;
let toasts: Toast[] = [];
let nextId = 1;
const listeners = new Set<Listener>();
const publish = () => listeners.forEach((l) => l(toasts));

function dismiss(id: number) {
  toasts = toasts.filter((t) => t.id !== id);
  publish();
}

function post(kind: Toast['kind'], text: string) {
  const t = { id: nextId++, kind, text };
  toasts = [...toasts.slice(-3), t];
  publish();
  // Errors stay longer: they usually ask the reader to do something.
  window.setTimeout(() => dismiss(t.id), kind === 'error' ? 10_000 : 4_000);
}

export const toast = {
  success: (text: string) => post('success', text),
  error: (text: string) => post('error', text),
};

export function ToastHost() {
  const [list, setList] = useState<Toast[]>(toasts);
  useEffect(() => { listeners.add(setList); return () => { listeners.delete(setList); }; }, []);
  return (
    <div className="toasts">
      <div role="status" aria-live="polite">
        {list.filter((t) => t.kind === 'success').map((t) => <ToastItem key={t.id} t={t} />)}
      </div>
      <div role="alert" aria-live="assertive">
        {list.filter((t) => t.kind === 'error').map((t) => <ToastItem key={t.id} t={t} />)}
      </div>
    </div>
  );
}

function ToastItem({ t }: { t: Toast }) {
  return (
    <div className={`toast ${t.kind}`} data-testid={`toast-${t.kind}`}>
      <span>{t.text}</span>
      <button className="link" aria-label="Dismiss" onClick={() => dismiss(t.id)}>×</button>
    </div>
  );
}
