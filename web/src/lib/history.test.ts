import { describe, expect, it } from 'vitest';
import { formatDate, formatMoney } from './format';
import {
  actorName, createdWith, type DescribeContext, describeEntry, type FieldLabel, fieldLabel, historyAnswer, historyEntryFromJson,
  type HistoryEntry, mergeTimeline, namesFromRecord, usersMentioned,
} from './history';
import type { ActivityView, Json } from './model';

// The deal form's fields as components/RecordForm.tsx declares them (name, label, kind).
const dealFields: FieldLabel[] = [
  { name: 'title', label: 'Title', kind: 'text' },
  { name: 'amount', label: 'Amount', kind: 'number' },
  { name: 'stage', label: 'Stage', kind: 'select' },
  { name: 'expectedCloseDate', label: 'Expected close date', kind: 'date' },
  { name: 'company', label: 'Company', kind: 'pointer', target: 'Company' },
  { name: 'contact', label: 'Contact', kind: 'pointer', target: 'Contact' },
  { name: 'assignedTo', label: 'Owner', kind: 'pointer', target: '_User' },
  { name: 'notes', label: 'Notes', kind: 'textarea' },
];

const ME = 'meUser01';
const MATE = 'mateUser2';
const user = (objectId: string) => ({ __type: 'Pointer', className: '_User', objectId });
const date = (iso: string) => ({ __type: 'Date', iso });

// Results exactly as GET /parse/classes/Deal/{id}/history answers them, newest first.
const response = {
  results: [
    {
      id: 'chg3', event: 'update', at: date('2026-06-15T10:00:00.000Z'), sequence: 3, user: user(ME), master: false, door: 'rest',
      changes: [{ field: 'stage', old: 'proposal', new: 'won' }, { field: 'amount', old: 40000, new: 45000 }],
    },
    {
      id: 'chg2', event: 'update', at: date('2026-06-12T09:30:00.000Z'), sequence: 2, user: null, master: true, door: 'rest',
      changes: [{ field: 'company', old: { __type: 'Pointer', className: 'Company', objectId: 'oldCo' }, new: { __type: 'Pointer', className: 'Company', objectId: 'acme1' } }],
    },
    {
      id: 'chg1', event: 'create', at: date('2026-06-10T08:00:00.000Z'), sequence: 1, user: user(MATE), master: false, door: 'graphql',
      changes: [
        { field: 'title', old: null, new: 'Acme renewal' },
        { field: 'stage', old: null, new: 'proposal' },
        { field: 'amount', old: null, new: 40000 },
        { field: 'expectedCloseDate', old: null, new: date('2026-07-01T12:00:00.000Z') },
        { field: 'ACL', old: null, new: { [MATE]: { read: true, write: true } } },
      ],
    },
  ],
};

const entries = (): HistoryEntry[] => {
  const answer = historyAnswer(200, response);
  if (answer.kind !== 'entries') throw new Error(`unexpected ${answer.kind}`);
  return answer.entries;
};
const ctx = (names: Record<string, string> = {}): DescribeContext => ({ noun: 'deal', fields: dealFields, me: ME, names: new Map(Object.entries(names)) });

