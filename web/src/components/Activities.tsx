import { type FormEvent, useEffect, useState } from 'react';
import { completeActivity, json, pointer, type PObject, related, save } from '../api';
import { useLive, useLoad } from '../hooks';
import { applyActivityEvent, isDueSoon, isOverdue } from '../lib/activities';
import { type FieldLabel, mergeTimeline } from '../lib/history';
import { formatDate, label } from '../lib/format';
import { ACTIVITY_TYPES, activityFromJson, type ActivityView } from '../lib/model';
import { errorMessage } from '../lib/offline';
import { fieldOfError, sentence, validateRecord } from '../lib/validation';
import { Link } from '../router';
import { Timeline, useRecordHistory } from './History';
import { toast } from './Toasts';

export function ActivityItem({ a, onComplete, showRelated, showOwner }: { a: ActivityView; onComplete?: (a: ActivityView) => void; showRelated?: boolean; showOwner?: boolean }) {
  const overdue = isOverdue(a);
  return (
    <li className={`activity ${overdue ? 'overdue' : ''} ${a.completedAt ? 'done' : ''}`} data-activity-id={a.id}>
      <span className={`badge ${a.type}`}>{label(a.type)}</span>
      <span className="subject"><Link to={`/activities/${a.id}`}>{a.subject || '(no subject)'}</Link></span>
      {showRelated && a.relatedTo && (
        <Link className="related" to={`/${a.relatedTo.className === 'Deal' ? 'deals' : 'contacts'}/${a.relatedTo.id}`}>{a.relatedTo.label ?? a.relatedTo.className}</Link>
      )}
      {showOwner && a.createdBy?.label && <span className="owner-name">{a.createdBy.label}</span>}
      <span className="due">{a.completedAt ? <>completed <time dateTime={a.completedAt}>{formatDate(a.completedAt)}</time></> : a.dueDate ? <>due <time dateTime={a.dueDate}>{formatDate(a.dueDate)}</time></> : 'no due date'}</span>
      {overdue && <span className="flag overdue">Overdue</span>}
      {!overdue && isDueSoon(a) && <span className="flag due-soon">Due soon</span>}
      {a.description && <p className="desc">{a.description}</p>}
      {!a.completedAt && onComplete && (
        <button onClick={() => onComplete(a)} aria-label={`Mark ${a.subject || a.type} complete`}>Mark complete</button>
      )}
    </li>
  );
}

export function useComplete(update: (a: ActivityView) => void) {
  const [error, setError] = useState<string>();
  const complete = async (a: ActivityView) => {
    setError(undefined);
    try {
      const done = await completeActivity(a.id);
      update({ ...a, completedAt: done.completedAt ?? new Date().toISOString() });
      toast.success(`${a.subject || label(a.type)} marked complete.`);
    } catch (e) {
      setError(errorMessage(e));
      toast.error(`Not completed: ${errorMessage(e)}`);
    }
  };
  return { complete, error };
}

/**
 * The timeline of a contact or deal: its activities, with a form to log one, merged with its history of changes.
 * Opened activities are pinned (the history is not kept on the device).
 */
export function ActivityPanel({ className, record, fields }: { className: 'Contact' | 'Deal'; record: PObject; fields: readonly FieldLabel[] }) {
  const id = record.id!;
  const target = pointer(className, id);
  const history = useRecordHistory(className, record, fields);
  const { data, error } = useLoad(() => related('Activity', 'relatedTo', target, '-dueDate', [], true), [className, id]);
  const [items, setItems] = useState<ActivityView[]>([]);
  useEffect(() => { if (data) setItems(data.value.map((o) => activityFromJson(json(o)))); }, [data]);
  const shown = mergeTimeline(items, history.entries);
  const { complete, error: completeError } = useComplete((a) => setItems((s) => applyActivityEvent(s, 'updated', a)));

  useLive((e) => {
    if (e.className !== 'Activity') return;
    const a = activityFromJson(e.object);
    if (a.relatedTo?.id !== id) return;
    setItems((s) => applyActivityEvent(s, e.target, a));
  });

  return (
    <section className="activities" aria-labelledby={`act-${id}`}>
      <h2 id={`act-${id}`}>Activities and history</h2>
      <LogActivity className={className} id={id} onLogged={(a) => setItems((s) => applyActivityEvent(s, 'created', a))} />
      {error !== undefined && <p className="error" role="alert">{errorMessage(error)}</p>}
      {completeError && <p className="error" role="alert">{completeError}</p>}
      <Timeline items={shown} history={history} empty={history.status === 'ready' ? 'No activities or changes yet.' : 'No activities yet.'} activity={(a) => <ActivityItem a={a} onComplete={complete} />} />
    </section>
  );
}

function LogActivity({ className, id, onLogged }: { className: 'Contact' | 'Deal'; id: string; onLogged: (a: ActivityView) => void }) {
  const [type, setType] = useState<string>('call');
  const [subject, setSubject] = useState('');
  const [due, setDue] = useState('');
  const [description, setDescription] = useState('');
  const [error, setError] = useState<string>();
  const [subjectError, setSubjectError] = useState<string>();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    const problem = validateRecord('Activity', { subject }).subject;
    setSubjectError(problem);
    if (problem) { document.getElementById(`log-subject-${id}`)?.focus(); return; }
    try {
      const o = await save('Activity', undefined, {
        type, subject, description, relatedTo: pointer(className, id), dueDate: due ? new Date(`${due}T12:00:00Z`) : undefined,
      });
      onLogged(activityFromJson(json(o)));
      toast.success(`${label(type)} "${subject}" logged.`);
      setSubject(''); setDue(''); setDescription('');
    } catch (err) {
      const at = fieldOfError(err, ['type', 'subject', 'dueDate', 'description', 'relatedTo']);
      if (at?.field === 'subject') setSubjectError(at.message); else setError(errorMessage(err));
      toast.error(`Not logged: ${sentence(at?.message ?? errorMessage(err))}`);
    }
  };

  return (
    <form className="log-activity" onSubmit={submit} aria-label="Log an activity">
      <label>Type
        <select value={type} onChange={(e) => setType(e.target.value)}>
          {ACTIVITY_TYPES.map((t) => <option key={t} value={t}>{label(t)}</option>)}
        </select>
      </label>
      <label>Subject *<input id={`log-subject-${id}`} value={subject} aria-invalid={subjectError ? true : undefined} aria-describedby={subjectError ? `log-subject-${id}-error` : undefined} onChange={(e) => { setSubject(e.target.value); setSubjectError(undefined); }} />
        {subjectError && <span className="field-error" role="alert" id={`log-subject-${id}-error`}>{sentence(subjectError)}</span>}
      </label>
      <label>Due date<input type="date" value={due} onChange={(e) => setDue(e.target.value)} /></label>
      <label className="wide">Details<input value={description} onChange={(e) => setDescription(e.target.value)} /></label>
      <button type="submit">Log activity</button>
      {error && <p className="error" role="alert">{error}</p>}
    </form>
  );
}
