import { type DealView, OPEN_STAGES, STAGES, type Stage } from './model';

export interface StageValue {
  stage: Stage;
  count: number;
  amount: number;
}

/** The pipelineSummary function's answer, normalised to every stage in pipeline order. */
export function stageValues(summary: unknown): StageValue[] {
  const rows = summary && typeof summary === 'object' && 'stages' in summary && Array.isArray(summary.stages) ? (summary.stages as unknown[]) : [];
  return STAGES.map((stage) => {
    const row = rows.find((r): r is { stage: string; count?: unknown; amount?: unknown } => !!r && typeof r === 'object' && 'stage' in r && r.stage === stage);
    return { stage, count: typeof row?.count === 'number' ? row.count : 0, amount: typeof row?.amount === 'number' ? row.amount : 0 };
  });
}

export function monthStart(now: Date): Date {
  return new Date(now.getFullYear(), now.getMonth(), 1);
}

/** Deals won and lost since the start of this month (by their last change). */
export function wonLostThisMonth(deals: readonly DealView[], now: Date = new Date()) {
  const start = monthStart(now).getTime();
  const recent = deals.filter((d) => d.updatedAt && Date.parse(d.updatedAt) >= start);
  const sum = (stage: Stage) => {
    const list = recent.filter((d) => d.stage === stage);
    return { count: list.length, amount: list.reduce((s, d) => s + d.amount, 0) };
  };
  return { won: sum('won'), lost: sum('lost') };
}

/** Open deals closing from today on, soonest first. */
export function upcomingCloses(deals: readonly DealView[], now: Date = new Date(), limit = 8): DealView[] {
  const today = new Date(now.getFullYear(), now.getMonth(), now.getDate()).getTime();
  return deals
    .filter((d) => OPEN_STAGES.includes(d.stage) && d.expectedCloseDate && Date.parse(d.expectedCloseDate) >= today)
    .sort((a, b) => Date.parse(a.expectedCloseDate!) - Date.parse(b.expectedCloseDate!))
    .slice(0, limit);
}
