import { describe, expect, it } from 'vitest';
import { byOwner, forecastOf, isDealOverdue, overdueDeals, probabilitiesOf, wonLostTrend } from './forecast';
import { formatDate } from './format';
import type { DealView, Stage } from './model';
import { fieldOfError, isEmail, validateRecord } from './validation';
import { readListState, writeListState } from './url';

const deal = (id: string, stage: Stage, amount: number, expectedCloseDate?: string, owner?: string): DealView =>
  ({ id, title: `D${id}`, stage, amount, expectedCloseDate, owner: owner ? { className: '_User', id: owner, label: owner } : undefined });

describe('forecast', () => {
  const deals = [deal('a', 'lead', 1000), deal('b', 'proposal', 2000), deal('c', 'negotiation', 4000), deal('d', 'won', 9000), deal('e', 'lost', 500)];
  it('weights open deals by the default stage probabilities when the summary has no forecast', () => {
    const f = forecastOf({ stages: [] }, deals);
    expect(f.source).toBe('client');
    expect(f.weighted).toBe(1000 * 0.1 + 2000 * 0.5 + 4000 * 0.75);
    expect(f.open).toBe(7000);
  });
  it('uses the probabilities pipelineSummary sends (fractions or percentages)', () => {
    expect(probabilitiesOf({ probabilities: { lead: 20, proposal: 0.6 } })).toMatchObject({ lead: 0.2, proposal: 0.6, negotiation: 0.75 });
    expect(probabilitiesOf({ stages: [{ stage: 'qualified', probability: 0.3 }] }).qualified).toBe(0.3);
    expect(forecastOf({ probabilities: { lead: 1, proposal: 0, negotiation: 0 } }, deals).weighted).toBe(1000);
  });
  it('takes the server\'s forecast when present', () => {
    expect(forecastOf({ forecast: 1234 }, deals)).toMatchObject({ weighted: 1234, source: 'server' });
    expect(forecastOf({ forecast: { weighted: 99 } }, deals)).toMatchObject({ weighted: 99, source: 'server' });
  });
  it('counts won and lost per month over the last months, oldest first', () => {
    const now = new Date(2026, 5, 15);
    const trend = wonLostTrend([
      deal('a', 'won', 100, new Date(2026, 5, 2).toISOString()), deal('b', 'won', 50, new Date(2026, 3, 20).toISOString()),
      deal('c', 'lost', 70, new Date(2026, 5, 3).toISOString()), deal('d', 'won', 1, new Date(2025, 0, 1).toISOString()),
      deal('e', 'proposal', 5, new Date(2026, 5, 3).toISOString()),
    ], now, 3);
    expect(trend.map((t) => t.month)).toEqual([3, 4, 5]);
    expect(trend[2].won).toEqual({ count: 1, amount: 100 });
    expect(trend[2].lost).toEqual({ count: 1, amount: 70 });
    expect(trend[0].won.amount).toBe(50);
    expect(trend[1].won.count + trend[1].lost.count).toBe(0);
  });
  it('flags open deals whose close date has passed, never won or lost ones', () => {
    const now = new Date(2026, 5, 15, 12);
    const past = new Date(2026, 5, 10).toISOString();
    expect(isDealOverdue(deal('a', 'proposal', 1, past), now)).toBe(true);
    expect(isDealOverdue(deal('a', 'won', 1, past), now)).toBe(false);
    expect(isDealOverdue(deal('a', 'lead', 1, new Date(2026, 5, 15).toISOString()), now)).toBe(false);
    expect(isDealOverdue(deal('a', 'lead', 1), now)).toBe(false);
    expect(overdueDeals([deal('x', 'lead', 1, new Date(2026, 5, 12).toISOString()), deal('y', 'lead', 1, past)], now).map((d) => d.id)).toEqual(['y', 'x']);
  });
  it('breaks the pipeline down by owner', () => {
    const rows = byOwner([deal('a', 'lead', 1000, undefined, 'alice'), deal('b', 'won', 500, undefined, 'alice'), deal('c', 'proposal', 3000, undefined, 'bob'), deal('d', 'lead', 10)]);
    expect(rows.map((r) => r.owner)).toEqual(['bob', 'alice', 'Unassigned']);
    expect(rows[1]).toMatchObject({ openCount: 1, openAmount: 1000, weighted: 100, wonAmount: 500 });
    const hidden = { ...deal('e', 'lead', 5), owner: { className: '_User', id: 'u1' } };
    expect(byOwner([hidden]).map((r) => r.owner)).toEqual(['User u1']);
  });
});

describe('validation', () => {
  it('maps a Parse 142 message to the field its first word names', () => {
    const fields = ['name', 'email', 'amount'];
    expect(fieldOfError({ code: 142, message: 'email must be a valid email address' }, fields)).toEqual({ field: 'email', message: 'email must be a valid email address' });
    expect(fieldOfError({ code: 142, message: 'Amount must be zero or more' }, fields)?.field).toBe('amount');
    expect(fieldOfError({ code: 142, message: 'Cannot delete this Contact' }, fields)).toBeUndefined();
    expect(fieldOfError({ code: 141, message: 'email is wrong' }, fields)).toBeUndefined();
    expect(fieldOfError(new Error('email'), fields)).toBeUndefined();
  });
  it('mirrors the server rules: required name/title/subject, email format, amount zero or more', () => {
    expect(validateRecord('Contact', { name: ' ', email: 'not-an-email' })).toEqual({ name: 'name is required', email: 'email must be a valid email address' });
    expect(validateRecord('Deal', { title: 'T', amount: '-500' })).toEqual({ amount: 'amount must be zero or more' });
    expect(validateRecord('Deal', { title: 'T', amount: '0' })).toEqual({});
    expect(validateRecord('Activity', { subject: '' })).toEqual({ subject: 'subject is required' });
    expect(validateRecord('Contact', { name: 'A', email: '' })).toEqual({});
    expect(isEmail('dana@example.com')).toBe(true);
    expect(isEmail('dana@example')).toBe(false);
  });
});

describe('dates in the user\'s locale', () => {
  const iso = '2026-12-07T12:00:00Z';
  it('formats by locale, without the raw ISO form', () => {
    expect(formatDate(iso, 'en-US')).toBe('Dec 7, 2026');
    expect(formatDate(iso, 'en-GB')).toBe('7 Dec 2026');
    expect(formatDate(iso, 'de-DE')).toBe('7. Dez. 2026');
    expect(formatDate(undefined, 'en-US')).toBe('—');
    expect(formatDate('garbage', 'en-US')).toBe('—');
  });
});

describe('list state in the address', () => {
  it('round-trips search, sort and page, leaving defaults out', () => {
    const s = readListState('?q=acme&sort=-amount&page=3', 'title');
    expect(s).toEqual({ q: 'acme', sort: 'amount', descending: true, page: 2 });
    expect(writeListState(s, 'title')).toBe('?q=acme&sort=-amount&page=3');
    expect(writeListState(readListState('', 'title'), 'title')).toBe('');
    expect(readListState('?page=x', 'name').page).toBe(0);
  });
});
