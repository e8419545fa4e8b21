import { useRef } from 'react';
import { pipelineDeals, pipelineSummary, recentActivities } from '../api';
import { useLive, useLoad } from '../hooks';
import { stageValues, type StageValue, upcomingCloses, wonLostThisMonth } from '../lib/dashboard';
import { formatDate, formatMoney, label } from '../lib/format';
import { errorMessage } from '../lib/offline';
import { Link } from '../router';

async function loadDashboard() {
  const [summary, deals, activities] = await Promise.all([pipelineSummary(), pipelineDeals(), recentActivities(10)]);
  return { values: stageValues(summary), deals: deals.deals, activities };
}

export function DashboardPage() {
  const { data, error, reload } = useLoad(loadDashboard, []);
  const timer = useRef<number | undefined>(undefined);
  useLive(() => {
    window.clearTimeout(timer.current);
    timer.current = window.setTimeout(reload, 250);
  });

  if (error !== undefined && !data) return <section><h1>Dashboard</h1><p className="error" role="alert">{errorMessage(error)}</p></section>;
  if (!data) return <section><h1>Dashboard</h1><p>Loading…</p></section>;
  const { won, lost } = wonLostThisMonth(data.deals);
  const upcoming = upcomingCloses(data.deals);
  return (
    <section className="dashboard">
      <h1>Dashboard</h1>
      <div className="cards">
        <div className="stat won"><h2>Won this month</h2><p data-testid="won-month">{won.count} · {formatMoney(won.amount)}</p></div>
        <div className="stat lost"><h2>Lost this month</h2><p data-testid="lost-month">{lost.count} · {formatMoney(lost.amount)}</p></div>
        <div className="stat"><h2>Open pipeline</h2><p>{formatMoney(data.values.filter((v) => v.stage !== 'won' && v.stage !== 'lost').reduce((s, v) => s + v.amount, 0))}</p></div>
      </div>
      <div className="panels">
        <section className="panel chart-panel">
          <h2 id="chart-title">Pipeline value by stage</h2>
          <StageChart values={data.values} />
        </section>
        <section className="panel">
          <h2>Upcoming close dates</h2>
          {upcoming.length === 0 ? <p>No open deals closing soon.</p> : (
            <ul className="related-list">{upcoming.map((d) => <li key={d.id}><Link to={`/deals/${d.id}`}>{d.title}</Link> · {formatDate(d.expectedCloseDate)} · {formatMoney(d.amount)}</li>)}</ul>
          )}
        </section>
        <section className="panel">
          <h2>Recent activity</h2>
          {data.activities.length === 0 ? <p>No activity yet.</p> : (
            <ul className="feed" aria-live="polite">
              {data.activities.map((a) => (
                <li key={a.id}>
                  <span className={`badge ${a.type}`}>{label(a.type)}</span> {a.subject || '(no subject)'}
                  {a.relatedTo && <> · <Link to={`/${a.relatedTo.className === 'Deal' ? 'deals' : 'contacts'}/${a.relatedTo.id}`}>{a.relatedTo.label ?? a.relatedTo.className}</Link></>}
                  {a.completedAt ? ' · done' : ''}
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>
      <p className="schema-links">Schema: <a href="/docs/erd">diagram</a> · <a href="/docs/dictionary">data dictionary</a> · <a href="/docs/playground">API playground</a></p>
    </section>
  );
}

/** Horizontal bars, one per stage; the table underneath carries the same numbers for screen readers. */
function StageChart({ values }: { values: StageValue[] }) {
  const max = Math.max(1, ...values.map((v) => v.amount));
  const rowH = 28, labelW = 96, width = 420, barW = width - labelW - 90;
  return (
    <figure>
      <svg viewBox={`0 0 ${width} ${values.length * rowH + 4}`} role="img" aria-labelledby="chart-title" className="chart">
        {values.map((v, i) => {
          const w = Math.round((v.amount / max) * barW);
          return (
            <g key={v.stage} transform={`translate(0 ${i * rowH + 2})`}>
              <text x={0} y={18} className="axis">{label(v.stage)}</text>
              <rect x={labelW} y={4} width={Math.max(w, 1)} height={rowH - 10} className={`bar ${v.stage}`} rx={3} />
              <text x={labelW + w + 6} y={18} className="value">{formatMoney(v.amount)} ({v.count})</text>
            </g>
          );
        })}
      </svg>
      <figcaption className="sr-only">
        <table><thead><tr><th>Stage</th><th>Deals</th><th>Value</th></tr></thead>
          <tbody>{values.map((v) => <tr key={v.stage}><td>{label(v.stage)}</td><td>{v.count}</td><td>{formatMoney(v.amount)}</td></tr>)}</tbody>
        </table>
      </figcaption>
    </figure>
  );
}
