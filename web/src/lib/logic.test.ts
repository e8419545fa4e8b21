import { describe, expect, it } from 'vitest';
import { applyActivityEvent, isOverdue, openByDueDate } from './activities';
import { stageValues, upcomingCloses, wonLostThisMonth } from './dashboard';
import type { ActivityView, DealView } from './model';
import { ensureOnline, errorMessage, OfflineError } from './offline';

const act = (id: string, dueDate?: string, completedAt?: string): ActivityView => ({ id, type: 'call', subject: `S${id}`, dueDate, completedAt });

describe('activities', () => {
  const now = new Date('2026-06-15T12:00:00Z');
  it('lists open activities by due date, undated last', () => {
    const list = openByDueDate([act('a', '2026-06-20T00:00:00Z'), act('b'), act('c', '2026-06-01T00:00:00Z'), act('d', '2026-06-02T00:00:00Z', '2026-06-02T00:00:00Z')]);
    expect(list.map((a) => a.id)).toEqual(['c', 'a', 'b']);
  });
  it('marks open past-due activities overdue, never completed ones', () => {
    expect(isOverdue(act('a', '2026-06-14T00:00:00Z'), now)).toBe(true);
    expect(isOverdue(act('a', '2026-06-16T00:00:00Z'), now)).toBe(false);
    expect(isOverdue(act('a', '2026-06-14T00:00:00Z', '2026-06-14T01:00:00Z'), now)).toBe(false);
    expect(isOverdue(act('a'), now)).toBe(false);
  });
  it('applies live events', () => {
    const list = [act('a'), act('b')];
    expect(applyActivityEvent(list, 'created', act('c')).map((a) => a.id)).toEqual(['c', 'a', 'b']);
    expect(applyActivityEvent(list, 'updated', act('b', undefined, '2026-01-01T00:00:00Z'))[1].completedAt).toBeDefined();
    expect(applyActivityEvent(list, 'deleted', act('a')).map((a) => a.id)).toEqual(['b']);
  });
});

describe('dashboard', () => {
  const now = new Date(2026, 5, 15);
  const d = (id: string, stage: DealView['stage'], amount: number, updatedAt?: string, close?: string): DealView => ({ id, title: id, stage, amount, updatedAt, expectedCloseDate: close });
  it('normalises the pipeline summary to every stage', () => {
    const values = stageValues({ stages: [{ stage: 'won', count: 2, amount: 30 }, { stage: 'nonsense', count: 1, amount: 1 }] });
    expect(values).toHaveLength(6);
    expect(values.find((v) => v.stage === 'won')).toEqual({ stage: 'won', count: 2, amount: 30 });
    expect(values.find((v) => v.stage === 'lead')).toEqual({ stage: 'lead', count: 0, amount: 0 });
    expect(stageValues(null).every((v) => v.count === 0)).toBe(true);
  });
  it('counts won and lost this month', () => {
    const r = wonLostThisMonth([
      d('a', 'won', 10, new Date(2026, 5, 2).toISOString()),
      d('b', 'won', 5, new Date(2026, 4, 30).toISOString()),
      d('c', 'lost', 7, new Date(2026, 5, 10).toISOString()),
    ], now);
    expect(r).toEqual({ won: { count: 1, amount: 10 }, lost: { count: 1, amount: 7 } });
  });
  it('lists upcoming closes of open deals, soonest first', () => {
    const list = upcomingCloses([
      d('late', 'lead', 1, undefined, new Date(2026, 6, 1).toISOString()),
      d('soon', 'proposal', 1, undefined, new Date(2026, 5, 16).toISOString()),
      d('past', 'lead', 1, undefined, new Date(2026, 5, 1).toISOString()),
      d('won', 'won', 1, undefined, new Date(2026, 5, 20).toISOString()),
    ], now);
    expect(list.map((x) => x.id)).toEqual(['soon', 'late']);
  });
});

describe('offline refusal', () => {
  it('refuses writes offline with a clear message and allows them online', () => {
    expect(() => ensureOnline(false, 'move the deal')).toThrow(OfflineError);
    expect(() => ensureOnline(false, 'move the deal')).toThrow(/offline: cannot move the deal/);
    expect(() => ensureOnline(true)).not.toThrow();
  });
  it('shows server messages and a clear connection message', () => {
    expect(errorMessage({ code: 142, message: 'stage must be one of lead' })).toBe('stage must be one of lead');
    expect(errorMessage({ code: 100, message: 'XMLHttpRequest failed' })).toMatch(/cannot be reached/);
    expect(errorMessage(new OfflineError())).toMatch(/offline/);
  });
});
