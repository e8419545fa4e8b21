import { type DealView, type Stage, STAGES, mergeRefs } from './model';

export interface BoardFilter {
  ownerId?: string;
  companyId?: string;
  text?: string;
}

export interface Column {
  stage: Stage;
  deals: DealView[];
  count: number;
  total: number;
}

/** Deals ordered by expected close date (deals without one last), then title. */
export function byCloseDate(a: DealView, b: DealView): number {
  const da = a.expectedCloseDate ? Date.parse(a.expectedCloseDate) : Number.POSITIVE_INFINITY;
  const db = b.expectedCloseDate ? Date.parse(b.expectedCloseDate) : Number.POSITIVE_INFINITY;
  if (da !== db) return da < db ? -1 : 1;
  return a.title.localeCompare(b.title);
}

export function matchesFilter(deal: DealView, filter: BoardFilter): boolean {
  if (filter.ownerId && deal.owner?.id !== filter.ownerId) return false;
  if (filter.companyId && deal.company?.id !== filter.companyId) return false;
  const text = filter.text?.trim().toLowerCase();
  if (text) {
    const haystack = [deal.title, deal.company?.label, deal.contact?.label, deal.notes].filter(Boolean).join(' ').toLowerCase();
    if (!haystack.includes(text)) return false;
  }
  return true;
}

/** One column per stage, in pipeline order, with the count and total amount of the deals shown. */
export function groupByStage(deals: readonly DealView[], filter: BoardFilter = {}): Column[] {
  return STAGES.map((stage) => {
    const inStage = deals.filter((d) => d.stage === stage && matchesFilter(d, filter)).sort(byCloseDate);
    return { stage, deals: inStage, count: inStage.length, total: inStage.reduce((sum, d) => sum + d.amount, 0) };
  });
}

// ---- board state: optimistic moves and live events -------------------------------------------------

export interface PendingMove {
  dealId: string;
  from: Stage;
  to: Stage;
}

export interface BoardState {
  deals: DealView[];
  pending: PendingMove[];
  message?: string;
}

export type BoardAction =
  | { type: 'loaded'; deals: DealView[] }
  | { type: 'move'; dealId: string; to: Stage }
  | { type: 'moveSucceeded'; deal: DealView }
  | { type: 'moveFailed'; dealId: string; error: string }
  | { type: 'live'; op: 'created' | 'updated' | 'deleted'; deal: DealView }
  | { type: 'error'; message: string }
  | { type: 'dismiss' };

export const emptyBoard: BoardState = { deals: [], pending: [] };

export function boardReducer(state: BoardState, action: BoardAction): BoardState {
  switch (action.type) {
    case 'loaded':
      return { ...state, deals: action.deals, pending: [] };
    case 'move': {
      const deal = state.deals.find((d) => d.id === action.dealId);
      if (!deal || deal.stage === action.to) return state;
      return {
        deals: state.deals.map((d) => (d.id === action.dealId ? { ...d, stage: action.to } : d)),
        pending: [...state.pending.filter((p) => p.dealId !== action.dealId), { dealId: deal.id, from: deal.stage, to: action.to }],
        message: undefined,
      };
    }
    case 'moveSucceeded':
      return {
        ...state,
        deals: state.deals.map((d) => (d.id === action.deal.id ? mergeRefs(action.deal, d) : d)),
        pending: state.pending.filter((p) => p.dealId !== action.deal.id),
      };
    case 'moveFailed': {
      const move = state.pending.find((p) => p.dealId === action.dealId);
      if (!move) return { ...state, message: action.error };
      const title = state.deals.find((d) => d.id === action.dealId)?.title ?? 'the deal';
      return {
        deals: state.deals.map((d) => (d.id === action.dealId ? { ...d, stage: move.from } : d)),
        pending: state.pending.filter((p) => p.dealId !== action.dealId),
        message: `Could not move ${title} to ${move.to}: ${action.error}. It is back in ${move.from}.`,
      };
    }
    case 'live':
      return { ...state, deals: applyLive(state.deals, action.op, action.deal, state.pending) };
    case 'error':
      return { ...state, message: action.message };
    case 'dismiss':
      return { ...state, message: undefined };
  }
}

/**
 * Applies a real-time event to a list of deals. An update for a deal with a move in flight keeps the
 * optimistic stage (the server's answer to the move settles it); anything else takes the server's state.
 */
export function applyLive(deals: readonly DealView[], op: 'created' | 'updated' | 'deleted', deal: DealView, pending: readonly PendingMove[] = []): DealView[] {
  const index = deals.findIndex((d) => d.id === deal.id);
  if (op === 'deleted') return index < 0 ? [...deals] : deals.filter((d) => d.id !== deal.id);
  const previous = index < 0 ? undefined : deals[index];
  let next = mergeRefs(deal, previous);
  const inFlight = pending.find((p) => p.dealId === deal.id);
  if (inFlight) next = { ...next, stage: inFlight.to };
  if (index < 0) return [...deals, next];
  // Events can arrive out of order with a fetch: never replace a newer state with an older one.
  if (previous?.updatedAt && next.updatedAt && Date.parse(next.updatedAt) < Date.parse(previous.updatedAt)) return [...deals];
  return deals.map((d, i) => (i === index ? next : d));
}
