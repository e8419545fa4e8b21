// A record's history (GET /parse/classes/{className}/{objectId}/history, newest first) as the timeline shows it:
// who did what in a sentence ("You changed Stage from Proposal to Won"), with field labels and values formatted
// as the rest of the app shows them, merged with the record's activities by time. Pure functions only: the
// fetching is in src/history.ts, the rendering in components/History.tsx.
import { activityTime } from './activities';
import { formatDate, formatMoney, label } from './format';
import { type ActivityView, dateOf, type Json, type JsonObject, refOf } from './model';

export interface FieldChange {
  field: string;
  old: Json;
  new: Json;
}

export interface HistoryEntry {
  id: string;
  event: 'create' | 'update' | 'delete';
  /** ISO time of the change. */
  at: string;
  sequence: number;
  userId?: string;
  master: boolean;
  door?: string;
  changes: FieldChange[];
}

const isObject = (v: Json | undefined): v is JsonObject => !!v && typeof v === 'object' && !Array.isArray(v);

/** One result of the history route, in Parse's JSON encoding; undefined when it is not a history entry. */
export function historyEntryFromJson(json: Json): HistoryEntry | undefined {
  if (!isObject(json)) return undefined;
  const event = json.event;
  const at = dateOf(json.at);
  if ((event !== 'create' && event !== 'update' && event !== 'delete') || !at || typeof json.id !== 'string') return undefined;
  const user = isObject(json.user) && typeof json.user.objectId === 'string' ? json.user.objectId : undefined;
  const changes = Array.isArray(json.changes)
    ? json.changes.filter(isObject).filter((c) => typeof c.field === 'string').map((c) => ({ field: c.field as string, old: c.old ?? null, new: c.new ?? null }))
    : [];
  return {
    id: json.id,
    event,
    at,
    sequence: typeof json.sequence === 'number' ? json.sequence : 0,
    userId: user,
    master: json.master === true,
    door: typeof json.door === 'string' ? json.door : undefined,
    changes,
  };
}

/** What the history route answered: entries, the record not found (or not readable: 101), or no such route. */
export type HistoryAnswer =
  | { kind: 'entries'; entries: HistoryEntry[] }
  | { kind: 'not-found' }
  | { kind: 'unsupported' }
  | { kind: 'error'; code: number; message: string };

/** Parse's "object not found", which is also the answer for an object the caller may not read. */
const OBJECT_NOT_FOUND = 101;
/** Parse's "operation forbidden": the server keeps no history for this class (its history setting leaves it out). */
const OPERATION_FORBIDDEN = 119;

/**
 * Classifies a response of the history route. A server without the route answers 404 too, but with another
 * code ("Cannot GET …", 107) or no JSON at all (a host or proxy page); one that keeps no history for the class
 * answers 119. Either way there is no history to show.
 */
export function historyAnswer(status: number, body: unknown): HistoryAnswer {
  const json = (body && typeof body === 'object' ? body : {}) as { code?: unknown; error?: unknown; results?: unknown };
  if (status >= 200 && status < 300 && Array.isArray(json.results)) {
    return { kind: 'entries', entries: (json.results as Json[]).map(historyEntryFromJson).filter((e): e is HistoryEntry => !!e) };
  }
  if (status === 404 && json.code === OBJECT_NOT_FOUND) return { kind: 'not-found' };
  if (status === 404 || status === 405 || status === 501 || json.code === OPERATION_FORBIDDEN) return { kind: 'unsupported' };
  const code = typeof json.code === 'number' ? json.code : 0;
  return { kind: 'error', code, message: typeof json.error === 'string' ? json.error : `The server answered ${status}.` };
}

// ---- sentences -------------------------------------------------------------------------------------

/** How a field is labelled and shown: the app's field specs (components/RecordForm.tsx) fit this shape. */
export interface FieldLabel {
  name: string;
  label: string;
  kind: string;
  target?: string;
}

export interface DescribeContext {
  /** The class as a noun ("deal"): "created this deal". */
  noun: string;
  fields: readonly FieldLabel[];
  /** The signed-in user's id: their changes read "You …". */
  me?: string;
  /** Names the page already has, by object id: included records (the deal's company) and readable users. */
  names: ReadonlyMap<string, string>;
}

