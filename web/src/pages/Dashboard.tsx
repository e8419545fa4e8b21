import { useRef } from 'react';
import { currentUser, json, list, pipelineDeals, pipelineSummary, recentActivities } from '../api';
import { useLive, useLoad } from '../hooks';
import { isOverdue, openByDueDate } from '../lib/activities';
import { stageValues, type StageValue, upcomingCloses, wonLostThisMonth } from '../lib/dashboard';
import { byOwner, forecastOf, type MonthTrend, overdueDeals, wonLostTrend } from '../lib/forecast';
import { formatDate, formatMoney, formatMonth, label } from '../lib/format';
import { activityFromJson } from '../lib/model';
import { errorMessage } from '../lib/offline';
import { Link } from '../router';

const DUE_WINDOW_DAYS = 3;

/** My open activities that are overdue or due in the next few days. */
async function activitiesDue() {
  const until = new Date(Date.now() + DUE_WINDOW_DAYS * 86_400_000);
  const r = await list({
    className: 'Activity', searchField: 'subject', sort: 'dueDate', descending: false, page: 0, pageSize: 50, include: ['relatedTo'],
    where: (q) => { q.equalTo('createdBy', currentUser()).doesNotExist('completedAt').lessThan('dueDate', until); },
  });
  return openByDueDate(r.rows.map((o) => activityFromJson(json(o))));
}

