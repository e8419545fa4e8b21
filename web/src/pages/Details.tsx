import { type ReactNode, useEffect, useId, useState } from 'react';
import { type ClassName, get, json, pointer, type PObject, related } from '../api';
import { ActivityPanel } from '../components/Activities';
import { Attachments } from '../components/Attachments';
import { DeleteRecord } from '../components/DeleteRecord';
import { HistoryPanel } from '../components/History';
import { companyFields, contactFields, dealFields, type FieldSpec, RecordForm } from '../components/RecordForm';
import { toast } from '../components/Toasts';
import { useLive, useLoad, useOnline } from '../hooks';
import { isDealOverdue } from '../lib/forecast';
import { formatDate, formatMoney, label } from '../lib/format';
import { dateOf, dealFromJson, refOf } from '../lib/model';
import { errorMessage } from '../lib/offline';
import { assignableUsers, reassignDeal } from '../records';
import { Link, navigate } from '../router';

function Detail({ className, id, include, pin, fields, listPath, title, summary, children }: {
  className: 'Company' | 'Contact' | 'Deal';
  id: string;
  include: string[];
  pin: boolean;
  fields: FieldSpec[];
  listPath: string;
  title: (o: PObject) => string;
  summary: (o: PObject, reload: () => void) => ReactNode;
  children?: (o: PObject, reload: () => void) => ReactNode;
}) {
  const { data, error, loading, reload } = useLoad(() => get(className, id, include, pin), [className, id]);
  const [editing, setEditing] = useState(false);
  useLive((e) => { if (e.className === className && e.objectId === id) { if (e.target === 'deleted') navigate(listPath); else reload(); } });

  if (loading && !data) return <p>Loading…</p>;
  if (error !== undefined || !data) {
    return <section><h1>Not available</h1><p className="error" role="alert">{errorMessage(error)}</p><Link to={listPath}>Back</Link></section>;
  }
  const o = data.value;
  return (
    <article className="detail">
      <div className="heading">
        <h1>{title(o)}</h1>
        <div className="actions">
          <button onClick={() => setEditing(!editing)} aria-expanded={editing}>Edit</button>
          <DeleteRecord className={className} id={id} name={title(o)} onDeleted={() => navigate(listPath)} />
        </div>
      </div>
      {data.fromDevice && <p className="note">Saved copy from this device.</p>}
      {editing ? (
        <RecordForm title={`Edit ${title(o)}`} className={className} fields={fields} record={o} onSaved={() => { setEditing(false); reload(); }} onCancel={() => setEditing(false)} />
      ) : <dl className="summary">{summary(o, reload)}</dl>}
      {children?.(o, reload)}
    </article>
  );
}

const s = (o: PObject, k: string) => { const v = o.get(k) as unknown; return typeof v === 'string' && v ? v : '—'; };
const Row = ({ k, v }: { k: string; v: ReactNode }) => <><dt>{k}</dt><dd>{v}</dd></>;
function RefLink({ o, k, base }: { o: PObject; k: string; base: string }) {
  const r = refOf(json(o)[k]);
  return r ? <Link to={`${base}/${r.id}`}>{r.label ?? r.id}</Link> : <>—</>;
}

function DealTable({ rows }: { rows: PObject[] }) {
  if (rows.length === 0) return <p>No deals.</p>;
  return (
    <ul className="related-list">
      {rows.map((r) => { const d = dealFromJson(json(r)); return (
        <li key={d.id}><Link to={`/deals/${d.id}`}>{d.title}</Link> · {label(d.stage)} · {formatMoney(d.amount)} · closes <time className={isDealOverdue(d) ? 'overdue' : ''}>{formatDate(d.expectedCloseDate)}</time>{isDealOverdue(d) ? ' · overdue' : ''}</li>
      ); })}
    </ul>
  );
}

function Related({ className, field, id, target, order, pin, version, render }: { className: ClassName; field: string; id: string; target: ClassName; order: string; pin?: boolean; version?: number; render: (rows: PObject[]) => ReactNode }) {
  const { data, error } = useLoad(() => related(className, field, pointer(target, id), order, [], pin), [className, field, id, version]);
  if (error !== undefined) return <p className="error">{errorMessage(error)}</p>;
  return <>{data ? render(data.value) : 'Loading…'}</>;
}

/** "Add contact" / "Add deal" on a record's page: the create form with the link to this record filled in. */
function AddRelated({ what, className, fields, defaults, onAdded }: { what: string; className: 'Contact' | 'Deal'; fields: FieldSpec[]; defaults: Record<string, string>; onAdded: () => void }) {
  const [open, setOpen] = useState(false);
  const online = useOnline();
  return (
    <>
      <button onClick={() => setOpen(!open)} aria-expanded={open} disabled={!online}>Add {what}</button>
      {open && <RecordForm title={`New ${what}`} className={className} fields={fields} defaults={defaults} onSaved={() => { setOpen(false); onAdded(); }} onCancel={() => setOpen(false)} />}
    </>
  );
}

