import { useEffect, useRef, useState } from 'react';
import { currentUser, json, list } from '../api';
import { ActivityItem, useComplete } from '../components/Activities';
import { useLive, useLoad } from '../hooks';
import { isDueSoon, isOverdue, openByDueDate } from '../lib/activities';
import { activityFromJson, type ActivityView } from '../lib/model';
import { errorMessage } from '../lib/offline';
import { replaceQuery, useSearch } from '../router';

const SCOPES = { mine: 'Mine', all: 'Everyone I can see' } as const;
const STATUSES = { open: 'Open', overdue: 'Overdue', due: 'Due in 3 days', done: 'Completed', all: 'All' } as const;
type Scope = keyof typeof SCOPES;
type Status = keyof typeof STATUSES;

function read(search: string): { scope: Scope; status: Status; q: string } {
  const p = new URLSearchParams(search);
  const scope = p.get('scope');
  const status = p.get('status');
  return {
    scope: scope && scope in SCOPES ? (scope as Scope) : 'mine',
    status: status && status in STATUSES ? (status as Status) : 'open',
    q: p.get('q') ?? '',
  };
}

function write(s: { scope: Scope; status: Status; q: string }): string {
  const p = new URLSearchParams();
  if (s.scope !== 'mine') p.set('scope', s.scope);
  if (s.status !== 'open') p.set('status', s.status);
  if (s.q) p.set('q', s.q);
  const t = p.toString();
  return t ? `?${t}` : '';
}

/** Every activity the user can see, filtered by whose and by state (open, overdue, due soon, done), kept in the address. */
export function ActivitiesPage() {
  const search = useSearch();
  const f = read(search);
  const set = (next: Partial<typeof f>) => replaceQuery(write({ ...read(window.location.search), ...next }));
  // The subject search is a $regex on the server: sent 300 ms after the last keystroke, not on every one.
  const [typed, setTyped] = useState(f.q);
  const pending = useRef<number | undefined>(undefined);
  useEffect(() => () => window.clearTimeout(pending.current), []);
  const onType = (value: string) => {
    setTyped(value);
    window.clearTimeout(pending.current);
    pending.current = window.setTimeout(() => set({ q: value }), 300);
  };
  const { data, error, loading, reload, setData } = useLoad(async () => {
    const now = new Date();
    const done = f.status === 'done';
    const r = await list({
      className: 'Activity', search: f.q, searchField: 'subject', sort: done ? 'completedAt' : 'dueDate', descending: done,
      page: 0, pageSize: 500, include: ['relatedTo', 'createdBy'],
      where: (q) => {
        if (f.scope === 'mine') q.equalTo('createdBy', currentUser());
        if (f.status === 'open' || f.status === 'overdue' || f.status === 'due') q.doesNotExist('completedAt');
        if (f.status === 'done') q.exists('completedAt');
        if (f.status === 'overdue') q.lessThan('dueDate', now);
        if (f.status === 'due') q.greaterThanOrEqualTo('dueDate', now).lessThan('dueDate', new Date(now.getTime() + 3 * 86_400_000));
      },
    });
    const activities = r.rows.map((o) => activityFromJson(json(o)));
    // Soonest due first, undated last (the store would put undated first).
    return { activities: done ? activities : [...openByDueDate(activities.filter((a) => !a.completedAt)), ...activities.filter((a) => a.completedAt)], count: r.count, fromDevice: r.fromDevice };
  }, [f.scope, f.status, f.q]);
  const { complete, error: completeError } = useComplete((a: ActivityView) => {
    if (!data) return;
    const activities = f.status === 'all' || f.status === 'done' ? data.activities.map((x) => (x.id === a.id ? a : x)) : data.activities.filter((x) => x.id !== a.id);
    setData({ ...data, activities });
  });
  useLive((e) => { if (e.className === 'Activity') reload(); });

  const shown = data?.activities ?? [];
  const overdue = shown.filter((a) => isOverdue(a)).length;
  const dueSoon = shown.filter((a) => isDueSoon(a)).length;
  return (
    <section>
      <h1>Activities</h1>
      <form className="filters" role="search" aria-label="Filter activities" onSubmit={(e) => e.preventDefault()}>
        <label>Whose
          <select value={f.scope} onChange={(e) => set({ scope: e.target.value as Scope })}>
            {Object.entries(SCOPES).map(([k, v]) => <option key={k} value={k}>{v}</option>)}
          </select>
        </label>
        <label>Status
          <select value={f.status} onChange={(e) => set({ status: e.target.value as Status })}>
            {Object.entries(STATUSES).map(([k, v]) => <option key={k} value={k}>{v}</option>)}
          </select>
        </label>
        <label>Search
          <input type="search" value={typed} placeholder="Subject" onChange={(e) => onType(e.target.value)} />
        </label>
      </form>
      {data?.fromDevice && <p className="note">Showing activities saved on this device.</p>}
      <p data-testid="activity-counts">{shown.length} shown{overdue ? `, ${overdue} overdue` : ''}{dueSoon ? `, ${dueSoon} due soon` : ''}.</p>
      {error !== undefined && <p className="error" role="alert">{errorMessage(error)}</p>}
      {completeError && <p className="error" role="alert">{completeError}</p>}
      {loading && !data ? <p>Loading…</p> : shown.length === 0 ? <p>No activities match.</p> : (
        <ol className="timeline">{shown.map((a) => <ActivityItem key={a.id} a={a} onComplete={complete} showRelated showOwner={f.scope === 'all'} />)}</ol>
      )}
    </section>
  );
}
