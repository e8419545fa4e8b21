import { type DragEvent, useEffect, useMemo, useReducer, useState } from 'react';
import { currentUser, moveDeal, pipelineDeals } from '../api';
import { useLive, useLocalDataVersion } from '../hooks';
import { formatDate, formatMoney, label } from '../lib/format';
import { dealFromJson, type DealView, STAGES, type Stage, isStage } from '../lib/model';
import { errorMessage } from '../lib/offline';
import { type BoardFilter, boardReducer, emptyBoard, groupByStage } from '../lib/pipeline';
import { Link } from '../router';

export function PipelinePage() {
  const [state, dispatch] = useReducer(boardReducer, emptyBoard);
  const [filter, setFilter] = useState<BoardFilter>({});
  const [loading, setLoading] = useState(true);
  const [fromDevice, setFromDevice] = useState(false);
  const [dragOver, setDragOver] = useState<Stage>();
  const [announce, setAnnounce] = useState('');
  const synced = useLocalDataVersion();

  useEffect(() => {
    let cancelled = false;
    pipelineDeals().then(
      (r) => { if (!cancelled) { dispatch({ type: 'loaded', deals: r.deals }); setFromDevice(r.fromDevice); setLoading(false); } },
      (e: unknown) => { if (!cancelled) { dispatch({ type: 'error', message: errorMessage(e) }); setLoading(false); } },
    );
    return () => { cancelled = true; };
  }, [synced]);

  useLive((e) => {
    if (e.className !== 'Deal') return;
    dispatch({ type: 'live', op: e.target, deal: dealFromJson(e.object) });
  });

  const columns = useMemo(() => groupByStage(state.deals, filter), [state.deals, filter]);
  const owners = useMemo(() => uniqueRefs(state.deals.map((d) => d.owner)), [state.deals]);
  const companies = useMemo(() => uniqueRefs(state.deals.map((d) => d.company)), [state.deals]);
  const me = currentUser()?.id;

  const move = async (deal: DealView, to: Stage) => {
    if (deal.stage === to) return;
    dispatch({ type: 'move', dealId: deal.id, to });
    setAnnounce(`Moving ${deal.title} to ${label(to)}…`);
    try {
      const saved = await moveDeal(deal.id, to);
      dispatch({ type: 'moveSucceeded', deal: { ...deal, stage: to, updatedAt: saved.updatedAt } });
      setAnnounce(`${deal.title} moved to ${label(to)}.`);
    } catch (e) {
      dispatch({ type: 'moveFailed', dealId: deal.id, error: errorMessage(e) });
      setAnnounce(`${deal.title} could not be moved.`);
    }
  };

  const onDrop = (e: DragEvent, stage: Stage) => {
    e.preventDefault();
    setDragOver(undefined);
    const id = e.dataTransfer.getData('text/plain');
    const deal = state.deals.find((d) => d.id === id);
    if (deal) void move(deal, stage);
  };

  return (
    <section className="pipeline">
      <h1>Pipeline</h1>
      <form className="filters" role="search" aria-label="Filter deals" onSubmit={(e) => e.preventDefault()}>
        <label>Owner
          <select value={filter.ownerId ?? ''} onChange={(e) => setFilter({ ...filter, ownerId: e.target.value || undefined })}>
            <option value="">Everyone</option>
            {me && <option value={me}>Me</option>}
            {owners.filter((o) => o.id !== me).map((o) => <option key={o.id} value={o.id}>{o.label ?? o.id}</option>)}
          </select>
        </label>
        <label>Company
          <select value={filter.companyId ?? ''} onChange={(e) => setFilter({ ...filter, companyId: e.target.value || undefined })}>
            <option value="">All companies</option>
            {companies.map((c) => <option key={c.id} value={c.id}>{c.label ?? c.id}</option>)}
          </select>
        </label>
        <label>Search
          <input type="search" value={filter.text ?? ''} placeholder="Title, company, contact" onChange={(e) => setFilter({ ...filter, text: e.target.value })} />
        </label>
      </form>
      {fromDevice && <p className="note">Showing deals saved on this device.</p>}
      {state.message && (
        <div className="error banner" role="alert">
          {state.message} <button className="link" onClick={() => dispatch({ type: 'dismiss' })}>Dismiss</button>
        </div>
      )}
      <p className="sr-only" aria-live="polite">{announce}</p>
      {loading ? <p>Loading…</p> : (
        <div className="board">
          {columns.map((col) => (
            <section
              key={col.stage}
              className={`column ${dragOver === col.stage ? 'over' : ''}`}
              aria-label={`${label(col.stage)}: ${col.count} deals, ${formatMoney(col.total)}`}
              data-stage={col.stage}
              onDragOver={(e) => { e.preventDefault(); e.dataTransfer.dropEffect = 'move'; setDragOver(col.stage); }}
              onDragLeave={() => setDragOver(undefined)}
              onDrop={(e) => onDrop(e, col.stage)}
            >
              <header>
                <h2>{label(col.stage)}</h2>
                <p className="totals"><span data-testid={`count-${col.stage}`}>{col.count}</span> · <span data-testid={`total-${col.stage}`}>{formatMoney(col.total)}</span></p>
              </header>
              <ul>
                {col.deals.map((d) => (
                  <li
                    key={d.id}
                    className={`card ${state.pending.some((p) => p.dealId === d.id) ? 'pending' : ''}`}
                    draggable
                    data-deal-id={d.id}
                    onDragStart={(e) => { e.dataTransfer.setData('text/plain', d.id); e.dataTransfer.effectAllowed = 'move'; }}
                  >
                    <Link to={`/deals/${d.id}`} className="title">{d.title}</Link>
                    <span className="amount">{formatMoney(d.amount)}</span>
                    <span className="meta">{d.company?.label ?? ''}{d.company?.label ? ' · ' : ''}closes {formatDate(d.expectedCloseDate)}</span>
                    <label className="move">
                      <span className="sr-only">Stage of {d.title}</span>
                      <select
                        aria-label={`Stage of ${d.title}`}
                        value={d.stage}
                        onChange={(e) => { if (isStage(e.target.value)) void move(d, e.target.value); }}
                      >
                        {STAGES.map((s) => <option key={s} value={s}>{label(s)}</option>)}
                      </select>
                    </label>
                  </li>
                ))}
              </ul>
            </section>
          ))}
        </div>
      )}
    </section>
  );
}

function uniqueRefs(refs: readonly (DealView['owner'])[]) {
  const map = new Map<string, NonNullable<DealView['owner']>>();
  for (const r of refs) if (r && (!map.has(r.id) || (r.label && !map.get(r.id)?.label))) map.set(r.id, r);
  return [...map.values()].sort((a, b) => (a.label ?? a.id).localeCompare(b.label ?? b.id));
}