export function CompanyPage({ id }: { id: string }) {
  const [version, setVersion] = useState(0);
  const bump = () => setVersion((v) => v + 1);
  useLive((e) => { if ((e.className === 'Contact' || e.className === 'Deal') && refOf(e.object.company)?.id === id) bump(); });
  return (
    <Detail className="Company" id={id} include={[]} pin={false} fields={companyFields} listPath="/companies" title={(o) => s(o, 'name')}
      summary={(o) => <><Row k="Industry" v={s(o, 'industry')} /><Row k="Website" v={s(o, 'website')} /><Row k="Address" v={s(o, 'address')} /><Row k="Notes" v={s(o, 'notes')} /></>}>
      {(o) => (
        <>
          <section><div className="heading"><h2>Contacts</h2><AddRelated what="contact" className="Contact" fields={contactFields} defaults={{ company: id }} onAdded={bump} /></div>
            <Related className="Contact" field="company" id={id} target="Company" order="name" version={version} render={(rows) => rows.length === 0 ? <p>No contacts.</p> : (
              <ul className="related-list">{rows.map((r) => <li key={r.id}><Link to={`/contacts/${r.id}`}>{s(r, 'name')}</Link> · {s(r, 'email')}</li>)}</ul>
            )} />
          </section>
          <section><div className="heading"><h2>Deals</h2><AddRelated what="deal" className="Deal" fields={dealFields} defaults={{ company: id }} onAdded={bump} /></div>
            <Related className="Deal" field="company" id={id} target="Company" order="expectedCloseDate" version={version} render={(rows) => <DealTable rows={rows} />} />
          </section>
          <HistoryPanel className="Company" record={o} fields={companyFields} />
        </>
      )}
    </Detail>
  );
}

export function ContactPage({ id }: { id: string }) {
  const [version, setVersion] = useState(0);
  return (
    <Detail className="Contact" id={id} include={['company']} pin fields={contactFields} listPath="/contacts" title={(o) => s(o, 'name')}
      summary={(o) => <><Row k="Email" v={s(o, 'email')} /><Row k="Phone" v={s(o, 'phone')} /><Row k="Company" v={<RefLink o={o} k="company" base="/companies" />} /><Row k="Notes" v={s(o, 'notes')} /></>}>
      {(o) => (
        <>
          <section><div className="heading"><h2>Deals</h2><AddRelated what="deal" className="Deal" fields={dealFields} defaults={{ contact: id, company: refOf(json(o).company)?.id ?? '' }} onAdded={() => setVersion((v) => v + 1)} /></div>
            <Related className="Deal" field="contact" id={id} target="Contact" order="expectedCloseDate" pin version={version} render={(rows) => <DealTable rows={rows} />} />
          </section>
          <ActivityPanel className="Contact" record={o} fields={contactFields} />
        </>
      )}
    </Detail>
  );
}

/** The deal's owner, with a select to hand the deal to someone else (the server moves the access with it). */
function OwnerSelect({ deal, onChanged }: { deal: PObject; onChanged: () => void }) {
  const ref = refOf(json(deal).assignedTo);
  const [users, setUsers] = useState<{ id: string; label: string }[]>([]);
  const [busy, setBusy] = useState(false);
  const online = useOnline();
  const uid = useId();
  useEffect(() => { assignableUsers().then(setUsers, () => setUsers([])); }, []);
  // The owner's name when this user can read their profile; a colleague who keeps it private stays unnamed.
  const owner = ref && { ...ref, label: ref.label ?? users.find((u) => u.id === ref.id)?.label ?? 'a colleague' };
  const change = async (userId: string) => {
    if (!userId || userId === owner?.id) return;
    setBusy(true);
    try {
      await reassignDeal(deal.id!, userId);
      toast.success(`Deal assigned to ${users.find((u) => u.id === userId)?.label ?? 'the new owner'}.`);
      onChanged();
    } catch (e) {
      toast.error(`Not reassigned: ${errorMessage(e)}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <span className="owner">
      <span data-testid="deal-owner">{owner?.label ?? '—'}</span>{' '}
      <label htmlFor={`${uid}-owner`} className="sr-only">Reassign to</label>
      <select id={`${uid}-owner`} aria-label="Reassign to" value="" disabled={!online || busy || users.length === 0} onChange={(e) => void change(e.target.value)}>
        <option value="">Reassign…</option>
        {users.filter((u) => u.id !== owner?.id).map((u) => <option key={u.id} value={u.id}>{u.label}</option>)}
      </select>
    </span>
  );
}

export function DealPage({ id }: { id: string }) {
  return (
    <Detail className="Deal" id={id} include={['company', 'contact']} pin fields={dealFields} listPath="/deals" title={(o) => s(o, 'title')}
      summary={(o, reload) => {
        const d = dealFromJson(json(o));
        const overdue = isDealOverdue(d);
        return (
          <>
            <Row k="Stage" v={<span data-testid="deal-stage">{label(s(o, 'stage'))}</span>} />
            <Row k="Amount" v={formatMoney(Number(o.get('amount') ?? 0))} />
            <Row k="Expected close" v={<><time className={overdue ? 'overdue' : ''}>{formatDate(dateOf(json(o).expectedCloseDate))}</time>{overdue && <span className="flag overdue" data-testid="deal-overdue">Overdue</span>}</>} />
            <Row k="Company" v={<RefLink o={o} k="company" base="/companies" />} />
            <Row k="Contact" v={<RefLink o={o} k="contact" base="/contacts" />} />
            <Row k="Owner" v={<OwnerSelect deal={o} onChanged={reload} />} />
            <Row k="Notes" v={s(o, 'notes')} />
          </>
        );
      }}>
      {(o, reload) => <><Attachments className="Deal" record={o} onChanged={reload} /><ActivityPanel className="Deal" record={o} fields={dealFields} /></>}
    </Detail>
  );
}
