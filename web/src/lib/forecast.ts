// Dashboard signals computed from the deals a user can see, and the server's pipelineSummary when it
// already carries them (forecast, trend, per owner): the server's numbers win, these fill the gaps.
import { type DealView, OPEN_STAGES, type Stage, STAGES } from './model';

/** How likely a deal in each stage is to be won (the template's defaults; pipelineSummary may send its own). */
export const STAGE_PROBABILITY: Record<Stage, number> = { lead: 0.1, qualified: 0.25, proposal: 0.5, negotiation: 0.75, won: 1, lost: 0 };

export interface Forecast {
  /** Sum over open deals of amount × stage probability. */
  weighted: number;
  /** Sum of open deals' amounts. */
  open: number;
  probabilities: Record<Stage, number>;
  /** Where the numbers came from: the server's pipelineSummary or this computation. */
  source: 'server' | 'client';
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** Stage probabilities from the summary (a map stage → 0..1, or per-stage rows with probability), else the defaults. */
export function probabilitiesOf(summary: unknown): Record<Stage, number> {
  const s = obj(summary);
  const result = { ...STAGE_PROBABILITY };
  const map = obj(s?.probabilities) ?? obj(obj(s?.forecast)?.probabilities);
  const rows = Array.isArray(s?.stages) ? (s.stages as unknown[]) : [];
  for (const stage of STAGES) {
    const fromRow = num(obj(rows.find((r) => obj(r)?.stage === stage))?.probability);
    const p = num(map?.[stage]) ?? fromRow;
    if (p !== undefined) result[stage] = p > 1 ? p / 100 : p;
  }
  return result;
}

/** The weighted forecast: the server's when pipelineSummary has one, else computed from the deals. */
export function forecastOf(summary: unknown, deals: readonly DealView[]): Forecast {
  const probabilities = probabilitiesOf(summary);
  const open = deals.filter((d) => OPEN_STAGES.includes(d.stage)).reduce((s, d) => s + d.amount, 0);
  const f = obj(summary)?.forecast;
  const serverWeighted = num(f) ?? num(obj(f)?.weighted) ?? num(obj(f)?.amount);
  if (serverWeighted !== undefined) return { weighted: serverWeighted, open, probabilities, source: 'server' };
  const weighted = deals.filter((d) => OPEN_STAGES.includes(d.stage)).reduce((s, d) => s + d.amount * probabilities[d.stage], 0);
  return { weighted: Math.round(weighted * 100) / 100, open, probabilities, source: 'client' };
}

export interface MonthTrend {
  year: number;
  /** 0-based, as Date#getMonth. */
  month: number;
  won: { count: number; amount: number };
  lost: { count: number; amount: number };
}

/**
 * Won and lost deals per month over the last `months` months (oldest first), by the month a deal was
 * closed: its expected close date when set, else its last change.
 */
export function wonLostTrend(deals: readonly DealView[], now: Date = new Date(), months = 6): MonthTrend[] {
  const rows: MonthTrend[] = [];
  for (let i = months - 1; i >= 0; i--) {
    const d = new Date(now.getFullYear(), now.getMonth() - i, 1);
    rows.push({ year: d.getFullYear(), month: d.getMonth(), won: { count: 0, amount: 0 }, lost: { count: 0, amount: 0 } });
  }
  for (const deal of deals) {
    if (deal.stage !== 'won' && deal.stage !== 'lost') continue;
    const when = deal.expectedCloseDate ?? deal.updatedAt;
    if (!when) continue;
    const at = new Date(when);
    const row = rows.find((r) => r.year === at.getFullYear() && r.month === at.getMonth());
    if (!row) continue;
    row[deal.stage].count++;
    row[deal.stage].amount += deal.amount;
  }
  return rows;
}

/** Open deals whose expected close date has passed (before today), oldest first. */
export function overdueDeals(deals: readonly DealView[], now: Date = new Date()): DealView[] {
  return deals.filter((d) => isDealOverdue(d, now)).sort((a, b) => Date.parse(a.expectedCloseDate!) - Date.parse(b.expectedCloseDate!));
}

export function isDealOverdue(deal: DealView, now: Date = new Date()): boolean {
  if (!OPEN_STAGES.includes(deal.stage) || !deal.expectedCloseDate) return false;
  const today = new Date(now.getFullYear(), now.getMonth(), now.getDate()).getTime();
  return Date.parse(deal.expectedCloseDate) < today;
}

export interface OwnerRow {
  ownerId: string;
  owner: string;
  openCount: number;
  openAmount: number;
  weighted: number;
  wonAmount: number;
}

/** Per owner (assignee): open deals, their weighted value and what was won; largest open pipeline first. */
export function byOwner(deals: readonly DealView[], probabilities: Record<Stage, number> = STAGE_PROBABILITY): OwnerRow[] {
  const rows = new Map<string, OwnerRow>();
  for (const d of deals) {
    const id = d.owner?.id ?? '';
    let row = rows.get(id);
    if (!row) { row = { ownerId: id, owner: d.owner?.label ?? (id ? `User ${id}` : 'Unassigned'), openCount: 0, openAmount: 0, weighted: 0, wonAmount: 0 }; rows.set(id, row); }
    if (d.owner?.label) row.owner = d.owner.label;
    if (OPEN_STAGES.includes(d.stage)) { row.openCount++; row.openAmount += d.amount; row.weighted += d.amount * probabilities[d.stage]; }
    if (d.stage === 'won') row.wonAmount += d.amount;
  }
  return [...rows.values()].sort((a, b) => b.openAmount - a.openAmount || a.owner.localeCompare(b.owner));
}
