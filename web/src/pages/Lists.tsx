import { useEffect, useRef, useState } from 'react';
import { type ClassName, json, list, type ListRequest, type PObject } from '../api';
import { RecordForm, type FieldSpec, companyFields, contactFields, dealFields } from '../components/RecordForm';
import { toast } from '../components/Toasts';
import { useLoad, useLive } from '../hooks';
import { toCsv } from '../lib/csv';
import { isDealOverdue } from '../lib/forecast';
import { formatDate, formatMoney, label } from '../lib/format';
import { dateOf, dealFromJson, refOf } from '../lib/model';
import { errorMessage } from '../lib/offline';
import { readListState, writeListState } from '../lib/url';
import { Link, navigate, replaceQuery, useSearch } from '../router';

interface ColumnSpec {
  key: string;
  title: string;
  sortable?: boolean;
  render: (o: PObject) => React.ReactNode;
  /** The value in a CSV export (plain text, full precision). */
  csv: (o: PObject) => string | number | undefined;
}

interface ListConfig {
  className: ClassName;
  title: string;
  singular: string;
  path: string;
  searchField: string;
  searchRelated?: ListRequest['searchRelated'];
  searchHint: string;
  defaultSort: string;
  include?: string[];
  columns: ColumnSpec[];
  fields: FieldSpec[];
  importable?: boolean;
}

const PAGE_SIZE = 20;
const EXPORT_PAGE = 1000;

function text(o: PObject, key: string): string {
  const v = o.get(key) as unknown;
  return typeof v === 'string' ? v : '';
}

function refLink(o: PObject, key: string, base: string) {
  const r = refOf(json(o)[key]);
  return r ? <Link to={`${base}/${r.id}`}>{r.label ?? r.id}</Link> : '—';
}

const refLabel = (o: PObject, key: string) => refOf(json(o)[key])?.label ?? '';
const isoDate = (o: PObject, key: string) => dateOf(json(o)[key])?.slice(0, 10) ?? '';

