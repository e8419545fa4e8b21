import { get, json } from '../api';
import { Attachments } from '../components/Attachments';
import { useLive, useLoad } from '../hooks';
import { formatDate, label } from '../lib/format';
import { activityFromJson } from '../lib/model';
import { errorMessage } from '../lib/offline';
import { Link } from '../router';

/** One activity: what it is about, when it is due, and its files. */
export function ActivityPage({ id }: { id: string }) {
  const { data, error, loading, reload } = useLoad(() => get('Activity', id, ['relatedTo'], true), [id]);
  useLive((e) => { if (e.className === 'Activity' && e.objectId === id && e.target !== 'deleted') reload(); });
  if (loading && !data) return <p>Loading…</p>;
  if (error !== undefined || !data) {
    return <section><h1>Not available</h1><p className="error" role="alert">{errorMessage(error)}</p><Link to="/activities">Back</Link></section>;
  }
  const o = data.value;
  const a = activityFromJson(json(o));
  const related = a.relatedTo;
  return (
    <article className="detail">
      <h1>{a.subject || label(a.type)}</h1>
      {data.fromDevice && <p className="note">Saved copy from this device.</p>}
      <dl className="summary">
        <dt>Type</dt><dd>{label(a.type)}</dd>
        <dt>About</dt><dd>{related ? <Link to={`/${related.className === 'Deal' ? 'deals' : 'contacts'}/${related.id}`}>{related.label ?? related.className}</Link> : '—'}</dd>
        <dt>Due</dt><dd>{formatDate(a.dueDate)}</dd>
        <dt>Completed</dt><dd>{formatDate(a.completedAt)}</dd>
        <dt>Details</dt><dd>{a.description ?? '—'}</dd>
      </dl>
      <Attachments className="Activity" record={o} onChanged={reload} />
    </article>
  );
}