describe('history: reading the route', () => {
  it('decodes entries in the contract shape, keeping the server order', () => {
    const [latest, byMaster, created] = entries();
    expect(latest).toEqual({
      id: 'chg3', event: 'update', at: '2026-06-15T10:00:00.000Z', sequence: 3, userId: ME, master: false, door: 'rest',
      changes: [{ field: 'stage', old: 'proposal', new: 'won' }, { field: 'amount', old: 40000, new: 45000 }],
    });
    expect(byMaster.userId).toBeUndefined();
    expect(byMaster.master).toBe(true);
    expect(created.event).toBe('create');
    expect(created.changes).toHaveLength(5);
  });

  it('drops results that are not history entries, and a delete has no changes', () => {
    const answer = historyAnswer(200, { results: [{ id: 'x', event: 'rename', at: date('2026-01-01T00:00:00Z') }, { event: 'update' }, 'nonsense',
      { id: 'd', event: 'delete', at: date('2026-01-02T00:00:00Z'), sequence: 9, user: user(ME), master: false, door: 'rest' }] });
    expect(answer.kind === 'entries' && answer.entries.map((e) => [e.id, e.changes.length])).toEqual([['d', 0]]);
    expect(historyEntryFromJson(null)).toBeUndefined();
  });

  it('tells an unreadable record (404, code 101) from a server without the route (404 with another code, or no JSON) or without history for the class (119)', () => {
    expect(historyAnswer(404, { code: 101, error: 'Object not found.' })).toEqual({ kind: 'not-found' });
    expect(historyAnswer(404, { code: 107, error: 'Cannot GET /parse/classes/Deal/abc/history' })).toEqual({ kind: 'unsupported' });
    expect(historyAnswer(404, undefined)).toEqual({ kind: 'unsupported' });
    expect(historyAnswer(405, undefined)).toEqual({ kind: 'unsupported' });
    expect(historyAnswer(403, { code: 119, error: 'No history is kept for class Company (Parse:History:Classes).' })).toEqual({ kind: 'unsupported' });
  });

  it('passes other refusals on with the server message', () => {
    expect(historyAnswer(400, { code: 209, error: 'Invalid session token' })).toEqual({ kind: 'error', code: 209, message: 'Invalid session token' });
    expect(historyAnswer(500, undefined)).toEqual({ kind: 'error', code: 0, message: 'The server answered 500.' });
    expect(historyAnswer(200, { nothing: true }).kind).toBe('error');
  });
});

describe('history: sentences', () => {
  it('groups a change of several fields into one sentence, in the form\'s field order, values as the app shows them', () => {
    // The server listed stage before amount; the deal form lists Amount first.
    expect(describeEntry(entries()[0], ctx())).toBe(`You changed Amount from ${formatMoney(40000)} to ${formatMoney(45000)} and Stage from Proposal to Won`);
  });

  it('names the actor: you, a colleague whose profile is private, a readable colleague, the master key, the server', () => {
    const [mine, byMaster, byMate] = entries();
    expect(actorName(mine, ME, new Map())).toBe('You');
    expect(describeEntry(byMate, ctx())).toBe('A colleague created this deal');
    expect(describeEntry(byMate, ctx({ [MATE]: 'mate' }))).toBe('mate created this deal');
    expect(actorName(byMaster, ME, new Map())).toBe('Administrator');
    expect(actorName({ ...byMaster, master: false }, ME, new Map())).toBe('System');
    expect(describeEntry({ ...mine, event: 'delete', changes: [] }, ctx())).toBe('You deleted this deal');
  });

  it('shows pointers by name where the page has the record, else by what they are', () => {
    expect(describeEntry(entries()[1], ctx({ acme1: 'Acme Corp' }))).toBe('Administrator changed Company from a company to Acme Corp');
    expect(describeEntry(entries()[1], ctx())).toBe('Administrator changed Company from a company to a company');
    const reassigned: HistoryEntry = { ...entries()[0], changes: [{ field: 'assignedTo', old: user(ME), new: user(MATE) }] };
    expect(describeEntry(reassigned, ctx())).toBe('You changed Owner from you to a colleague');
    expect(describeEntry(reassigned, ctx({ [MATE]: 'mate' }))).toBe('You changed Owner from you to mate');
    const other: HistoryEntry = { ...entries()[0], changes: [{ field: 'related', old: null, new: { __type: 'Pointer', className: 'Invoice', objectId: 'i1' } }] };
    expect(describeEntry(other, ctx())).toBe('You set Related to a record');
  });

  it('says set and cleared for fields that were empty or emptied, and quotes (and shortens) text', () => {
    const long = 'x'.repeat(100);
    const entry: HistoryEntry = {
      ...entries()[0],
      changes: [
        { field: 'notes', old: null, new: 'Call back Monday' },
        { field: 'contact', old: { __type: 'Pointer', className: 'Contact', objectId: 'c1' }, new: null },
        { field: 'title', old: 'Old', new: long },
        { field: 'expectedCloseDate', old: date('2026-07-01T12:00:00.000Z'), new: date('2026-08-01T12:00:00.000Z') },
      ],
    };
    const text = describeEntry(entry, ctx());
    expect(text).toBe(`You changed Title from “Old” to “${'x'.repeat(59)}…” and Expected close date from ${formatDate('2026-07-01T12:00:00.000Z')} to ${formatDate('2026-08-01T12:00:00.000Z')}, cleared Contact and set Notes to “Call back Monday”`);
  });

  it('names a field that has no value to show (lists, access) without from/to', () => {
    const entry: HistoryEntry = { ...entries()[0], changes: [{ field: 'attachments', old: [], new: [{ name: 'a.pdf' }] as Json }, { field: 'ACL', old: {}, new: { '*': { read: true } } }] };
    expect(describeEntry(entry, ctx())).toBe('You changed Files and Access');
    expect(fieldLabel('nextStepDueAt', dealFields)).toBe('Next step due at');
    expect(describeEntry({ ...entry, changes: [] }, ctx())).toBe('You saved this deal without changes');
    // Fields a form saved again with the value they had (or emptied while empty) are left out.
    const resaved: HistoryEntry = { ...entry, changes: [{ field: 'notes', old: null, new: null }, { field: 'title', old: 'Same', new: 'Same' }, { field: 'stage', old: 'lead', new: 'won' }] };
    expect(describeEntry(resaved, ctx())).toBe('You changed Stage from Lead to Won');
    expect(describeEntry({ ...resaved, changes: resaved.changes.slice(0, 2) }, ctx())).toBe('You saved this deal without changes');
  });

  it('lists what a record was created with in the form\'s order, leaving out values that cannot be shown and the creator', () => {
    const created = entries()[2];
    const withCreator = { ...created, changes: [...created.changes, { field: 'createdBy', old: null, new: user(MATE) }] };
    expect(createdWith(withCreator, ctx())).toEqual([
      'Title: “Acme renewal”', `Amount: ${formatMoney(40000)}`, 'Stage: Proposal', `Expected close date: ${formatDate('2026-07-01T12:00:00.000Z')}`,
    ]);
    expect(createdWith(entries()[0], ctx())).toEqual([]);
  });

  it('takes names from the record\'s included pointers, and finds the users an entry mentions', () => {
    const names = namesFromRecord({ objectId: 'd1', title: 'Deal', company: { __type: 'Object', className: 'Company', objectId: 'acme1', name: 'Acme Corp' }, contact: { __type: 'Pointer', className: 'Contact', objectId: 'c1' } });
    expect([...names]).toEqual([['acme1', 'Acme Corp']]);
    expect([...usersMentioned(entries())].sort()).toEqual([MATE, ME].sort());
  });
});

