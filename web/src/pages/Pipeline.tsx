import { type DragEvent, type FormEvent, useEffect, useMemo, useReducer, useRef, useState } from 'react';
import { currentUser, json, moveDeal, pipelineDeals, save } from '../api';
import { toast } from '../components/Toasts';
import { useLive, useLocalDataVersion } from '../hooks';
import { isDealOverdue } from '../lib/forecast';
import { formatDate, formatMoney, label } from '../lib/format';
import { dealFromJson, type DealView, refOf, STAGES, type Stage, isStage } from '../lib/model';
import { errorMessage } from '../lib/offline';
import { type BoardFilter, boardReducer, emptyBoard, groupByStage } from '../lib/pipeline';
import { fieldOfError, sentence, validateRecord } from '../lib/validation';
import { Link, replaceQuery, useSearch } from '../router';

function readFilter(search: string): BoardFilter & { stage?: Stage } {
  const p = new URLSearchParams(search);
  const stage = p.get('stage');
  return { ownerId: p.get('owner') ?? undefined, companyId: p.get('company') ?? undefined, text: p.get('q') ?? undefined, stage: isStage(stage) ? stage : undefined };
}

function writeFilter(f: BoardFilter & { stage?: Stage }): string {
  const p = new URLSearchParams();
  if (f.ownerId) p.set('owner', f.ownerId);
  if (f.companyId) p.set('company', f.companyId);
  if (f.text) p.set('q', f.text);
  if (f.stage) p.set('stage', f.stage);
  const s = p.toString();
  return s ? `?${s}` : '';
}

/** True below the width where the board becomes one column: the stages are then tabs. */
function useNarrow(): boolean {
  const query = '(max-width: 720px)';
  const [narrow, setNarrow] = useState(() => window.matchMedia(query).matches);
  useEffect(() => {
    const m = window.matchMedia(query);
    const on = () => setNarrow(m.matches);
    m.addEventListener('change', on);
    return () => m.removeEventListener('change', on);
  }, []);
  return narrow;
}

