import { useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { useChangeQueue } from '../hooks';
import { display } from '../lib/queue';
import { errorMessage } from '../lib/offline';
import { resolveConflict } from '../sync';

// Which conflict the dialog shows: the first one not put off with "Decide later", or the one the queue's "Resolve" names.
let requested: string | undefined;
const deferred = new Set<string>();
const listeners = new Set<() => void>();
let revision = 0;
const changed = () => { revision++; listeners.forEach((l) => l()); };

export function openConflict(entryId: string) {
  requested = entryId;
  deferred.delete(entryId);
  changed();
}

const fieldName = (f: string) => f.replace(/([A-Z])/g, ' $1').replace(/^./, (c) => c.toUpperCase());

/**
 * A change made offline to a record someone else changed meanwhile (lib/queue.ts, decide): both versions side by
 * side, and the user chooses. Nothing is sent for that record until then.
 */
export function ConflictDialog() {
  const queue = useChangeQueue();
  useSyncExternalStore((l) => { listeners.add(l); return () => { listeners.delete(l); }; }, () => revision);
  const conflicts = queue.filter((e) => e.status === 'conflict');
  const entry = conflicts.find((e) => e.id === requested) ?? conflicts.find((e) => !deferred.has(e.id));
  const dialog = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  useEffect(() => {
    const d = dialog.current;
    if (entry && d && !d.open) d.showModal();
    if (!entry && d?.open) d.close();
  }, [entry?.id]);

  if (!entry) return null;
  const later = () => { deferred.add(entry.id); if (requested === entry.id) requested = undefined; changed(); };
  const choose = async (choice: 'mine' | 'theirs') => {
    setBusy(true);
    setError(undefined);
    try {
      await resolveConflict(entry.id, choice);
      if (requested === entry.id) requested = undefined;
      changed();
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };
  const theirs = entry.theirs;
  const name = entry.label || String(theirs?.values.title ?? theirs?.values.name ?? entry.className);
  return (
    <dialog ref={dialog} className="conflict" aria-labelledby="conflict-title" data-testid="conflict-dialog" onCancel={(e) => { e.preventDefault(); later(); }}>
      <h2 id="conflict-title">“{name}” was changed by someone else</h2>
      <p>
        {entry.op === 'destroy' ? 'You deleted it while offline' : 'You changed it while offline'}; it was changed on the server
        {theirs?.updatedAt ? ` at ${new Date(theirs.updatedAt).toLocaleString('en-CA')}` : ''} after the version you edited. Which version should stay?
      </p>
      {entry.op === 'update' && (
        <table>
          <thead><tr><th scope="col">Field</th><th scope="col">Yours</th><th scope="col">Theirs (on the server)</th></tr></thead>
          <tbody>
            {Object.keys(entry.changes).map((f) => (
              <tr key={f}><th scope="row">{fieldName(f)}</th><td data-testid={`mine-${f}`}>{display(entry.changes[f])}</td><td data-testid={`theirs-${f}`}>{display(theirs?.values[f])}</td></tr>
            ))}
          </tbody>
        </table>
      )}
      {error && <p className="error" role="alert">{error}</p>}
      <div className="actions">
        <button type="button" disabled={busy} onClick={() => void choose('mine')}>{entry.op === 'destroy' ? 'Delete it anyway' : 'Keep mine'}</button>
        <button type="button" disabled={busy} onClick={() => void choose('theirs')}>{entry.op === 'destroy' ? 'Keep theirs' : 'Take theirs'}</button>
        <button type="button" className="link" onClick={later}>Decide later</button>
      </div>
    </dialog>
  );
}
