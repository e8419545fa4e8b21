import { describe as group, expect, it } from 'vitest';
import { decide, describe, display, enqueue, keepMine, type QueueEntry, restore, sameValue, UNSET } from './queue';
import { isConnectionError, summaryFromDeals } from './offline';

const base = '2026-06-01T10:00:00.000Z';
const later = '2026-06-01T11:00:00.000Z';
const update = (id: string, changes: QueueEntry['changes'], before: QueueEntry['before'], extra: Partial<QueueEntry> = {}): QueueEntry => ({
  id, op: 'update', className: 'Deal', objectId: 'd1', label: 'Acme rollout', changes, before, base, queuedAt: base, status: 'waiting', ...extra,
});

group('queue: joining changes to the same record', () => {
  it('a second update joins the first: later fields win, the first base and before values stay', () => {
    const first = update('q1', { amount: 100 }, { amount: 50 });
    const second = update('q2', { amount: 120, stage: 'won' }, { amount: 100, stage: 'lead' }, { base: later });
    const q = enqueue([first], second);
    expect(q).toHaveLength(1);
    expect(q[0]).toMatchObject({ id: 'q1', base, changes: { amount: 120, stage: 'won' }, before: { amount: 50, stage: 'lead' } });
  });
  it('a delete replaces queued updates of its record, keeping the first base', () => {
    const q = enqueue([update('q1', { amount: 100 }, { amount: 50 })], { ...update('q2', {}, {}, { base: later }), op: 'destroy' });
    expect(q).toEqual([expect.objectContaining({ id: 'q1', op: 'destroy', base, changes: {} })]);
  });
  it('never joins an entry whose request is out, nor other records, nor creates', () => {
    const sending = update('q1', { amount: 100 }, { amount: 50 }, { status: 'sending' });
    expect(enqueue([sending], update('q2', { amount: 1 }, { amount: 100 }))).toHaveLength(2);
    expect(enqueue([update('q1', { amount: 1 }, {})], update('q2', { amount: 2 }, {}, { objectId: 'd2' }))).toHaveLength(2);
    const create: QueueEntry = { ...update('c1', { title: 'New' }, {}), op: 'create', objectId: undefined };
    expect(enqueue([create], { ...create, id: 'c2' })).toHaveLength(2);
  });
  it('an update joined to an entry in conflict keeps it in conflict (the user still has to choose)', () => {
    const q = enqueue([update('q1', { amount: 100 }, { amount: 50 }, { status: 'conflict' })], update('q2', { amount: 110 }, { amount: 100 }));
    expect(q[0]).toMatchObject({ status: 'conflict', changes: { amount: 110 } });
  });
  it('pages closed while sending send again', () => {
    expect(restore([update('q1', {}, {}, { status: 'sending' })])[0].status).toBe('waiting');
  });
});

group('queue: the conflict rule', () => {
  const server = (updatedAt: string, values: Record<string, unknown>) => ({ updatedAt, values: values as QueueEntry['changes'] });

  it('sends when nobody changed the record since the version the edit started from', () => {
    expect(decide(update('q', { amount: 100 }, { amount: 50 }), server(base, { amount: 50 }))).toEqual({ kind: 'send' });
  });
  it('is a conflict when someone else changed a field this edit changes too', () => {
    const d = decide(update('q', { amount: 100 }, { amount: 50 }), server(later, { amount: 75, title: 'Acme rollout' }));
    expect(d).toEqual({ kind: 'conflict', theirs: server(later, { amount: 75, title: 'Acme rollout' }) });
  });
  it('sends when someone else changed only other fields (theirs are kept: only changed fields are sent)', () => {
    expect(decide(update('q', { amount: 100 }, { amount: 50 }), server(later, { amount: 50, stage: 'won' }))).toEqual({ kind: 'send' });
  });
  it('sends when the server already has the same value (e.g. the first try reached it)', () => {
    expect(decide(update('q', { stage: 'won' }, { stage: 'lead' }), server(later, { stage: 'won' }))).toEqual({ kind: 'send' });
  });
  it('a delete of a record changed meanwhile is a conflict; of a record already gone, done', () => {
    const del: QueueEntry = { ...update('q', {}, {}), op: 'destroy' };
    expect(decide(del, server(later, {})).kind).toBe('conflict');
    expect(decide(del, server(base, {})).kind).toBe('send');
    expect(decide(del, undefined).kind).toBe('done');
  });
  it('an update of a record deleted on the server fails with a message', () => {
    expect(decide(update('q', { amount: 1 }, {}), undefined)).toEqual({ kind: 'gone', message: 'Acme rollout was deleted on the server; your change was not applied.' });
  });
  it('without a known base (never seen on this device) the change is sent', () => {
    expect(decide(update('q', { amount: 1 }, {}, { base: undefined }), server(later, { amount: 9 })).kind).toBe('send');
  });
  it('"keep mine" rebases the entry on the server version the user saw, so the check passes', () => {
    const conflicted = update('q', { amount: 100 }, { amount: 50 }, { status: 'conflict', theirs: server(later, { amount: 75 }) });
    const kept = keepMine(conflicted);
    expect(kept).toMatchObject({ status: 'waiting', base: later, before: { amount: 75 }, changes: { amount: 100 } });
    expect(kept.theirs).toBeUndefined();
    expect(decide(kept, server(later, { amount: 75 })).kind).toBe('send');
    // ...but a further change on the server after that is a conflict again
    expect(decide(kept, server('2026-06-01T12:00:00.000Z', { amount: 80 })).kind).toBe('conflict');
  });
});

