import { type ChangeEvent, useId, useMemo, useState } from 'react';
import { Parse, type PObject } from '../api';
import { toast } from '../components/Toasts';
import { useOnline } from '../hooks';
import { chunks, guessMapping, IMPORT_FIELDS, type ImportClass, keysOf, type ParsedCsv, parseCsv, planImport, type PlannedRow } from '../lib/csv';
import { errorMessage } from '../lib/offline';
import { Link, replaceQuery, useSearch } from '../router';

const BATCH = 25;
const PAGE = 1000;

/** Everything of a class the user can see, a page at a time, reduced to the fields the duplicate check needs. */
async function existing(className: ImportClass): Promise<{ id: string; name?: string; email?: string }[]> {
  const out: { id: string; name?: string; email?: string }[] = [];
  for (let skip = 0; ; skip += PAGE) {
    const keys = className === 'Contact' ? ['name', 'email'] : ['name'];
    const rows = await new Parse.Query(className).select(...keys).ascending('objectId').skip(skip).limit(PAGE).find();
    out.push(...rows.map((r) => ({ id: r.id!, name: r.get('name') as string | undefined, email: r.get('email') as string | undefined })));
    if (rows.length < PAGE) return out;
  }
}

interface Report {
  imported: number;
  skipped: { line: number; reason: string }[];
  notes: { line: number; note: string }[];
}

