import { useState } from 'react';
import { myOpenActivities } from '../api';
import { ActivityItem, useComplete } from '../components/Activities';
import { useLive, useLoad } from '../hooks';
import { isOverdue, openByDueDate } from '../lib/activities';
import type { ActivityView } from '../lib/model';
import { errorMessage } from '../lib/offline';

export function ActivitiesPage() {
  const { data, error, loading, reload } = useLoad(() => myOpenActivities(), []);
  const [done, setDone] = useState<Set<string>>(new Set());
  const { complete, error: completeError } = useComplete((a: ActivityView) => setDone((s) => new Set(s).add(a.id)));
  useLive((e) => { if (e.className === 'Activity') reload(); });

  const list = openByDueDate((data?.activities ?? []).filter((a) => !done.has(a.id)));
  const overdue = list.filter((a) => isOverdue(a)).length;
  return (
    <section>
      <h1>My open activities</h1>
      {data?.fromDevice && <p className="note">Showing activities saved on this device.</p>}
      <p>{list.length} open{overdue ? `, ${overdue} overdue` : ''}.</p>
      {error !== undefined && <p className="error" role="alert">{errorMessage(error)}</p>}
      {completeError && <p className="error" role="alert">{completeError}</p>}
      {loading && !data ? <p>Loading…</p> : (
        <ol className="timeline">{list.map((a) => <ActivityItem key={a.id} a={a} onComplete={complete} showRelated />)}</ol>
      )}
    </section>
  );
}