async function loadDashboard() {
  const [summary, deals, activities, due] = await Promise.all([pipelineSummary(), pipelineDeals(), recentActivities(10), activitiesDue()]);
  return { summary, values: stageValues(summary), deals: deals.deals, activities, due };
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
  const forecast = forecastOf(data.summary, data.deals);
  const trend = wonLostTrend(data.deals);
  const overdue = overdueDeals(data.deals);
  const owners = byOwner(data.deals, forecast.probabilities);
  const openPipeline = data.values.filter((v) => v.stage !== 'won' && v.stage !== 'lost').reduce((s, v) => s + v.amount, 0);
  return (
    <section className="dashboard">
      <h1>Dashboard</h1>
      <div className="cards">
        <div className="stat won"><h2>Won this month</h2><p data-testid="won-month">{won.count} · {formatMoney(won.amount)}</p></div>
        <div className="stat lost"><h2>Lost this month</h2><p data-testid="lost-month">{lost.count} · {formatMoney(lost.amount)}</p></div>
        <div className="stat"><h2>Open pipeline</h2><p data-testid="open-pipeline">{formatMoney(openPipeline)}</p></div>
        <div className="stat forecast">
          <h2>Forecast (weighted)</h2>
          <p data-testid="forecast">{formatMoney(forecast.weighted)}</p>
          <small title={Object.entries(forecast.probabilities).map(([s, p]) => `${label(s)} ${Math.round(p * 100)}%`).join(', ')}>
            open deals × stage probability
          </small>
        </div>
        <div className={`stat ${overdue.length ? 'alert' : ''}`}><h2>Overdue deals</h2><p data-testid="overdue-count">{overdue.length}</p></div>
        <div className={`stat ${data.due.some((a) => isOverdue(a)) ? 'alert' : ''}`}><h2>My activities due</h2><p data-testid="due-count">{data.due.length}</p></div>
      </div>
      <div className="panels">
        <section className="panel chart-panel">
          <h2 id="chart-title">Pipeline value by stage</h2>
          <StageChart values={data.values} />
        </section>
        <section className="panel chart-panel">
          <h2 id="trend-title">Won and lost by month</h2>
          <TrendChart trend={trend} />
        </section>
        <section className="panel">
          <h2>Overdue deals</h2>
          {overdue.length === 0 ? <p>No open deal is past its close date.</p> : (
            <ul className="related-list" data-testid="overdue-deals">{overdue.slice(0, 8).map((d) => <li key={d.id}><Link to={`/deals/${d.id}`}>{d.title}</Link> · <time className="overdue">{formatDate(d.expectedCloseDate)}</time> · {formatMoney(d.amount)}</li>)}</ul>
          )}
        </section>
        <section className="panel">
          <h2>My activities due</h2>
          {data.due.length === 0 ? <p>Nothing due in the next {DUE_WINDOW_DAYS} days.</p> : (
            <ul className="related-list" data-testid="due-activities">
              {data.due.slice(0, 8).map((a) => (
                <li key={a.id} className={isOverdue(a) ? 'overdue' : ''}>
                  <Link to={`/activities/${a.id}`}>{a.subject || label(a.type)}</Link> · <time>{formatDate(a.dueDate)}</time>{isOverdue(a) && <span className="flag overdue">Overdue</span>}
                </li>
              ))}
            </ul>
          )}
          <p><Link to="/activities?status=overdue">All overdue activities</Link></p>
        </section>
        <section className="panel">
          <h2>Upcoming close dates</h2>
          {upcoming.length === 0 ? <p>No open deals closing soon.</p> : (
            <ul className="related-list">{upcoming.map((d) => <li key={d.id}><Link to={`/deals/${d.id}`}>{d.title}</Link> · <time>{formatDate(d.expectedCloseDate)}</time> · {formatMoney(d.amount)}</li>)}</ul>
          )}
        </section>
        {owners.length > 1 && (
          <section className="panel" aria-labelledby="owners-title">
            <h2 id="owners-title">By owner</h2>
            <div className="table-wrap"><table className="owners" data-testid="by-owner">
              <thead><tr><th scope="col">Owner</th><th scope="col">Open deals</th><th scope="col">Open value</th><th scope="col">Weighted</th><th scope="col">Won</th></tr></thead>
              <tbody>{owners.map((o) => <tr key={o.ownerId}><td>{o.owner}</td><td>{o.openCount}</td><td>{formatMoney(o.openAmount)}</td><td>{formatMoney(o.weighted)}</td><td>{formatMoney(o.wonAmount)}</td></tr>)}</tbody>
            </table></div>
          </section>
        )}
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

/** Paired columns per month (won up, lost beside it), with the same numbers in a table for screen readers. */
function TrendChart({ trend }: { trend: MonthTrend[] }) {
  const max = Math.max(1, ...trend.flatMap((t) => [t.won.amount, t.lost.amount]));
  const colW = 64, h = 120, width = trend.length * colW + 8;
  return (
    <figure>
      <svg viewBox={`0 0 ${width} ${h + 36}`} role="img" aria-labelledby="trend-title" className="chart trend" data-testid="trend-chart">
        {trend.map((t, i) => {
          const wonH = Math.round((t.won.amount / max) * h), lostH = Math.round((t.lost.amount / max) * h);
          return (
            <g key={`${t.year}-${t.month}`} transform={`translate(${i * colW + 8} 0)`}>
              <rect x={4} y={h - wonH} width={22} height={Math.max(wonH, 1)} className="bar won" rx={2} />
              <rect x={28} y={h - lostH} width={22} height={Math.max(lostH, 1)} className="bar lost" rx={2} />
              <text x={27} y={h + 16} textAnchor="middle" className="axis">{formatMonth(t.year, t.month)}</text>
              <text x={27} y={h + 31} textAnchor="middle" className="value">{t.won.count}/{t.lost.count}</text>
            </g>
          );
        })}
      </svg>
      <figcaption className="sr-only">
        <table><thead><tr><th>Month</th><th>Won</th><th>Won value</th><th>Lost</th><th>Lost value</th></tr></thead>
          <tbody>{trend.map((t) => <tr key={`${t.year}-${t.month}`}><td>{formatMonth(t.year, t.month)}</td><td>{t.won.count}</td><td>{formatMoney(t.won.amount)}</td><td>{t.lost.count}</td><td>{formatMoney(t.lost.amount)}</td></tr>)}</tbody>
        </table>
      </figcaption>
    </figure>
  );
}