export function ImportPage() {
  const type = new URLSearchParams(useSearch()).get('type');
  const className: ImportClass = type === 'Company' ? 'Company' : 'Contact';
  const fields = IMPORT_FIELDS[className];
  const [fileName, setFileName] = useState('');
  const [parsed, setParsed] = useState<ParsedCsv>();
  const [mapping, setMapping] = useState<Record<string, string>>({});
  const [keys, setKeys] = useState<Set<string>>(new Set());
  const [companies, setCompanies] = useState<Map<string, string>>(new Map());
  const [progress, setProgress] = useState<{ done: number; total: number }>();
  const [report, setReport] = useState<Report>();
  const [error, setError] = useState<string>();
  const online = useOnline();
  const uid = useId();

  const plan = useMemo(() => (parsed ? planImport(className, parsed, mapping, keys) : undefined), [className, parsed, mapping, keys]);

  const reset = () => { setParsed(undefined); setReport(undefined); setProgress(undefined); setFileName(''); setError(undefined); };

  const onFile = async (e: ChangeEvent<HTMLInputElement>) => {
    const file = e.target.files?.[0];
    reset();
    if (!file) return;
    try {
      const p = parseCsv(await file.text());
      if (p.headers.length === 0) throw new Error('The file has no header row.');
      const [records, companyRows] = await Promise.all([existing(className), className === 'Contact' ? existing('Company') : Promise.resolve([])]);
      setKeys(new Set(records.flatMap((r) => keysOf(className, r))));
      setCompanies(new Map(companyRows.map((c) => [(c.name ?? '').trim().toLowerCase(), c.id])));
      setMapping(guessMapping(p.headers, fields));
      setParsed(p);
      setFileName(file.name);
    } catch (err) {
      setError(`Cannot read ${file.name}: ${errorMessage(err)}`);
    }
  };

  const toObject = (row: PlannedRow, notes: Report['notes']): PObject => {
    const o = new Parse.Object(className);
    for (const [k, v] of Object.entries(row.values)) {
      if (k !== 'company') { o.set(k, v); continue; }
      const id = companies.get(v.toLowerCase());
      if (id) o.set('company', Parse.Object.fromJSON({ className: 'Company', objectId: id, __type: 'Pointer' }));
      else notes.push({ line: row.line, note: `company "${v}" not found; imported without a company` });
    }
    return o;
  };

  const run = async () => {
    if (!plan) return;
    const result: Report = { imported: 0, skipped: [...plan.skipped], notes: [] };
    setProgress({ done: 0, total: plan.create.length });
    setError(undefined);
    for (const batch of chunks(plan.create, BATCH)) {
      const objects = batch.map((r) => toObject(r, result.notes));
      try {
        // One /batch request per chunk (the SDK's saveAll).
        await Parse.Object.saveAll(objects, { batchSize: BATCH });
        result.imported += batch.length;
      } catch {
        // Some rows of the chunk were refused: the ones that were not saved are tried one by one, to report why.
        for (let i = 0; i < batch.length; i++) {
          if (objects[i].id) { result.imported++; continue; }
          try { await toObject(batch[i], []).save(); result.imported++; } catch (err) { result.skipped.push({ line: batch[i].line, reason: errorMessage(err) }); }
        }
      }
      setProgress((p) => ({ done: (p?.done ?? 0) + batch.length, total: plan.create.length }));
    }
    result.skipped.sort((a, b) => a.line - b.line);
    setReport(result);
    (result.skipped.length ? toast.error : toast.success)(`Imported ${result.imported} of ${parsed!.rows.length} rows; ${result.skipped.length} skipped.`);
  };

  const what = className === 'Contact' ? 'contacts' : 'companies';
  const status = new Map<number, string>();
  plan?.skipped.forEach((s) => status.set(s.line, `Skipped: ${s.reason}`));
  const preview = parsed?.rows.slice(0, 10) ?? [];

  return (
    <section className="import">
      <h1>Import {what}</h1>
      <p>
        Import into <select aria-label="Import into" value={className} onChange={(e) => { reset(); replaceQuery(`?type=${e.target.value}`); }}>
          <option value="Contact">Contacts</option><option value="Company">Companies</option>
        </select>{' '}
        from a CSV file with a header row. Rows are checked first: a missing name, an invalid email, or a {className === 'Contact' ? 'contact whose email (or, without one, name)' : 'company whose name'} is already known are skipped.
      </p>
      <label className="file">CSV file <input type="file" accept=".csv,text/csv" onChange={onFile} disabled={!!progress && !report} /></label>
      {error && <p className="error" role="alert">{error}</p>}
      {parsed && plan && (
        <>
          <h2>Columns</h2>
          <div className="mapping">
            {fields.map((f) => (
              <label key={f.name} htmlFor={`${uid}-${f.name}`}>{f.label}{f.required ? ' *' : ''}
                <select id={`${uid}-${f.name}`} value={mapping[f.name] ?? ''} onChange={(e) => setMapping({ ...mapping, [f.name]: e.target.value })} disabled={!!progress}>
                  <option value="">— not imported —</option>
                  {parsed.headers.map((h) => <option key={h} value={h}>{h}</option>)}
                </select>
              </label>
            ))}
          </div>
          <h2>Preview of {fileName}</h2>
          <p data-testid="import-summary">{parsed.rows.length} rows: <strong>{plan.create.length} to import</strong>, {plan.skipped.length} to skip.</p>
          <div className="table-wrap">
            <table className="preview">
              <thead><tr><th scope="col">Line</th>{fields.map((f) => <th key={f.name} scope="col">{f.label}</th>)}<th scope="col">Status</th></tr></thead>
              <tbody>
                {preview.map((row, i) => (
                  <tr key={i} className={status.has(i + 2) ? 'skipped' : ''}>
                    <td>{i + 2}</td>
                    {fields.map((f) => <td key={f.name} data-label={f.label}>{mapping[f.name] ? row[mapping[f.name]] ?? '' : ''}</td>)}
                    <td data-label="Status">{status.get(i + 2) ?? 'Will import'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {parsed.rows.length > preview.length && <p className="note">First {preview.length} of {parsed.rows.length} rows shown.</p>}
          {!progress && <button className="primary" onClick={run} disabled={!online || plan.create.length === 0}>Import {plan.create.length} {plan.create.length === 1 ? 'row' : 'rows'}</button>}
        </>
      )}
      {progress && (
        <div className="progress">
          <label htmlFor={`${uid}-progress`}>Imported {progress.done} of {progress.total}</label>
          <progress id={`${uid}-progress`} max={Math.max(progress.total, 1)} value={progress.done} />
        </div>
      )}
      {report && (
        <section className="report" aria-labelledby={`${uid}-report`}>
          <h2 id={`${uid}-report`}>Report</h2>
          <p data-testid="import-report">{report.imported} imported, {report.skipped.length} skipped.</p>
          {report.skipped.length > 0 && (
            <table data-testid="import-skipped"><thead><tr><th scope="col">Line</th><th scope="col">Why it was skipped</th></tr></thead>
              <tbody>{report.skipped.map((s) => <tr key={`${s.line}-${s.reason}`}><td>{s.line}</td><td>{s.reason}</td></tr>)}</tbody>
            </table>
          )}
          {report.notes.length > 0 && <ul className="notes">{report.notes.map((n) => <li key={`${n.line}-${n.note}`}>Line {n.line}: {n.note}</li>)}</ul>}
          <p><Link to={className === 'Contact' ? '/contacts' : '/companies'}>See the {what}</Link> · <button className="link" onClick={reset}>Import another file</button></p>
        </section>
      )}
    </section>
  );
}
