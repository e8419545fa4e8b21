import { useRef, useState } from 'react';
import { destroy, get, json } from '../api';
import { Attachments } from '../components/Attachments';
import { ConfirmDialog } from '../components/Dialog';
import { activityFields, RecordForm } from '../components/RecordForm';
import { toast } from '../components/Toasts';
import { useLive, useLoad, useOnline } from '../hooks';
import { isOverdue } from '../lib/activities';
import { formatDate, label } from '../lib/format';
import { activityFromJson } from '../lib/model';
import { errorMessage } from '../lib/offline';
import { Link, navigate } from '../router';

/** One activity: what it is about, when it is due, and its files; edit and delete for whoever may write it. */
export function ActivityPage({ id }: { id: string }) {
  const { data, error, loading, reload } = useLoad(() => get('Activity', id, ['relatedTo'], true), [id]);
  const [editing, setEditing] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const online = useOnline();
  // Where to go once the activity is gone: its contact or deal (the same whether this tab or another deleted it).
  const back = useRef('/activities');
  useLive((e) => {
    if (e.className !== 'Activity' || e.objectId !== id) return;
    if (e.target === 'deleted') navigate(back.current); else reload();
  });
  if (loading && !data) return <p>Loading…</p>;
  if (error !== undefined || !data) {
    return <section><h1>Not available</h1><p className="error" role="alert">{errorMessage(error)}</p><Link to="/activities">Back</Link></section>;
  }
  const o = data.value;
  const a = activityFromJson(json(o));
  const related = a.relatedTo;
  back.current = related ? `/${related.className === 'Deal' ? 'deals' : 'contacts'}/${related.id}` : '/activities';
  const title = a.subject || label(a.type);

  const remove = async () => {
    setBusy(true);
    try {
      await destroy('Activity', id);
      toast.success(`Activity "${title}" deleted.`);
      navigate(back.current);
    } catch (e) {
      toast.error(`Not deleted: ${errorMessage(e)}`);
      setConfirming(false);
    } finally {
      setBusy(false);
    }
  };

  return (
    <article className="detail">
      <div className="heading">
        <h1>{title}</h1>
        <div className="actions">
          <button onClick={() => setEditing(!editing)} aria-expanded={editing} disabled={!online}>Edit</button>
          <button className="danger" onClick={() => setConfirming(true)} disabled={!online}>Delete</button>
        </div>
      </div>
      {data.fromDevice && <p className="note">Saved copy from this device.</p>}
      {editing ? (
        <RecordForm title={`Edit ${title}`} className="Activity" fields={activityFields} record={o} onSaved={() => { setEditing(false); reload(); }} onCancel={() => setEditing(false)} />
      ) : (
        <dl className="summary">
          <dt>Type</dt><dd>{label(a.type)}</dd>
          <dt>About</dt><dd>{related ? <Link to={back.current}>{related.label ?? related.className}</Link> : '—'}</dd>
          <dt>Due</dt><dd><time className={isOverdue(a) ? 'overdue' : ''}>{formatDate(a.dueDate)}</time>{isOverdue(a) && <span className="flag overdue">Overdue</span>}</dd>
          <dt>Completed</dt><dd>{formatDate(a.completedAt)}</dd>
          <dt>Details</dt><dd>{a.description ?? '—'}</dd>
        </dl>
      )}
      <Attachments className="Activity" record={o} onChanged={reload} />
      {confirming && (
        <ConfirmDialog title={`Delete ${title}?`} message="The activity and its place in the timeline are removed. This cannot be undone."
          confirmLabel="Delete" danger busy={busy} onConfirm={remove} onCancel={() => setConfirming(false)} />
      )}
    </article>
  );
}
