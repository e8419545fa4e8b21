// An accessible modal dialog (role=dialog, aria-modal, labelled by its title): focus moves into it, Tab
// stays inside it, Escape cancels, and focus returns to what opened it. Replaces window.confirm().
import { type ReactNode, useEffect, useId, useRef } from 'react';

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

export function Dialog({ title, children, onClose, actions }: { title: string; children?: ReactNode; onClose: () => void; actions: ReactNode }) {
  const ref = useRef<HTMLDivElement>(null);
  const titleId = useId();
  const close = useRef(onClose);
  close.current = onClose;

  useEffect(() => {
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : undefined;
    const box = ref.current!;
    // The first field or the least destructive button (the last one, Cancel) takes focus.
    const first = box.querySelector<HTMLElement>('input, select, textarea') ?? [...box.querySelectorAll<HTMLElement>('button')].pop();
    first?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') { e.preventDefault(); close.current(); return; }
      if (e.key !== 'Tab') return;
      const items = [...box.querySelectorAll<HTMLElement>(FOCUSABLE)];
      if (items.length === 0) return;
      const [head, tail] = [items[0], items[items.length - 1]];
      if (e.shiftKey && document.activeElement === head) { e.preventDefault(); tail.focus(); }
      else if (!e.shiftKey && document.activeElement === tail) { e.preventDefault(); head.focus(); }
      else if (!box.contains(document.activeElement)) { e.preventDefault(); head.focus(); }
    };
    document.addEventListener('keydown', onKey);
    return () => { document.removeEventListener('keydown', onKey); opener?.focus(); };
  }, []);

  return (
    <div className="dialog-backdrop" onMouseDown={(e) => { if (e.target === e.currentTarget) onClose(); }}>
      <div className="dialog" role="dialog" aria-modal="true" aria-labelledby={titleId} ref={ref}>
        <h2 id={titleId}>{title}</h2>
        {children}
        <div className="actions">{actions}</div>
      </div>
    </div>
  );
}

/** A yes/no question: the confirm button names the action ("Delete"), Cancel is the default focus. */
export function ConfirmDialog({ title, message, confirmLabel, danger, busy, onConfirm, onCancel, children }: {
  title: string;
  message?: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  busy?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
  children?: ReactNode;
}) {
  return (
    <Dialog title={title} onClose={onCancel} actions={<>
      <button className={danger ? 'danger solid' : 'primary'} disabled={busy} onClick={onConfirm}>{confirmLabel}</button>
      <button onClick={onCancel}>Cancel</button>
    </>}>
      {message && <p>{message}</p>}
      {children}
    </Dialog>
  );
}
