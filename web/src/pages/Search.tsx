import { json, Parse } from '../api';
import { useLoad } from '../hooks';
import { formatDate, formatMoney, label } from '../lib/format';
import { activityFromJson, dealFromJson, refOf } from '../lib/model';
import { errorMessage } from '../lib/offline';
import { Link, useSearch } from '../router';

const PER_CLASS = 10;

function escapeRegex(s: string) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * One search over deals, contacts, companies and activities: case-insensitive matches on each class's
 * name fields, and deals also by their company's or contact's name.
 */
async function searchAll(term: string) {
  const re = new RegExp(escapeRegex(term), 'i');
  const q = (className: string, field: string) => new Parse.Query(className).matches(field, re);
  // One class after another: the server runs only a couple of $regex queries per caller at once
  // (Parse:Limits:MaxExpensivePerCaller) and answers 429 to the rest, so firing all four together could lose some.
  const deals = await Parse.Query.or(q('Deal', 'title'), new Parse.Query('Deal').matchesQuery('company', q('Company', 'name')), new Parse.Query('Deal').matchesQuery('contact', q('Contact', 'name')))
    .include('company').include('contact').limit(PER_CLASS).descending('updatedAt').find();
  const contacts = await Parse.Query.or(q('Contact', 'name'), q('Contact', 'email')).include('company').limit(PER_CLASS).ascending('name').find();
  const companies = await Parse.Query.or(q('Company', 'name'), q('Company', 'industry')).limit(PER_CLASS).ascending('name').find();
  const activities = await Parse.Query.or(q('Activity', 'subject'), q('Activity', 'description')).include('relatedTo').limit(PER_CLASS).descending('updatedAt').find();
  return { deals, contacts, companies, activities };
}

export function SearchPage() {
  const term = new URLSearchParams(useSearch()).get('q')?.trim() ?? '';
  const { data, error, loading } = useLoad(async () => (term ? searchAll(term) : undefined), [term]);
  const total = data ? data.deals.length + data.contacts.length + data.companies.length + data.activities.length : 0;
  return (
    <section className="search-results">
      <h1>Search{term ? `: “${term}”` : ''}</h1>
      {!term && <p>Type in the search box at the top to find deals, contacts, companies and activities.</p>}
      {error !== undefined && <p className="error" role="alert">{errorMessage(error)}</p>}
      {loading && term && !data && <p>Searching…</p>}
      {data && <p role="status">{total === 0 ? 'Nothing found.' : `${total} found.`}</p>}
      {data && (
        <div className="panels">
          <Group title="Deals" testId="results-deals" items={data.deals.map((o) => { const d = dealFromJson(json(o)); return (
            <li key={d.id}><Link to={`/deals/${d.id}`}>{d.title}</Link> · {label(d.stage)} · {formatMoney(d.amount)}{d.company?.label ? ` · ${d.company.label}` : ''}{d.contact?.label ? ` · ${d.contact.label}` : ''}</li>
          ); })} />
          <Group title="Contacts" testId="results-contacts" items={data.contacts.map((o) => (
            <li key={o.id}><Link to={`/contacts/${o.id}`}>{String(o.get('name') ?? '')}</Link>{o.get('email') ? ` · ${String(o.get('email'))}` : ''}{refOf(json(o).company)?.label ? ` · ${refOf(json(o).company)!.label}` : ''}</li>
          ))} />
          <Group title="Companies" testId="results-companies" items={data.companies.map((o) => (
            <li key={o.id}><Link to={`/companies/${o.id}`}>{String(o.get('name') ?? '')}</Link>{o.get('industry') ? ` · ${String(o.get('industry'))}` : ''}</li>
          ))} />
          <Group title="Activities" testId="results-activities" items={data.activities.map((o) => { const a = activityFromJson(json(o)); return (
            <li key={a.id}><Link to={`/activities/${a.id}`}>{a.subject || label(a.type)}</Link> · {label(a.type)}{a.dueDate ? <> · <time>{formatDate(a.dueDate)}</time></> : ''}{a.relatedTo?.label ? ` · ${a.relatedTo.label}` : ''}</li>
          ); })} />
        </div>
      )}
    </section>
  );
}

function Group({ title, items, testId }: { title: string; items: React.ReactNode[]; testId: string }) {
  return (
    <section className="panel" aria-label={title}>
      <h2>{title} <span className="count">({items.length}{items.length === PER_CLASS ? '+' : ''})</span></h2>
      {items.length === 0 ? <p>None.</p> : <ul className="related-list" data-testid={testId}>{items}</ul>}
    </section>
  );
}
