import { useEffect, useState } from 'react';
import { json, Parse, type PObject } from '../api';
import { formatDate, formatMoney, label } from '../lib/format';
import { activityFromJson, dealFromJson, refOf } from '../lib/model';
import { errorMessage } from '../lib/offline';
import { Link, useSearch } from '../router';

const PER_CLASS = 10;

function escapeRegex(s: string) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

type Results = { deals?: PObject[]; contacts?: PObject[]; companies?: PObject[]; activities?: PObject[] };

/**
 * One search over deals, contacts, companies and activities: case-insensitive matches on each class's
 * name fields, and deals also by their company's or contact's name. One class after another, each shown as
 * it arrives: the server runs only a couple of $regex queries per caller at once (Parse:Limits:MaxExpensivePerCaller)
 * and answers 429 to the rest, so firing all four together could lose some.
 */
function searches(term: string): [keyof Results, () => Promise<PObject[]>][] {
  const re = new RegExp(escapeRegex(term), 'i');
  const q = (className: string, field: string) => new Parse.Query(className).matches(field, re);
  return [
    ['deals', () => Parse.Query.or(q('Deal', 'title'), new Parse.Query('Deal').matchesQuery('company', q('Company', 'name')), new Parse.Query('Deal').matchesQuery('contact', q('Contact', 'name')))
      .include('company').include('contact').limit(PER_CLASS).descending('updatedAt').find()],
    ['contacts', () => Parse.Query.or(q('Contact', 'name'), q('Contact', 'email')).include('company').limit(PER_CLASS).ascending('name').find()],
    ['companies', () => Parse.Query.or(q('Company', 'name'), q('Company', 'industry')).limit(PER_CLASS).ascending('name').find()],
    ['activities', () => Parse.Query.or(q('Activity', 'subject'), q('Activity', 'description')).include('relatedTo').limit(PER_CLASS).descending('updatedAt').find()],
  ];
}

export function SearchPage() {
  const term = new URLSearchParams(useSearch()).get('q')?.trim() ?? '';
  const [data, setData] = useState<Results>({});
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState(false);
  useEffect(() => {
    let cancelled = false;
    setData({}); setError(undefined); setDone(false);
    if (!term) return;
    void (async () => {
      try {
        for (const [key, run] of searches(term)) {
          const rows = await run();
          if (cancelled) return;
          setData((d) => ({ ...d, [key]: rows }));
        }
        if (!cancelled) setDone(true);
      } catch (e) {
        if (!cancelled) setError(e);
      }
    })();
    return () => { cancelled = true; };
  }, [term]);
  const total = (data.deals?.length ?? 0) + (data.contacts?.length ?? 0) + (data.companies?.length ?? 0) + (data.activities?.length ?? 0);
  return (
    <section className="search-results">
      <h1>Search{term ? `: “${term}”` : ''}</h1>
      {!term && <p>Type in the search box at the top to find deals, contacts, companies and activities.</p>}
      {error !== undefined && <p className="error" role="alert">{errorMessage(error)}</p>}
      {term && <p role="status">{!done ? 'Searching…' : total === 0 ? 'Nothing found.' : `${total} found.`}</p>}
      {term && (
        <div className="panels">
          <Group title="Deals" testId="results-deals" items={data.deals?.map((o) => { const d = dealFromJson(json(o)); return (
            <li key={d.id}><Link to={`/deals/${d.id}`}>{d.title}</Link> · {label(d.stage)} · {formatMoney(d.amount)}{d.company?.label ? ` · ${d.company.label}` : ''}{d.contact?.label ? ` · ${d.contact.label}` : ''}</li>
          ); })} />
          <Group title="Contacts" testId="results-contacts" items={data.contacts?.map((o) => (
            <li key={o.id}><Link to={`/contacts/${o.id}`}>{String(o.get('name') ?? '')}</Link>{o.get('email') ? ` · ${String(o.get('email'))}` : ''}{refOf(json(o).company)?.label ? ` · ${refOf(json(o).company)!.label}` : ''}</li>
          ))} />
          <Group title="Companies" testId="results-companies" items={data.companies?.map((o) => (
            <li key={o.id}><Link to={`/companies/${o.id}`}>{String(o.get('name') ?? '')}</Link>{o.get('industry') ? ` · ${String(o.get('industry'))}` : ''}</li>
          ))} />
          <Group title="Activities" testId="results-activities" items={data.activities?.map((o) => { const a = activityFromJson(json(o)); return (
            <li key={a.id}><Link to={`/activities/${a.id}`}>{a.subject || label(a.type)}</Link> · {label(a.type)}{a.dueDate ? <> · <time>{formatDate(a.dueDate)}</time></> : ''}{a.relatedTo?.label ? ` · ${a.relatedTo.label}` : ''}</li>
          ); })} />
        </div>
      )}
    </section>
  );
}

function Group({ title, items, testId }: { title: string; items?: React.ReactNode[]; testId: string }) {
  return (
    <section className="panel" aria-label={title} aria-busy={!items}>
      <h2>{title}{items && <span className="count"> ({items.length}{items.length === PER_CLASS ? '+' : ''})</span>}</h2>
      {!items ? <p>Searching…</p> : items.length === 0 ? <p>None.</p> : <ul className="related-list" data-testid={testId}>{items}</ul>}
    </section>
  );
}