// Fields the forms do not show but the history may carry.
const otherLabels: Record<string, string> = { attachments: 'Files', ACL: 'Access', createdBy: 'Created by', completedAt: 'Completed on' };

/** "expectedCloseDate" → "Expected close date", for a field the app has no label for. */
function humanize(field: string): string {
  const words = field.replace(/^_+/, '').replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/_/g, ' ').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function fieldLabel(field: string, fields: readonly FieldLabel[]): string {
  return fields.find((f) => f.name === field)?.label ?? otherLabels[field] ?? humanize(field);
}

const article: Record<string, string> = { Company: 'a company', Contact: 'a contact', Deal: 'a deal', Activity: 'an activity' };

/**
 * Who a user is to the reader: "You", their username when the reader may read their profile, else "A colleague"
 * (profiles are private by default, as for deal owners).
 */
export function personName(userId: string, me: string | undefined, names: ReadonlyMap<string, string>): string {
  if (userId === me) return 'You';
  return names.get(userId) ?? 'A colleague';
}

/** Who made a change: a user, the master key (an administrator's tools) or the server itself. */
export function actorName(entry: HistoryEntry, me: string | undefined, names: ReadonlyMap<string, string>): string {
  if (entry.userId) return personName(entry.userId, me, names);
  return entry.master ? 'Administrator' : 'System';
}

const MAX_TEXT = 60;

/** A value as the app shows it elsewhere; undefined when it cannot be put in a sentence (lists, objects). */
export function formatValue(field: string, value: Json, ctx: DescribeContext): string | undefined {
  const spec = ctx.fields.find((f) => f.name === field);
  if (value === null || value === '') return undefined;
  if (typeof value === 'number') return field === 'amount' ? formatMoney(value) : value.toLocaleString();
  if (typeof value === 'boolean') return value ? 'Yes' : 'No';
  if (typeof value === 'string') {
    if (spec?.kind === 'select') return label(value);
    const text = value.length > MAX_TEXT ? `${value.slice(0, MAX_TEXT - 1)}…` : value;
    return `“${text}”`;
  }
  if (!isObject(value)) return undefined;
  if (value.__type === 'Date') return formatDate(dateOf(value));
  const ref = refOf(value);
  if (ref && (value.__type === 'Pointer' || value.__type === 'Object')) {
    if (ref.className === '_User') {
      const who = personName(ref.id, ctx.me, ctx.names);
      return who === 'You' ? 'you' : who === 'A colleague' ? 'a colleague' : who;
    }
    return ref.label ?? ctx.names.get(ref.id) ?? article[ref.className] ?? 'a record';
  }
  return undefined;
}

const isEmpty = (v: Json) => v === null || v === '' || (Array.isArray(v) && v.length === 0);

/** One field's part of the sentence: "Stage from Proposal to Won", "set Notes to “…”", "cleared Contact". */
function changePhrase(c: FieldChange, ctx: DescribeContext): { verb: 'changed' | 'set' | 'cleared'; text: string } {
  const name = fieldLabel(c.field, ctx.fields);
  const from = formatValue(c.field, c.old, ctx);
  const to = formatValue(c.field, c.new, ctx);
  if (isEmpty(c.new) && !isEmpty(c.old)) return { verb: 'cleared', text: name };
  if (isEmpty(c.old) && to !== undefined) return { verb: 'set', text: `${name} to ${to}` };
  if (from !== undefined && to !== undefined) return { verb: 'changed', text: `${name} from ${from} to ${to}` };
  return { verb: 'changed', text: name };
}

/** "a, b and c". */
function list(parts: readonly string[]): string {
  return parts.length <= 1 ? parts.join('') : `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}`;
}

