import { describe, expect, it } from 'vitest';
import { dealFromJson, type DealView } from './model';
import { applyLive, boardReducer, emptyBoard, groupByStage } from './pipeline';

const deal = (id: string, stage: DealView['stage'], amount: number, close?: string, extra: Partial<DealView> = {}): DealView =>
  ({ id, title: `Deal ${id}`, amount, stage, expectedCloseDate: close, ...extra });

describe('groupByStage', () => {
  it('makes one column per stage with count and total, ordered by expected close date', () => {
    const columns = groupByStage([
      deal('a', 'lead', 100, '2026-03-01'),
      deal('b', 'lead', 50, '2026-01-15'),
      deal('c', 'lead', 10),
      deal('d', 'won', 1000, '2026-02-01'),
    ]);
    expect(columns.map((c) => c.stage)).toEqual(['lead', 'qualified', 'proposal', 'negotiation', 'won', 'lost']);
    expect(columns[0]).toMatchObject({ count: 3, total: 160 });
    expect(columns[0].deals.map((d) => d.id)).toEqual(['b', 'a', 'c']);
    expect(columns[4]).toMatchObject({ count: 1, total: 1000 });
    expect(columns[1]).toMatchObject({ count: 0, total: 0 });
  });

  it('filters by owner, company and text', () => {
    const deals = [
      deal('a', 'lead', 1, undefined, { owner: { className: '_User', id: 'u1' }, company: { className: 'Company', id: 'c1', label: 'Acme' } }),
      deal('b', 'lead', 2, undefined, { owner: { className: '_User', id: 'u2' }, title: 'Globex renewal' }),
    ];
    expect(groupByStage(deals, { ownerId: 'u1' })[0].deals.map((d) => d.id)).toEqual(['a']);
    expect(groupByStage(deals, { companyId: 'c1' })[0].count).toBe(1);
    expect(groupByStage(deals, { text: 'acme' })[0].deals.map((d) => d.id)).toEqual(['a']);
    expect(groupByStage(deals, { text: 'RENEWAL' })[0].deals.map((d) => d.id)).toEqual(['b']);
  });
});

describe('boardReducer', () => {
  const loaded = boardReducer(emptyBoard, { type: 'loaded', deals: [deal('a', 'lead', 100), deal('b', 'proposal', 5)] });

  it('moves optimistically and settles on success', () => {
    const moved = boardReducer(loaded, { type: 'move', dealId: 'a', to: 'qualified' });
    expect(moved.deals.find((d) => d.id === 'a')?.stage).toBe('qualified');
    expect(moved.pending).toEqual([{ dealId: 'a', from: 'lead', to: 'qualified' }]);
    const done = boardReducer(moved, { type: 'moveSucceeded', deal: deal('a', 'qualified', 100) });
    expect(done.pending).toEqual([]);
    expect(done.deals.find((d) => d.id === 'a')?.stage).toBe('qualified');
  });

  it('rolls back with a message when the server refuses', () => {
    const moved = boardReducer(loaded, { type: 'move', dealId: 'a', to: 'won' });
    const failed = boardReducer(moved, { type: 'moveFailed', dealId: 'a', error: 'stage must be one of …' });
    expect(failed.deals.find((d) => d.id === 'a')?.stage).toBe('lead');
    expect(failed.pending).toEqual([]);
    expect(failed.message).toContain('Could not move Deal a to won');
    expect(failed.message).toContain('back in lead');
    expect(boardReducer(failed, { type: 'dismiss' }).message).toBeUndefined();
  });

  it('ignores a move to the same stage', () => {
    expect(boardReducer(loaded, { type: 'move', dealId: 'a', to: 'lead' })).toBe(loaded);
  });

  it('keeps the optimistic stage when a live update arrives for a deal in flight', () => {
    const moved = boardReducer(loaded, { type: 'move', dealId: 'a', to: 'won' });
    const live = boardReducer(moved, { type: 'live', op: 'updated', deal: deal('a', 'lead', 200) });
    expect(live.deals.find((d) => d.id === 'a')).toMatchObject({ stage: 'won', amount: 200 });
  });
});

describe('applyLive', () => {
  const base = [deal('a', 'lead', 1, undefined, { company: { className: 'Company', id: 'c1', label: 'Acme' }, updatedAt: '2026-01-02T00:00:00Z' })];

  it('adds created deals, replaces updated ones and removes deleted ones', () => {
    expect(applyLive(base, 'created', deal('b', 'won', 3)).map((d) => d.id)).toEqual(['a', 'b']);
    const updated = applyLive(base, 'updated', dealFromJson({
      objectId: 'a', title: 'Deal a', stage: 'proposal', amount: 1,
      company: { __type: 'Pointer', className: 'Company', objectId: 'c1' },
      updatedAt: '2026-01-03T00:00:00Z',
    }));
    expect(updated[0].stage).toBe('proposal');
    expect(updated[0].company?.label).toBe('Acme');
    expect(applyLive(base, 'deleted', deal('a', 'lead', 1))).toEqual([]);
  });

  it('never replaces a newer state with an older event', () => {
    const stale = deal('a', 'won', 1, undefined, { updatedAt: '2026-01-01T00:00:00Z' });
    expect(applyLive(base, 'updated', stale)[0].stage).toBe('lead');
  });
});

describe('dealFromJson', () => {
  it('reads REST JSON: dates, pointers, included objects', () => {
    const d = dealFromJson({
      objectId: 'x', title: 'T', amount: 12, stage: 'negotiation',
      expectedCloseDate: { __type: 'Date', iso: '2026-05-01T00:00:00.000Z' },
      company: { __type: 'Object', className: 'Company', objectId: 'c', name: 'Acme' },
      assignedTo: { __type: 'Pointer', className: '_User', objectId: 'u' },
    });
    expect(d).toMatchObject({ id: 'x', stage: 'negotiation', expectedCloseDate: '2026-05-01T00:00:00.000Z', company: { id: 'c', label: 'Acme' }, owner: { id: 'u' } });
    expect(dealFromJson({ objectId: 'y', stage: 'bogus' }).stage).toBe('lead');
  });
});