group('queue: values', () => {
  it('compares dates by instant, pointers and included objects by class and id, empty and unset alike', () => {
    expect(sameValue({ __type: 'Date', iso: '2026-06-01T10:00:00Z' }, { __type: 'Date', iso: '2026-06-01T10:00:00.000Z' })).toBe(true);
    expect(sameValue({ __type: 'Pointer', className: 'Company', objectId: 'c1' }, { __type: 'Object', className: 'Company', objectId: 'c1', name: 'Acme' })).toBe(true);
    expect(sameValue({ __type: 'Pointer', className: 'Company', objectId: 'c1' }, { __type: 'Pointer', className: 'Company', objectId: 'c2' })).toBe(false);
    expect(sameValue(UNSET, undefined)).toBe(true);
    expect(sameValue('', null)).toBe(true);
    expect(sameValue(100, 100)).toBe(true);
    expect(sameValue(100, '100')).toBe(false);
  });
  it('shows values and entries as a person reads them', () => {
    expect(display({ __type: 'Object', className: 'Company', objectId: 'c1', name: 'Acme' })).toBe('Acme');
    expect(display({ __type: 'Date', iso: '2026-06-01T10:00:00.000Z' })).toBe('2026-06-01');
    expect(display(UNSET)).toBe('—');
    expect(describe(update('q', { amount: 1, stage: 'won' }, {}))).toBe('Update deal “Acme rollout”: amount, stage');
    expect(describe({ ...update('q', {}, {}), op: 'destroy' })).toBe('Delete deal “Acme rollout”');
  });
});

group('unreachable server', () => {
  it('knows Parse\'s code 100 and the browsers\' fetch failures the SDK passes on without a code', () => {
    expect(isConnectionError({ code: 100, message: 'XMLHttpRequest failed' })).toBe(true);
    expect(isConnectionError({ code: undefined, message: 'Failed to fetch' })).toBe(true);
    expect(isConnectionError({ message: 'NetworkError when attempting to fetch resource.' })).toBe(true);
    expect(isConnectionError({ message: 'Load failed' })).toBe(true);
    expect(isConnectionError({ code: 141, message: 'Failed to fetch the price list' })).toBe(false);
    expect(isConnectionError({ code: 142, message: 'stage must be one of lead' })).toBe(false);
    expect(isConnectionError('Failed to fetch')).toBe(false);
  });
});

group('offline dashboard', () => {
  it('sums count and amount per stage from the deals on the device', () => {
    const r = summaryFromDeals([
      { id: 'a', title: 'a', stage: 'lead', amount: 10 },
      { id: 'b', title: 'b', stage: 'lead', amount: 5 },
      { id: 'c', title: 'c', stage: 'won', amount: 7 },
    ]);
    expect(r.stages).toHaveLength(6);
    expect(r.stages.find((s) => s.stage === 'lead')).toEqual({ stage: 'lead', count: 2, amount: 15 });
    expect(r.stages.find((s) => s.stage === 'won')).toEqual({ stage: 'won', count: 1, amount: 7 });
    expect(r.stages.find((s) => s.stage === 'lost')).toEqual({ stage: 'lost', count: 0, amount: 0 });
  });
});
