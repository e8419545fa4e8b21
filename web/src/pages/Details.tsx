import { type ReactNode, useState } from 'react';
import { type ClassName, destroy, get, json, pointer, type PObject, related } from '../api';
import { ActivityPanel } from '../components/Activities';
import { Attachments } from '../components/Attachments';
import { companyFields, contactFields, dealFields, type FieldSpec, RecordForm } from '../components/RecordForm';
import { useLive, useLoad } from '../hooks';
import { formatDate, formatMoney, label } from '../lib/format';
import { dateOf, dealFromJson, refOf } from '../lib/model';
import { errorMessage } from '../lib/offline';
import { Link, navigate } from '../router';

function Detail({ className, id, include, pin, fields, listPath, title, summary, children }: {
  className: ClassName;
  id: string;
  include: string[];
  pin: boolean;
  fields: FieldSpec[];
  listPath: string;
  title: (o: PObject) => string;
  summary: (o: PObject) => ReactNode;
  children?: (o: PObject, reload: () => void) => ReactNode;
}) {
  const { data, error, loading, reload } = useLoad(() => get(className, id, include, pin), [className, id]);
  const [editing, setEditing] = useState(false);
  const [deleteError, setDeleteError] = useState<string>();
  useLive((e) => { if (e.className === className && e.objectId === id) { if (e.target === 'deleted') navigate(listPath); else reload(); } });

  if (loading && !data) return <p>Loading…</p>;
  if (error !== undefined || !data) {
    return <section><h1>Not available</h1><p className="error" role="alert">{errorMessage(error)}</p><Link to={listPath}>Back</Link></section>;
  }
  const o = data.value;
  const remove = async () => {
    if (!window.confirm(`Delete ${title(o)}?`)) return;
    setDeleteError(undefined);
    try {
      await destroy(className, id);
      navigate(listPath);
    } catch (e) {
      setDeleteError(errorMessage(e));
    }
  };
  return (
    <article className="detail">
      <div className="heading">
        <h1>{title(o)}</h1>
        <div className="actions">
          <button onClick={() => setEditing(!editing)} aria-expanded={editing}>Edit</button>
          <button className="danger" onClick={remove}>Delete</button>
        </div>
      </div>
      {data.fromDevice && <p className="note">Saved copy from this device.</p>}
      {deleteError && <p className="error" role="alert">{deleteError}</p>}
      {editing ? (
        <RecordForm title={`Edit ${title(o)}`} className={className} fields={fields} record={o} onSaved={() => { setEditing(false); reload(); }} onCancel={() => setEditing(false)} />
      ) : <dl className="summary">{summary(o)}</dl>}
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
        <li key={d.id}><Link to={`/deals/${d.id}`}>{d.title}</Link> · {label(d.stage)} · {formatMoney(d.amount)} · closes {formatDate(d.expectedCloseDate)}</li>
      ); })}
    </ul>
  );
}

function Related({ className, field, id, target, order, pin, render }: { className: ClassName; field: string; id: string; target: ClassName; order: string; pin?: boolean; render: (rows: PObject[]) => ReactNode }) {
  const { data, error } = useLoad(() => related(className, field, pointer(target, id), order, [], pin), [className, field, id]);
  if (error !== undefined) return <p className="error">{errorMessage(error)}</p>;
  return <>{data ? render(data.value) : 'Loading…'}</>;
}

export function CompanyPage({ id }: { id: string }) {
  return (
    <Detail className="Company" id={id} include={[]} pin={false} fields={companyFields} listPath="/companies" title={(o) => s(o, 'name')}
      summary={(o) => <><Row k="Industry" v={s(o, 'industry')} /><Row k="Website" v={s(o, 'website')} /><Row k="Address" v={s(o, 'address')} /><Row k="Notes" v={s(o, 'notes')} /></>}>
      {() => (
        <>
          <section><h2>Contacts</h2>
            <Related className="Contact" field="company" id={id} target="Company" order="name" render={(rows) => rows.length === 0 ? <p>No contacts.</p> : (
              <ul className="related-list">{rows.map((r) => <li key={r.id}><Link to={`/contacts/${r.id}`}>{s(r, 'name')}</Link> · {s(r, 'email')}</li>)}</ul>
            )} />
          </section>
          <section><h2>Deals</h2>
            <Related className="Deal" field="company" id={id} target="Company" order="expectedCloseDate" render={(rows) => <DealTable rows={rows} />} />
          </section>
        </>
      )}
    </Detail>
  );
}

export function ContactPage({ id }: { id: string }) {
  return (
    <Detail className="Contact" id={id} include={['company']} pin fields={contactFields} listPath="/contacts" title={(o) => s(o, 'name')}
      summary={(o) => <><Row k="Email" v={s(o, 'email')} /><Row k="Phone" v={s(o, 'phone')} /><Row k="Company" v={<RefLink o={o} k="company" base="/companies" />} /><Row k="Notes" v={s(o, 'notes')} /></>}>
      {() => (
        <>
          <section><h2>Deals</h2>
            <Related className="Deal" field="contact" id={id} target="Contact" order="expectedCloseDate" pin render={(rows) => <DealTable rows={rows} />} />
          </section>
          <ActivityPanel className="Contact" id={id} />
        </>
      )}
    </Detail>
  );
}

export function DealPage({ id }: { id: string }) {
  return (
    <Detail className="Deal" id={id} include={['company', 'contact', 'assignedTo']} pin fields={dealFields} listPath="/deals" title={(o) => s(o, 'title')}
      summary={(o) => (
        <>
          <Row k="Stage" v={<span data-testid="deal-stage">{label(s(o, 'stage'))}</span>} />
          <Row k="Amount" v={formatMoney(Number(o.get('amount') ?? 0))} />
          <Row k="Expected close" v={formatDate(dateOf(json(o).expectedCloseDate))} />
          <Row k="Company" v={<RefLink o={o} k="company" base="/companies" />} />
          <Row k="Contact" v={<RefLink o={o} k="contact" base="/contacts" />} />
          <Row k="Owner" v={refOf(json(o).assignedTo)?.label ?? '—'} />
          <Row k="Notes" v={s(o, 'notes')} />
        </>
      )}>
      {(o, reload) => <><Attachments className="Deal" record={o} onChanged={reload} /><ActivityPanel className="Deal" id={id} /></>}
    </Detail>
  );
}
