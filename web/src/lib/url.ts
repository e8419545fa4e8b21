// List and board state kept in the address (?q=…&sort=…&page=…), so a filtered view can be bookmarked,
// shared and restored with Back.

export interface ListState {
  q: string;
  sort: string;
  descending: boolean;
  page: number;
}

export function readListState(search: string, defaultSort: string): ListState {
  const p = new URLSearchParams(search);
  const sort = p.get('sort') ?? '';
  const descending = sort.startsWith('-');
  const page = Number.parseInt(p.get('page') ?? '1', 10);
  return {
    q: p.get('q') ?? '',
    sort: (descending ? sort.slice(1) : sort) || defaultSort,
    descending,
    page: Number.isFinite(page) && page > 1 ? page - 1 : 0,
  };
}

/** The query string for a state: defaults are left out, so the plain list keeps its plain address. */
export function writeListState(state: ListState, defaultSort: string, extra: Record<string, string | undefined> = {}): string {
  const p = new URLSearchParams();
  if (state.q) p.set('q', state.q);
  if (state.sort !== defaultSort || state.descending) p.set('sort', `${state.descending ? '-' : ''}${state.sort}`);
  if (state.page > 0) p.set('page', String(state.page + 1));
  for (const [k, v] of Object.entries(extra)) if (v) p.set(k, v);
  const s = p.toString();
  return s ? `?${s}` : '';
}
