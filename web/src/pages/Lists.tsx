import { useState } from 'react';
import { type ClassName, json, list, type PObject } from '../api';
import { useLoad, useLive } from '../hooks';
import { formatDate, formatMoney, label } from '../lib/format';
import { dateOf, refOf } from '../lib/model';
import { errorMessage } from '../lib/offline';
import { Link, navigate } from '../router';
import { RecordForm, type FieldSpec, companyFields, contactFields, dealFields } from '../components/RecordForm';

interface ColumnSpec {
  key: string;
  title: string;
  sortable?: boolean;
  render: (o: PObject) => React.ReactNode;
}

interface ListConfig {
  className: ClassName;
  title: string;
  singular: string;
  path: string;
  searchField: string;
  defaultSort: string;
  include?: string[];
  columns: ColumnSpec[];
  fields: FieldSpec[];
}

const PAGE_SIZE = 20;

function text(o: PObject, key: string): string {
  const v = o.get(key) as unknown;
  return typeof v === 'string' ? v : '';
}

function refLink(o: PObject, key: string, base: string) {
  const r = refOf(json(o)[key]);
  return r ? <Link to={`${base}/${r.id}`}>{r.label ?? r.id}</Link> : '—';
}

function ListPage({ config }: { config: ListConfig }) {
  const [search, setSearch] = useState('');
  const [sort, setSort] = useState({ key: config.defaultSort, descending: false });
  const [page, setPage] = useState(0);
  const [creating, setCreating] = useState(false);
  const { data, error, loading, reload } = useLoad(
    () => list({ className: config.className, search, searchField: config.searchField, sort: sort.key, descending: sort.descending, page, pageSize: PAGE_SIZE, include: config.include }),
    [search, sort.key, sort.descending, page],
  );
  useLive((e) => { if (e.className === config.className) reload(); });

  const pages = data ? Math.max(1, Math.ceil(data.count / PAGE_SIZE)) : 1;
  const toggleSort = (key: string) => { setSort((s) => ({ key, descending: s.key === key ? !s.descending : false })); setPage(0); };

  return (
    <section className="list">
      <div className="heading">
        <h1>{config.title}</h1>
        <button onClick={() => setCreating(!creating)} aria-expanded={creating}>New {config.singular.toLowerCase()}</button>
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
          <input type="search" value={search} onChange={(e) => { setSearch(e.target.value); setPage(0); }} />
        </label>
      </form>
      {data?.fromDevice && <p className="note">Showing {config.title.toLowerCase()} saved on this device.</p>}
      {error !== undefined && <p className="error" role="alert">{errorMessage(error)}</p>}
      <div className="table-wrap">
        <table aria-busy={loading}>
          <thead>
            <tr>
              {config.columns.map((c) => (
                <th key={c.key} scope="col" aria-sort={sort.key === c.key ? (sort.descending ? 'descending' : 'ascending') : undefined}>
                  {c.sortable ? <button className="link" onClick={() => toggleSort(c.key)}>{c.title}{sort.key === c.key ? (sort.descending ? ' ▼' : ' ▲') : ''}</button> : c.title}
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
        <button disabled={page === 0} onClick={() => setPage(page - 1)}>Previous</button>
        <span>Page {page + 1} of {pages}{data ? ` · ${data.count} total` : ''}</span>
        <button disabled={page + 1 >= pages} onClick={() => setPage(page + 1)}>Next</button>
      </nav>
    </section>
  );
}

const companies: ListConfig = {
  className: 'Company', title: 'Companies', singular: 'Company', path: '/companies', searchField: 'name', defaultSort: 'name',
  fields: companyFields,
  columns: [
    { key: 'name', title: 'Name', sortable: true, render: (o) => <Link to={`/companies/${o.id}`}>{text(o, 'name')}</Link> },
    { key: 'industry', title: 'Industry', sortable: true, render: (o) => text(o, 'industry') },
    { key: 'website', title: 'Website', render: (o) => text(o, 'website') },
    { key: 'updatedAt', title: 'Updated', sortable: true, render: (o) => formatDate(o.updatedAt?.toISOString()) },
  ],
};

const contacts: ListConfig = {
  className: 'Contact', title: 'Contacts', singular: 'Contact', path: '/contacts', searchField: 'name', defaultSort: 'name', include: ['company'],
  fields: contactFields,
  columns: [
    { key: 'name', title: 'Name', sortable: true, render: (o) => <Link to={`/contacts/${o.id}`}>{text(o, 'name')}</Link> },
    { key: 'email', title: 'Email', sortable: true, render: (o) => text(o, 'email') },
    { key: 'phone', title: 'Phone', render: (o) => text(o, 'phone') },
    { key: 'company', title: 'Company', render: (o) => refLink(o, 'company', '/companies') },
  ],
};

const deals: ListConfig = {
  className: 'Deal', title: 'Deals', singular: 'Deal', path: '/deals', searchField: 'title', defaultSort: 'expectedCloseDate', include: ['company'],
  fields: dealFields,
  columns: [
    { key: 'title', title: 'Title', sortable: true, render: (o) => <Link to={`/deals/${o.id}`}>{text(o, 'title')}</Link> },
    { key: 'stage', title: 'Stage', sortable: true, render: (o) => label(text(o, 'stage')) },
    { key: 'amount', title: 'Amount', sortable: true, render: (o) => formatMoney(Number(o.get('amount') ?? 0)) },
    { key: 'company', title: 'Company', render: (o) => refLink(o, 'company', '/companies') },
    { key: 'expectedCloseDate', title: 'Closes', sortable: true, render: (o) => formatDate(dateOf(json(o).expectedCloseDate)) },
  ],
};

export const CompaniesPage = () => <ListPage config={companies} />;
export const ContactsPage = () => <ListPage config={contacts} />;
export const DealsPage = () => <ListPage config={deals} />;