/** The entry in one sentence, its fields grouped: "You changed Stage from Proposal to Won and Amount from $1 to $2". */
export function describeEntry(entry: HistoryEntry, ctx: DescribeContext): string {
  const who = actorName(entry, ctx.me, ctx.names);
  if (entry.event === 'create') return `${who} created this ${ctx.noun}`;
  if (entry.event === 'delete') return `${who} deleted this ${ctx.noun}`;
  // A form saves every field it shows; one that kept its value (or stayed empty) is no change to tell.
  const changes = inFormOrder(entry.changes, ctx.fields).filter((c) => !(isEmpty(c.old) && isEmpty(c.new)) && JSON.stringify(c.old) !== JSON.stringify(c.new));
  if (changes.length === 0) return `${who} saved this ${ctx.noun} without changes`;
  // Same-verb phrases run together ("changed Stage from … and Amount from …"), in the order the verbs first appear.
  const byVerb = new Map<string, string[]>();
  for (const c of changes) {
    const { verb, text } = changePhrase(c, ctx);
    byVerb.set(verb, [...(byVerb.get(verb) ?? []), text]);
  }
  return `${who} ${list([...byVerb].map(([verb, texts]) => `${verb} ${list(texts)}`))}`;
}

/** Changes in the order the record's form lists the fields (the order the page shows them), others after as they came. */
function inFormOrder(changes: readonly FieldChange[], fields: readonly FieldLabel[]): FieldChange[] {
  const position = (c: FieldChange) => { const i = fields.findIndex((f) => f.name === c.field); return i < 0 ? fields.length : i; };
  return changes.map((c, i) => ({ c, i })).sort((a, b) => position(a.c) - position(b.c) || a.i - b.i).map(({ c }) => c);
}

/**
 * The values a record was created with, as "Stage: Proposal" lines, in the form's order (fields without a showable
 * value left out, and who created it, which the sentence says).
 */
export function createdWith(entry: HistoryEntry, ctx: DescribeContext): string[] {
  if (entry.event !== 'create') return [];
  return inFormOrder(entry.changes, ctx.fields).filter((c) => c.field !== 'createdBy').flatMap((c) => {
    const value = formatValue(c.field, c.new, ctx);
    return value === undefined ? [] : [`${fieldLabel(c.field, ctx.fields)}: ${value}`];
  });
}

/** Names by object id from a record's included pointers (a deal's company and contact), for the sentences. */
export function namesFromRecord(record: JsonObject): Map<string, string> {
  const names = new Map<string, string>();
  for (const value of Object.values(record)) {
    const ref = refOf(value ?? undefined);
    if (ref?.label) names.set(ref.id, ref.label);
  }
  return names;
}

/** The user ids the entries mention (actors and user pointers), to know whether names are worth looking up. */
export function usersMentioned(entries: readonly HistoryEntry[]): Set<string> {
  const ids = new Set<string>();
  for (const e of entries) {
    if (e.userId) ids.add(e.userId);
    for (const c of e.changes) for (const v of [c.old, c.new]) { const r = refOf(v); if (r?.className === '_User') ids.add(r.id); }
  }
  return ids;
}

// ---- the merged timeline ---------------------------------------------------------------------------

export type TimelineItem =
  | { kind: 'activity'; key: string; at: number; activity: ActivityView }
  | { kind: 'change'; key: string; at: number; entry: HistoryEntry };

/**
 * History entries and activities in one list, newest first. An activity is placed as the activity list places
 * it (its due date, else when it was logged); at the same instant a change comes before an activity, and later
 * changes (higher sequence) before earlier ones.
 */
export function mergeTimeline(activities: readonly ActivityView[], entries: readonly HistoryEntry[]): TimelineItem[] {
  const items: TimelineItem[] = [
    ...entries.map((entry): TimelineItem => ({ kind: 'change', key: `change-${entry.id}`, at: Date.parse(entry.at) || 0, entry })),
    ...activities.map((activity): TimelineItem => ({ kind: 'activity', key: `activity-${activity.id}`, at: activityTime(activity), activity })),
  ];
  const rank = (i: TimelineItem) => (i.kind === 'change' ? 0 : 1);
  const sequence = (i: TimelineItem) => (i.kind === 'change' ? i.entry.sequence : 0);
  return items.sort((a, b) => b.at - a.at || rank(a) - rank(b) || sequence(b) - sequence(a));
}
