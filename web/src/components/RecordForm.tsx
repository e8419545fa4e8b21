import { type FormEvent, useEffect, useId, useState } from 'react';
import { type ClassName, type FieldValue, json, pickList, pointer, type PObject, save } from '../api';
import { useOnline } from '../hooks';
import { dateInput, label } from '../lib/format';
import { dateOf, refOf, STAGES } from '../lib/model';
import { errorMessage } from '../lib/offline';

export interface FieldSpec {
  name: string;
  label: string;
  kind: 'text' | 'email' | 'url' | 'tel' | 'number' | 'date' | 'textarea' | 'select' | 'pointer';
  options?: readonly string[];
  target?: ClassName;
  required?: boolean;
}

export const companyFields: FieldSpec[] = [
  { name: 'name', label: 'Name', kind: 'text', required: true },
  { name: 'industry', label: 'Industry', kind: 'text' },
  { name: 'website', label: 'Website', kind: 'text' },
  { name: 'address', label: 'Address', kind: 'text' },
  { name: 'notes', label: 'Notes', kind: 'textarea' },
];

export const contactFields: FieldSpec[] = [
  { name: 'name', label: 'Name', kind: 'text', required: true },
  { name: 'email', label: 'Email', kind: 'email' },
  { name: 'phone', label: 'Phone', kind: 'tel' },
  { name: 'company', label: 'Company', kind: 'pointer', target: 'Company' },
  { name: 'notes', label: 'Notes', kind: 'textarea' },
];

export const dealFields: FieldSpec[] = [
  { name: 'title', label: 'Title', kind: 'text', required: true },
  { name: 'amount', label: 'Amount', kind: 'number' },
  { name: 'stage', label: 'Stage', kind: 'select', options: STAGES },
  { name: 'expectedCloseDate', label: 'Expected close date', kind: 'date' },
  { name: 'company', label: 'Company', kind: 'pointer', target: 'Company' },
  { name: 'contact', label: 'Contact', kind: 'pointer', target: 'Contact' },
  { name: 'notes', label: 'Notes', kind: 'textarea' },
];

function initialValue(o: PObject | undefined, f: FieldSpec, defaults: Record<string, string>): string {
  if (!o) return defaults[f.name] ?? (f.kind === 'select' ? f.options?.[0] ?? '' : '');
  const j = json(o)[f.name];
  if (f.kind === 'pointer') return refOf(j)?.id ?? '';
  if (f.kind === 'date') return dateInput(dateOf(j));
  if (typeof j === 'number') return String(j);
  return typeof j === 'string' ? j : '';
}

const optionCache = new Map<string, Promise<{ id: string; label: string }[]>>();
function loadOptions(target: ClassName) {
  let p = optionCache.get(target);
  if (!p) {
    const field = target === 'Deal' ? 'title' : 'name';
    p = pickList(target, field).catch(() => []);
    optionCache.set(target, p);
    setTimeout(() => optionCache.delete(target), 5000);
  }
  return p;
}

function PointerSelect({ id, target, value, onChange }: { id: string; target: ClassName; value: string; onChange: (v: string) => void }) {
  const [options, setOptions] = useState<{ id: string; label: string }[]>([]);
  useEffect(() => { void loadOptions(target).then(setOptions); }, [target]);
  return (
    <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
      <option value="">— none —</option>
      {options.map((o) => <option key={o.id} value={o.id}>{o.label}</option>)}
      {value && !options.some((o) => o.id === value) && <option value={value}>{value}</option>}
    </select>
  );
}

/** Create or edit form; the server's validation message is shown as is. */
export function RecordForm({ title, className, fields, record, defaults = {}, onSaved, onCancel }: {
  title: string;
  className: ClassName;
  fields: FieldSpec[];
  record?: PObject;
  defaults?: Record<string, string>;
  onSaved: (o: PObject) => void;
  onCancel?: () => void;
}) {
  const [values, setValues] = useState<Record<string, string>>(() => Object.fromEntries(fields.map((f) => [f.name, initialValue(record, f, defaults)])));
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const online = useOnline();
  const uid = useId();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const data: Record<string, FieldValue> = {};
      for (const f of fields) {
        const v = values[f.name];
        if (f.kind === 'pointer') data[f.name] = v ? pointer(f.target!, v) : null;
        else if (f.kind === 'number') data[f.name] = v === '' ? null : Number(v);
        else if (f.kind === 'date') data[f.name] = v ? new Date(`${v}T12:00:00Z`) : null;
        else data[f.name] = v;
      }
      const saved = await save(className, record?.id, data);
      onSaved(saved);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="record-form" onSubmit={submit} aria-label={title} noValidate>
      <h2>{title}</h2>
      {fields.map((f) => {
        const id = `${uid}-${f.name}`;
        const set = (v: string) => setValues((s) => ({ ...s, [f.name]: v }));
        const v = values[f.name] ?? '';
        return (
          <div className="field" key={f.name}>
            <label htmlFor={id}>{f.label}{f.required ? ' *' : ''}</label>
            {f.kind === 'textarea' ? <textarea id={id} value={v} onChange={(e) => set(e.target.value)} rows={3} />
              : f.kind === 'select' ? (
                <select id={id} value={v} onChange={(e) => set(e.target.value)}>
                  {f.options?.map((o) => <option key={o} value={o}>{label(o)}</option>)}
                </select>
              ) : f.kind === 'pointer' ? <PointerSelect id={id} target={f.target!} value={v} onChange={set} />
              : <input id={id} type={f.kind} value={v} aria-required={f.required} step={f.kind === 'number' ? 'any' : undefined} onChange={(e) => set(e.target.value)} />}
          </div>
        );
      })}
      {error && <p className="error" role="alert">{error}</p>}
      {!online && <p className="note">Offline: saving keeps the change on this device and sends it when the connection is back.</p>}
      <div className="actions">
        <button type="submit" disabled={busy}>Save</button>
        {onCancel && <button type="button" onClick={onCancel}>Cancel</button>}
      </div>
    </form>
  );
}
