import { useState } from 'react';
import { useChangeQueue, useOnline } from '../hooks';
import { describe, type QueueEntry } from '../lib/queue';
import { discard, syncNow } from '../sync';
import { openConflict } from './ConflictDialog';

const STATUS: Record<QueueEntry['status'], string> = {
  waiting: 'waiting to be sent',
  sending: 'sending…',
  conflict: 'changed by someone else meanwhile: choose which version to keep',
  failed: 'refused by the server',
};

/** The changes made offline that are not on the server yet: a count, and the list on demand. */
export function SyncQueue() {
  const queue = useChangeQueue();
  const online = useOnline();
  const [open, setOpen] = useState(false);
  if (queue.length === 0) return null;
  const count = `${queue.length} ${queue.length === 1 ? 'change' : 'changes'} not on the server yet`;
  return (
    <section className="sync-queue" aria-label="Changes waiting to be sent" data-testid="sync-queue">
      <p>
        <strong data-testid="queue-count">{count}</strong>
        {online ? '' : ' · they are sent when the connection is back'}
        {' '}<button className="link" aria-expanded={open} aria-controls="sync-queue-list" onClick={() => setOpen(!open)}>{open ? 'Hide' : 'Show'} the list</button>
        {online && <> · <button className="link" onClick={() => void syncNow()}>Send now</button></>}
      </p>
      {open && (
        <ol id="sync-queue-list">
          {queue.map((e) => (
            <li key={e.id} className={e.status} data-entry-status={e.status}>
              <span>{describe(e)}</span> <span className="status">— {STATUS[e.status]}</span>
              {e.error && <span className="error">: {e.error}</span>}
              {e.status === 'conflict' && <> <button onClick={() => openConflict(e.id)}>Resolve</button></>}
              {e.status === 'failed' && <> <button className="danger" onClick={() => void discard(e.id)}>Discard</button></>}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
