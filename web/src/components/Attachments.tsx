import { type DragEvent, useRef, useState } from 'react';
import { currentUser, json, type PObject } from '../api';
import { type AttachableClass, attachFile, removeAttachment } from '../files';
import { useOnline } from '../hooks';
import { type Attachment, attachmentsOf, canRemove, formatSize } from '../lib/attachments';
import { formatDate } from '../lib/format';
import { errorMessage } from '../lib/offline';

/** The files attached to a deal or an activity: pick or drop files to attach, download, remove your own. */
export function Attachments({ className, record, onChanged }: { className: AttachableClass; record: PObject; onChanged: () => void }) {
  const list = attachmentsOf(json(record));
  const [busy, setBusy] = useState<string>();
  const [error, setError] = useState<string>();
  const [over, setOver] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const online = useOnline();
  const me = currentUser()?.id;
  const id = record.id ?? '';

  const attach = async (files: FileList | File[]) => {
    setError(undefined);
    for (const file of Array.from(files)) {
      setBusy(`Uploading ${file.name}…`);
      try {
        await attachFile(className, id, file);
      } catch (e) {
        setError(`${file.name}: ${errorMessage(e)}`);
        break;
      }
    }
    setBusy(undefined);
    if (input.current) input.current.value = '';
    onChanged();
  };

  const remove = async (a: Attachment) => {
    if (!window.confirm(`Remove ${a.name}?`)) return;
    setError(undefined);
    try {
      await removeAttachment(className, id, a);
      onChanged();
    } catch (e) {
      setError(errorMessage(e));
    }
  };

  const drop = (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    if (online && !busy && e.dataTransfer.files.length) void attach(e.dataTransfer.files);
  };

  return (
    <section className="attachments" aria-labelledby={`files-${id}`}>
      <h2 id={`files-${id}`}>Files</h2>
      <div className={`drop ${over ? 'over' : ''}`} data-testid="drop-zone"
        onDragOver={(e) => { e.preventDefault(); setOver(true); }} onDragLeave={() => setOver(false)} onDrop={drop}>
        <label>Attach files <input ref={input} type="file" multiple disabled={!online || !!busy}
          onChange={(e) => { if (e.target.files?.length) void attach(e.target.files); }} /></label>
        <span className="note"> or drop them here</span>
      </div>
      {busy && <p role="status">{busy}</p>}
      {error && <p className="error" role="alert">{error}</p>}
      {list.length === 0 ? <p>No files yet.</p> : (
        <ul aria-label="Attached files">
          {list.map((a) => (
            <li key={a.fileName} data-file={a.fileName}>
              <a href={a.url} download={a.name} className="name">{a.name}</a>
              <span className="meta"><span className="size">{formatSize(a.size)}</span> · <span className="type">{a.type}</span>{a.addedAt && <> · {formatDate(a.addedAt)}</>}</span>
              {canRemove(a, me) && <button className="danger" disabled={!online} onClick={() => remove(a)} aria-label={`Remove ${a.name}`}>Remove</button>}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