describe('history: merged with activities', () => {
  const activity = (id: string, createdAt: string, dueDate?: string): ActivityView => ({ id, type: 'call', subject: id, createdAt, dueDate });

  it('orders changes and activities by time, newest first', () => {
    const items = mergeTimeline(
      [activity('logged', '2026-06-13T12:00:00.000Z'), activity('upcoming', '2026-06-11T12:00:00.000Z', '2026-06-20T12:00:00.000Z'), activity('first', '2026-06-09T12:00:00.000Z')],
      entries(),
    );
    expect(items.map((i) => (i.kind === 'change' ? i.entry.id : i.activity.id))).toEqual(['upcoming', 'chg3', 'logged', 'chg2', 'chg1', 'first']);
    expect(new Set(items.map((i) => i.key)).size).toBe(items.length);
  });

  it('at the same instant puts changes first, the later (higher sequence) change before the earlier', () => {
    const at = '2026-06-15T10:00:00.000Z';
    const [a, b] = entries();
    const items = mergeTimeline([activity('same', at)], [{ ...b, at, sequence: 2 }, { ...a, at, sequence: 3 }]);
    expect(items.map((i) => i.key)).toEqual(['change-chg3', 'change-chg2', 'activity-same']);
  });

  it('is just the activities, or just the history, when the other is empty', () => {
    expect(mergeTimeline([activity('only', '2026-06-13T12:00:00.000Z')], []).map((i) => i.kind)).toEqual(['activity']);
    expect(mergeTimeline([], entries()).map((i) => i.kind)).toEqual(['change', 'change', 'change']);
  });
});
