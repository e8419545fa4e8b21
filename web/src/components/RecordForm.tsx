import { type FormEvent, useEffect, useId, useState } from 'react';
import { type ClassName, type FieldValue, json, pickList, pointer, type PObject, save } from '../api';
import { useOnline } from '../hooks';
import { dateInput, label } from '../lib/format';
import { ACTIVITY_TYPES, dateOf, refOf, STAGES } from '../lib/model';
import { errorMessage } from '../lib/offline';
import { fieldOfError, type FieldErrors, sentence, validateRecord } from '../lib/validation';
import { toast } from './Toasts';

export interface FieldSpec {
  name: string;
  label: string;
  kind: 'text' | 'email' | 'url' | 'tel' | 'number' | 'date' | 'textarea' | 'select' | 'pointer';
  options?: readonly string[];
  target?: ClassName | '_User';
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
  { name: 'assignedTo', label: 'Owner', kind: 'pointer', target: '_User' },
  { name: 'notes', label: 'Notes', kind: 'textarea' },
];

export const activityFields: FieldSpec[] = [
  { name: 'type', label: 'Type', kind: 'select', options: ACTIVITY_TYPES },
  { name: 'subject', label: 'Subject', kind: 'text', required: true },
  { name: 'dueDate', label: 'Due date', kind: 'date' },
  { name: 'completedAt', label: 'Completed on', kind: 'date' },
  { name: 'description', label: 'Details', kind: 'textarea' },
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
function loadOptions(target: ClassName | '_User') {
  let p = optionCache.get(target);
  if (!p) {
    const field = target === 'Deal' ? 'title' : target === '_User' ? 'username' : 'name';
    p = pickList(target, field).catch(() => []);
    optionCache.set(target, p);
    setTimeout(() => optionCache.delete(target), 5000);
  }
  return p;
}

/** A select of the records of a class the user can see; `exclude` leaves one out (the record being deleted). */
export function PointerSelect({ id, target, value, onChange, exclude, invalid, describedBy, noneLabel = '— none —' }: {
  id: string; target: ClassName | '_User'; value: string; onChange: (v: string) => void; exclude?: string; invalid?: boolean; describedBy?: string; noneLabel?: string;
}) {
  const [options, setOptions] = useState<{ id: string; label: string }[]>([]);
  useEffect(() => { void loadOptions(target).then(setOptions); }, [target]);
  return (
    <select id={id} value={value} onChange={(e) => onChange(e.target.value)} aria-invalid={invalid || undefined} aria-describedby={describedBy}>
      <option value="">{noneLabel}</option>
      {options.filter((o) => o.id !== exclude).map((o) => <option key={o.id} value={o.id}>{o.label}</option>)}
      {value && !options.some((o) => o.id === value) && <option value={value}>{value}</option>}
    </select>
  );
}

/**
 * Create or edit form. The CRM's rules are checked here first (the same ones the server applies), and a
 * validation error from the server that names a field is shown at that field; others above the buttons.
 */
export function RecordForm({ title, className, fields, record, defaults = {}, onSaved, onCancel, savedMessage }: {
  title: string;
  className: ClassName;
  fields: FieldSpec[];
  record?: PObject;
  defaults?: Record<string, string>;
  onSaved: (o: PObject) => void;
  onCancel?: () => void;
  savedMessage?: (o: PObject) => string;
}) {
  const [values, setValues] = useState<Record<string, string>>(() => Object.fromEntries(fields.map((f) => [f.name, initialValue(record, f, defaults)])));
  const [error, setError] = useState<string>();
  const [fieldErrors, setFieldErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);
  const online = useOnline();
  const uid = useId();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    const problems = validateRecord(className, values);
    setFieldErrors(problems);
    const firstBad = fields.find((f) => problems[f.name]);
    if (firstBad) {
      document.getElementById(`${uid}-${firstBad.name}`)?.focus();
      return;
    }
    setBusy(true);
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
      toast.success(savedMessage?.(saved) ?? `${className} ${record ? 'saved' : 'created'}.`);
      onSaved(saved);
    } catch (err) {
      const at = fieldOfError(err, fields.map((f) => f.name));
      if (at) {
        setFieldErrors({ [at.field]: at.message });
        document.getElementById(`${uid}-${at.field}`)?.focus();
      } else setError(errorMessage(err));
      toast.error(`Not saved: ${sentence(at?.message ?? errorMessage(err))}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="record-form" onSubmit={submit} aria-label={title} noValidate>
      <h2>{title}</h2>
      {fields.map((f) => {
        const id = `${uid}-${f.name}`;
        const set = (v: string) => { setValues((s) => ({ ...s, [f.name]: v })); if (fieldErrors[f.name]) setFieldErrors((s) => { const rest = { ...s }; delete rest[f.name]; return rest; }); };
        const v = values[f.name] ?? '';
        const problem = fieldErrors[f.name];
        const errorId = problem ? `${id}-error` : undefined;
        const common = { id, 'aria-invalid': problem ? true : undefined, 'aria-describedby': errorId };
        return (
          <div className={`field ${problem ? 'invalid' : ''}`} key={f.name}>
            <label htmlFor={id}>{f.label}{f.required ? ' *' : ''}</label>
            {f.kind === 'textarea' ? <textarea {...common} value={v} onChange={(e) => set(e.target.value)} rows={3} />
              : f.kind === 'select' ? (
                <select {...common} value={v} onChange={(e) => set(e.target.value)}>
                  {f.options?.map((o) => <option key={o} value={o}>{label(o)}</option>)}
                </select>
              ) : f.kind === 'pointer' ? <PointerSelect id={id} target={f.target!} value={v} onChange={set} invalid={!!problem} describedBy={errorId} />
              : <input {...common} type={f.kind} value={v} aria-required={f.required} min={f.kind === 'number' ? 0 : undefined} step={f.kind === 'number' ? 'any' : undefined} onChange={(e) => set(e.target.value)} />}
            {problem && <p className="field-error" role="alert" id={errorId}>{sentence(problem)}</p>}
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