export function PipelinePage() {
  const [state, dispatch] = useReducer(boardReducer, emptyBoard);
  const search = useSearch();
  const filter = readFilter(search);
  const setFilter = (next: Partial<typeof filter>) => replaceQuery(writeFilter({ ...filter, ...next }));
  const [loading, setLoading] = useState(true);
  const [fromDevice, setFromDevice] = useState(false);
  const [dragOver, setDragOver] = useState<Stage>();
  const [announce, setAnnounce] = useState('');
  const synced = useLocalDataVersion();
  const [adding, setAdding] = useState<Stage>();
  // Deals changed by someone else (a live event not caused by this tab): flagged on the card for a while.
  const [changed, setChanged] = useState<Record<string, string>>({});
  const mine = useRef(new Set<string>());
  const narrow = useNarrow();
  const tab = filter.stage ?? 'lead';

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
    // Only updates: a created card is new anyway, and this tab's own moves are not news to it.
    if (e.target !== 'updated' || mine.current.delete(e.objectId)) return;
    // Who made the change, when the event names them (an updatedBy pointer); otherwise just that it changed.
    const by = refOf(e.object.updatedBy)?.label;
    const cue = by ? `changed by ${by}` : 'changed just now';
    setChanged((c) => ({ ...c, [e.objectId]: cue }));
    window.setTimeout(() => setChanged((c) => { const rest = { ...c }; delete rest[e.objectId]; return rest; }), 8000);
  });

  const columns = useMemo(() => groupByStage(state.deals, filter), [state.deals, filter.ownerId, filter.companyId, filter.text]);
  const owners = useMemo(() => uniqueRefs(state.deals.map((d) => d.owner)), [state.deals]);
  const companies = useMemo(() => uniqueRefs(state.deals.map((d) => d.company)), [state.deals]);
  const me = currentUser()?.id;

  const move = async (deal: DealView, to: Stage) => {
    if (deal.stage === to) return;
    dispatch({ type: 'move', dealId: deal.id, to });
    mine.current.add(deal.id);
    setAnnounce(`Moving ${deal.title} to ${label(to)}…`);
    try {
      const saved = await moveDeal(deal.id, to);
      dispatch({ type: 'moveSucceeded', deal: { ...deal, stage: to, updatedAt: saved.updatedAt } });
      setAnnounce(`${deal.title} moved to ${label(to)}.`);
    } catch (e) {
      mine.current.delete(deal.id);
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

  const shownColumns = narrow ? columns.filter((c) => c.stage === tab) : columns;

  return (
    <section className="pipeline">
      <h1>Pipeline</h1>
      <form className="filters" role="search" aria-label="Filter deals" onSubmit={(e) => e.preventDefault()}>
        <label>Owner
          <select value={filter.ownerId ?? ''} onChange={(e) => setFilter({ ownerId: e.target.value || undefined })}>
            <option value="">Everyone</option>
            {me && <option value={me}>Me</option>}
            {owners.filter((o) => o.id !== me).map((o) => <option key={o.id} value={o.id}>{o.label ?? o.id}</option>)}
          </select>
        </label>
        <label>Company
          <select value={filter.companyId ?? ''} onChange={(e) => setFilter({ companyId: e.target.value || undefined })}>
            <option value="">All companies</option>
            {companies.map((c) => <option key={c.id} value={c.id}>{c.label ?? c.id}</option>)}
          </select>
        </label>
        <label>Search
          <input type="search" value={filter.text ?? ''} placeholder="Title, company, contact" onChange={(e) => setFilter({ text: e.target.value || undefined })} />
        </label>
      </form>
      {fromDevice && <p className="note">Showing deals saved on this device.</p>}
      {state.message && (
        <div className="error banner" role="alert">
          {state.message} <button className="link" onClick={() => dispatch({ type: 'dismiss' })}>Dismiss</button>
        </div>
      )}
      <p className="sr-only" aria-live="polite">{announce}</p>
      {narrow && (
        <div className="stage-tabs" role="tablist" aria-label="Stages">
          {columns.map((c) => (
            <button key={c.stage} role="tab" id={`tab-${c.stage}`} aria-selected={c.stage === tab} aria-controls="stage-panel"
              onClick={() => setFilter({ stage: c.stage })}>{label(c.stage)} <span className="count">{c.count}</span></button>
          ))}
        </div>
      )}
      {loading ? <p>Loading…</p> : (
        <div className={`board ${narrow ? 'tabbed' : ''}`} {...(narrow ? { id: 'stage-panel', role: 'tabpanel', 'aria-labelledby': `tab-${tab}` } : {})}>
          {shownColumns.map((col) => (
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
                <button className="quick-add" aria-expanded={adding === col.stage} aria-label={`Add a deal in ${label(col.stage)}`}
                  onClick={() => setAdding(adding === col.stage ? undefined : col.stage)}>+ Add deal</button>
              </header>
              {adding === col.stage && <QuickAdd stage={col.stage} onDone={(deal) => {
                setAdding(undefined);
                if (deal) dispatch({ type: 'live', op: 'created', deal });
              }} />}
              <ul>
                {col.deals.map((d) => {
                  const overdue = isDealOverdue(d);
                  return (
                    <li
                      key={d.id}
                      className={`card ${state.pending.some((p) => p.dealId === d.id) ? 'pending' : ''} ${overdue ? 'overdue' : ''} ${changed[d.id] ? 'changed' : ''}`}
                      draggable
                      data-deal-id={d.id}
                      onDragStart={(e) => { e.dataTransfer.setData('text/plain', d.id); e.dataTransfer.effectAllowed = 'move'; }}
                    >
                      <Link to={`/deals/${d.id}`} className="title">{d.title}</Link>
                      <span className="amount">{formatMoney(d.amount)}</span>
                      <span className="meta">{d.company?.label ?? ''}{d.company?.label ? ' · ' : ''}{d.expectedCloseDate ? <>closes <time>{formatDate(d.expectedCloseDate)}</time></> : 'no close date'}{overdue && <span className="flag overdue">Overdue</span>}</span>
                      <span className="owner-name" data-testid="card-owner" title="Owner">
                        <span className="avatar" aria-hidden="true">{(d.owner?.label ?? '?').charAt(0).toUpperCase()}</span>
                        {d.owner?.label ?? (d.owner ? 'A colleague' : 'Unassigned')}
                      </span>
                      {changed[d.id] && <span className="live-cue" role="status">{changed[d.id]}</span>}
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
                  );
                })}
              </ul>
            </section>
          ))}
        </div>
      )}
    </section>
  );
}

/** The small form under a column's header: a title and an amount make a deal in that stage, owned by me. */
function QuickAdd({ stage, onDone }: { stage: Stage; onDone: (deal?: DealView) => void }) {
  const [title, setTitle] = useState('');
  const [amount, setAmount] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const problems = validateRecord('Deal', { title, amount });
    setErrors(problems);
    if (Object.keys(problems).length) return;
    setBusy(true);
    try {
      const o = await save('Deal', undefined, { title: title.trim(), stage, amount: amount === '' ? undefined : Number(amount) });
      const me = currentUser();
      const deal = dealFromJson(json(o));
      toast.success(`Deal "${deal.title}" added to ${label(stage)}.`);
      onDone({ ...deal, stage, owner: deal.owner ?? (me ? { className: '_User', id: me.id!, label: me.getUsername() ?? undefined } : undefined) });
    } catch (err) {
      const at = fieldOfError(err, ['title', 'amount', 'stage']);
      if (at) setErrors({ [at.field]: at.message });
      toast.error(`Deal not added: ${sentence(at?.message ?? errorMessage(err))}`);
    } finally {
      setBusy(false);
    }
  };
  const err = (k: string) => errors[k] && <span className="field-error" role="alert" id={`qa-${stage}-${k}-error`}>{sentence(errors[k])}</span>;
  return (
    <form className="quick-add-form" onSubmit={submit} aria-label={`New deal in ${label(stage)}`} noValidate>
      <label>Title<input autoFocus value={title} onChange={(e) => setTitle(e.target.value)} aria-invalid={errors.title ? true : undefined} aria-describedby={errors.title ? `qa-${stage}-title-error` : undefined} /></label>
      {err('title')}
      <label>Amount<input type="number" min={0} step="any" value={amount} onChange={(e) => setAmount(e.target.value)} aria-invalid={errors.amount ? true : undefined} aria-describedby={errors.amount ? `qa-${stage}-amount-error` : undefined} /></label>
      {err('amount')}
      <div className="actions">
        <button type="submit" disabled={busy}>Add</button>
        <button type="button" onClick={() => onDone()}>Cancel</button>
      </div>
    </form>
  );
}

function uniqueRefs(refs: readonly (DealView['owner'])[]) {
  const map = new Map<string, NonNullable<DealView['owner']>>();
  for (const r of refs) if (r && (!map.has(r.id) || (r.label && !map.get(r.id)?.label))) map.set(r.id, r);
  return [...map.values()].sort((a, b) => (a.label ?? a.id).localeCompare(b.label ?? b.id));
}
