// A record's timeline: its history of changes (who changed what, when) merged with its activities, newest first.
// The history comes from the server only (src/history.ts); offline, or from a server that keeps none, the page
// shows the activities with a note in its place.
import { Fragment, type ReactNode, useEffect, useState } from 'react';
import { currentUser, json, type PObject, userNames } from '../api';
import { recordHistory, HISTORY_PAGE } from '../history';
import { useOnline } from '../hooks';
import { formatDateTime } from '../lib/format';
import {
  createdWith, type DescribeContext, describeEntry, type FieldLabel, type HistoryEntry, mergeTimeline, namesFromRecord, type TimelineItem, usersMentioned,
} from '../lib/history';
import { errorMessage, isConnectionError } from '../lib/offline';
import type { ActivityView } from '../lib/model';
import { toast } from './Toasts';

type Status = 'loading' | 'ready' | 'offline' | 'not-found' | 'unsupported' | 'error';

export interface RecordHistory {
  status: Status;
  entries: HistoryEntry[];
  error?: string;
  /** The last page was full: there may be earlier changes. */
  more: boolean;
  loadingMore: boolean;
  loadMore: () => void;
  retry: () => void;
  context: DescribeContext;
}

/**
 * The record's history, loaded again whenever the record changes (its updatedAt moves when it is edited on this
 * page, reassigned, or changed elsewhere and reloaded live) and when the connection comes back.
 */
export function useRecordHistory(className: string, record: PObject, fields: readonly FieldLabel[]): RecordHistory {
  const id = record.id!;
  const version = record.updatedAt?.toISOString() ?? '';
  const online = useOnline();
  const [state, setState] = useState<{ status: Status; entries: HistoryEntry[]; error?: string; more: boolean }>({ status: 'loading', entries: [], more: false });
  const [loadingMore, setLoadingMore] = useState(false);
  const [attempt, setAttempt] = useState(0);
  const [users, setUsers] = useState<Map<string, string>>();
  const me = currentUser()?.id;

  useEffect(() => {
    if (!online) { setState({ status: 'offline', entries: [], more: false }); return; }
    let cancelled = false;
    setState((s) => ({ ...s, status: s.entries.length ? s.status : 'loading' }));
    recordHistory(className, id).then(
      (answer) => {
        if (cancelled) return;
        if (answer.kind === 'entries') setState({ status: 'ready', entries: answer.entries, more: answer.entries.length === HISTORY_PAGE });
        else if (answer.kind === 'error') setState({ status: 'error', entries: [], error: answer.message, more: false });
        else setState({ status: answer.kind, entries: [], more: false });
      },
      (e: unknown) => { if (!cancelled) setState({ status: isConnectionError(e) ? 'offline' : 'error', entries: [], error: errorMessage(e), more: false }); },
    );
    return () => { cancelled = true; };
  }, [className, id, version, online, attempt]);

  // Colleagues are named when the reader may read their profile (as deal owners are); one lookup, only if needed.
  useEffect(() => {
    if (users || ![...usersMentioned(state.entries)].some((u) => u !== me)) return;
    let cancelled = false;
    void userNames().then((names) => { if (!cancelled) setUsers(names); });
    return () => { cancelled = true; };
  }, [state.entries, users, me]);

  const loadMore = () => {
    setLoadingMore(true);
    recordHistory(className, id, state.entries.length).then(
      (answer) => {
        if (answer.kind === 'entries') {
          setState((s) => {
            const known = new Set(s.entries.map((e) => e.id));
            return { ...s, entries: [...s.entries, ...answer.entries.filter((e) => !known.has(e.id))], more: answer.entries.length === HISTORY_PAGE };
          });
        }
      },
      (e: unknown) => toast.error(`Earlier changes not loaded: ${errorMessage(e)}`),
    ).finally(() => setLoadingMore(false));
  };

  const names = new Map([...(users ?? []), ...namesFromRecord(json(record))]);
  return {
    ...state,
    loadingMore,
    loadMore,
    retry: () => setAttempt((a) => a + 1),
    context: { noun: className.toLowerCase(), fields, me, names },
  };
}

const badge: Record<HistoryEntry['event'], string> = { create: 'Created', update: 'Changed', delete: 'Deleted' };

export function ChangeItem({ entry, context }: { entry: HistoryEntry; context: DescribeContext }) {
  const details = createdWith(entry, context);
  return (
    <li className={`change ${entry.event}`} data-change-id={entry.id}>
      <span className="badge">{badge[entry.event]}</span>
      <span className="what">{describeEntry(entry, context)}</span>
      <time dateTime={entry.at}>{formatDateTime(entry.at)}</time>
      {details.length > 0 && <p className="desc">{details.join(' · ')}</p>}
    </li>
  );
}

/** Where the history stands, when it is not simply shown: loading, offline, not kept, or failed (with a retry). */
export function HistoryStatus({ history }: { history: RecordHistory }) {
  const { status } = history;
  if (status === 'ready') return null;
  if (status === 'error') {
    return <p className="error" role="alert">The history could not be loaded: {history.error} <button className="link" onClick={history.retry}>Try again</button></p>;
  }
  const text: Record<Exclude<Status, 'ready' | 'error'>, string> = {
    loading: 'Loading history…',
    offline: 'History is available when online.',
    'not-found': `The history of this ${history.context.noun} is not available to you.`,
    unsupported: 'This server keeps no history of changes.',
  };
  return <p className="note history-status" role="status" data-testid="history-status">{text[status]}</p>;
}

/** The merged list: activities as the caller shows them (components/Activities.tsx), changes as sentences; each with its time. */
export function Timeline({ items, history, empty, activity }: { items: TimelineItem[]; history: RecordHistory; empty?: string; activity?: (a: ActivityView) => ReactNode }) {
  return (
    <>
      <HistoryStatus history={history} />
      {items.length === 0 ? history.status !== 'loading' && empty && <p>{empty}</p> : (
        <ol className="timeline" aria-label="Timeline, newest first">
          {items.map((i) => (i.kind === 'activity'
            ? <Fragment key={i.key}>{activity?.(i.activity)}</Fragment>
            : <ChangeItem key={i.key} entry={i.entry} context={history.context} />))}
        </ol>
      )}
      {history.status === 'ready' && history.more && (
        <button onClick={history.loadMore} disabled={history.loadingMore}>{history.loadingMore ? 'Loading…' : 'Show earlier changes'}</button>
      )}
    </>
  );
}

/** The timeline of a record without activities of its own (a company): its history alone. */
export function HistoryPanel({ className, record, fields }: { className: string; record: PObject; fields: readonly FieldLabel[] }) {
  const history = useRecordHistory(className, record, fields);
  return (
    <section className="history" aria-labelledby={`history-${record.id}`}>
      <h2 id={`history-${record.id}`}>History</h2>
      <Timeline items={mergeTimeline([], history.entries)} history={history} empty={history.status === 'ready' ? 'No changes recorded yet.' : undefined} />
    </section>
  );
}