/** Downloads text as a file (the browser's save dialog or downloads bar). */
function download(name: string, text: string) {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function ListPage({ config }: { config: ListConfig }) {
  const search = useSearch();
  const state = readListState(search, config.defaultSort);
  // The box updates at once; the address (and the query) follow it.
  const [typed, setTyped] = useState(state.q);
  const [creating, setCreating] = useState(false);
  const [exporting, setExporting] = useState(false);
  const setState = (next: Partial<typeof state>) => replaceQuery(writeListState({ ...state, ...next }, config.defaultSort));
  useEffect(() => { setTyped(state.q); }, [state.q]);
  // The address (and the query, a $regex the server runs only a few of at once per caller) follow 300 ms after the last keystroke.
  const pending = useRef<number | undefined>(undefined);
  useEffect(() => () => window.clearTimeout(pending.current), []);
  const onType = (value: string) => {
    setTyped(value);
    window.clearTimeout(pending.current);
    pending.current = window.setTimeout(() => replaceQuery(writeListState({ ...readListState(window.location.search, config.defaultSort), q: value, page: 0 }, config.defaultSort)), 300);
  };

  const request = (page: number, pageSize: number): ListRequest => ({
    className: config.className, search: state.q, searchField: config.searchField, searchRelated: config.searchRelated,
    sort: state.sort, descending: state.descending, page, pageSize, include: config.include,
  });
  const { data, error, loading, reload } = useLoad(() => list(request(state.page, PAGE_SIZE)), [state.q, state.sort, state.descending, state.page]);
  useLive((e) => { if (e.className === config.className) reload(); });

  const pages = data ? Math.max(1, Math.ceil(data.count / PAGE_SIZE)) : 1;
  const toggleSort = (key: string) => setState({ sort: key, descending: state.sort === key ? !state.descending : false, page: 0 });

  const exportCsv = async () => {
    setExporting(true);
    try {
      const rows: PObject[] = [];
      for (let page = 0; ; page++) {
        const r = await list(request(page, EXPORT_PAGE));
        rows.push(...r.rows);
        if (r.rows.length < EXPORT_PAGE || r.fromDevice) break;
      }
      download(`${config.path.slice(1)}.csv`, toCsv(config.columns.map((c) => c.title), rows.map((o) => config.columns.map((c) => c.csv(o)))));
      toast.success(`Exported ${rows.length} ${rows.length === 1 ? config.singular.toLowerCase() : config.title.toLowerCase()}.`);
    } catch (e) {
      toast.error(`Export failed: ${errorMessage(e)}`);
    } finally {
      setExporting(false);
    }
  };

  return (
    <section className="list">
      <div className="heading">
        <h1>{config.title}</h1>
        <div className="actions">
          {config.importable && <Link className="button" to={`/import?type=${config.className}`}>Import CSV</Link>}
          <button className="secondary" onClick={exportCsv} disabled={exporting}>Export CSV</button>
          <button className="primary" onClick={() => setCreating(!creating)} aria-expanded={creating}>New {config.singular.toLowerCase()}</button>
        </div>
      </div>
      {creating && (
        <RecordForm
          title={`New ${config.singular.toLowerCase()}`}
          className={config.className}
          fields={config.fields}
          onSaved={(o) => (o.id ? navigate(`${config.path}/${o.id}`) : setCreating(false))}
          onCancel={() => setCreating(false)}
        />
      )}
      <form role="search" className="filters" onSubmit={(e) => e.preventDefault()}>
        <label>Search {config.title.toLowerCase()}
          <input type="search" value={typed} placeholder={config.searchHint} onChange={(e) => onType(e.target.value)} />
        </label>
      </form>
      {data?.fromDevice && <p className="note">Showing {config.title.toLowerCase()} saved on this device.</p>}
      {error !== undefined && <p className="error" role="alert">{errorMessage(error)}</p>}
      <div className="table-wrap">
        <table aria-busy={loading}>
          <thead>
            <tr>
              {config.columns.map((c) => (
                <th key={c.key} scope="col" aria-sort={state.sort === c.key ? (state.descending ? 'descending' : 'ascending') : undefined}>
                  {c.sortable ? <button className="link" onClick={() => toggleSort(c.key)}>{c.title}{state.sort === c.key ? (state.descending ? ' ▼' : ' ▲') : ''}</button> : c.title}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {data?.rows.map((o) => (
              <tr key={o.id}>{config.columns.map((c) => <td key={c.key} data-label={c.title}>{c.render(o)}</td>)}</tr>
            ))}
            {data && data.rows.length === 0 && <tr><td colSpan={config.columns.length}>Nothing found.</td></tr>}
          </tbody>
        </table>
      </div>
      <nav className="pager" aria-label="Pages">
        <button disabled={state.page === 0} onClick={() => setState({ page: state.page - 1 })}>Previous</button>
        <span>Page {state.page + 1} of {pages}{data ? ` · ${data.count} total` : ''}</span>
        <button disabled={state.page + 1 >= pages} onClick={() => setState({ page: state.page + 1 })}>Next</button>
      </nav>
    </section>
  );
}

const companies: ListConfig = {
  className: 'Company', title: 'Companies', singular: 'Company', path: '/companies', searchField: 'name', defaultSort: 'name', importable: true,
  searchHint: 'Name', fields: companyFields,
  columns: [
    { key: 'name', title: 'Name', sortable: true, render: (o) => <Link to={`/companies/${o.id}`}>{text(o, 'name')}</Link>, csv: (o) => text(o, 'name') },
    { key: 'industry', title: 'Industry', sortable: true, render: (o) => text(o, 'industry'), csv: (o) => text(o, 'industry') },
    { key: 'website', title: 'Website', render: (o) => text(o, 'website'), csv: (o) => text(o, 'website') },
    { key: 'address', title: 'Address', render: (o) => text(o, 'address'), csv: (o) => text(o, 'address') },
    { key: 'updatedAt', title: 'Updated', sortable: true, render: (o) => <time>{formatDate(o.updatedAt?.toISOString())}</time>, csv: (o) => o.updatedAt?.toISOString() },
  ],
};

const contacts: ListConfig = {
  className: 'Contact', title: 'Contacts', singular: 'Contact', path: '/contacts', searchField: 'name', defaultSort: 'name', include: ['company'], importable: true,
  searchRelated: [{ field: 'company', className: 'Company', searchField: 'name' }],
  searchHint: 'Name or company', fields: contactFields,
  columns: [
    { key: 'name', title: 'Name', sortable: true, render: (o) => <Link to={`/contacts/${o.id}`}>{text(o, 'name')}</Link>, csv: (o) => text(o, 'name') },
    { key: 'email', title: 'Email', sortable: true, render: (o) => text(o, 'email'), csv: (o) => text(o, 'email') },
    { key: 'phone', title: 'Phone', render: (o) => text(o, 'phone'), csv: (o) => text(o, 'phone') },
    { key: 'company', title: 'Company', render: (o) => refLink(o, 'company', '/companies'), csv: (o) => refLabel(o, 'company') },
  ],
};

const deals: ListConfig = {
  className: 'Deal', title: 'Deals', singular: 'Deal', path: '/deals', searchField: 'title', defaultSort: 'expectedCloseDate', include: ['company', 'contact'],
  searchRelated: [{ field: 'company', className: 'Company', searchField: 'name' }, { field: 'contact', className: 'Contact', searchField: 'name' }],
  searchHint: 'Title, company or contact', fields: dealFields,
  columns: [
    { key: 'title', title: 'Title', sortable: true, render: (o) => <Link to={`/deals/${o.id}`}>{text(o, 'title')}</Link>, csv: (o) => text(o, 'title') },
    { key: 'stage', title: 'Stage', sortable: true, render: (o) => label(text(o, 'stage')), csv: (o) => text(o, 'stage') },
    { key: 'amount', title: 'Amount', sortable: true, render: (o) => formatMoney(Number(o.get('amount') ?? 0)), csv: (o) => Number(o.get('amount') ?? 0) },
    { key: 'company', title: 'Company', render: (o) => refLink(o, 'company', '/companies'), csv: (o) => refLabel(o, 'company') },
    { key: 'contact', title: 'Contact', render: (o) => refLink(o, 'contact', '/contacts'), csv: (o) => refLabel(o, 'contact') },
    // Not included: an included owner this user cannot read would come back as null; the pointer says there is one.
    { key: 'assignedTo', title: 'Owner', render: (o) => (refOf(json(o).assignedTo) ? refLabel(o, 'assignedTo') || 'A colleague' : '—'), csv: (o) => refOf(json(o).assignedTo)?.id },
    {
      key: 'expectedCloseDate', title: 'Closes', sortable: true, csv: (o) => isoDate(o, 'expectedCloseDate'),
      render: (o) => { const overdue = isDealOverdue(dealFromJson(json(o))); return <><time className={overdue ? 'overdue' : ''}>{formatDate(dateOf(json(o).expectedCloseDate))}</time>{overdue && <span className="flag overdue">Overdue</span>}</>; },
    },
  ],
};

export const CompaniesPage = () => <ListPage config={companies} />;
export const ContactsPage = () => <ListPage config={contacts} />;
export const DealsPage = () => <ListPage config={deals} />;
