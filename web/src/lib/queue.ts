// The queue of changes made while offline, as plain data: what is queued, how a second change to the same
// record joins the first, and the conflict rule applied when a change is sent. No SDK here, so every rule is
// unit tested; src/sync.ts persists the queue and talks to the server.
import type { Json, JsonObject } from './model';

/** A field's new value as the REST API encodes it; `{ "__op": "Delete" }` removes the field. */
export type Encoded = Json;
export const UNSET: JsonObject = { __op: 'Delete' };

export type QueueStatus = 'waiting' | 'sending' | 'conflict' | 'failed';

/** The server's copy of a record when a change could not be sent as is. */
export interface ServerVersion {
  updatedAt?: string;
  values: JsonObject;
}

export interface QueueEntry {
  id: string;
  op: 'create' | 'update' | 'destroy';
  className: string;
  /** Absent for a create (the server assigns it). */
  objectId?: string;
  /** What the user calls the record (title, name or subject), for the queue list and the dialog. */
  label: string;
  /** The changed fields only, REST-encoded. */
  changes: JsonObject;
  /** The changed fields' values in the version the edit started from (null: the field was empty). */
  before: JsonObject;
  /** updatedAt of the version the edit started from; undefined when that version was never seen. */
  base?: string;
  queuedAt: string;
  status: QueueStatus;
  /** Why a failed entry was refused (the server's message). */
  error?: string;
  /** On conflict: the server's current version, shown next to the user's. */
  theirs?: ServerVersion;
}

const isOpen = (e: QueueEntry) => e.status === 'waiting' || e.status === 'failed' || e.status === 'conflict';
const sameRecord = (a: QueueEntry, b: { className: string; objectId?: string }) =>
  a.objectId !== undefined && a.className === b.className && a.objectId === b.objectId;

/**
 * Adds a change. A later update of a record already queued joins that entry: its fields win, while the base and
 * the "before" values stay those of the first edit, so the conflict check still compares with what the user saw
 * first. A delete replaces queued updates of its record. An entry being sent is never joined (its request is out).
 */
export function enqueue(queue: readonly QueueEntry[], entry: QueueEntry): QueueEntry[] {
  if (entry.op === 'create') return [...queue, entry];
  const i = queue.findIndex((e) => isOpen(e) && sameRecord(e, entry));
  if (i < 0) return [...queue, entry];
  const prior = queue[i];
  if (prior.op === 'destroy') return [...queue];
  const before = { ...entry.before, ...prior.before };
  const merged: QueueEntry = entry.op === 'destroy'
    ? { ...entry, id: prior.id, before, base: prior.base ?? entry.base, queuedAt: prior.queuedAt, changes: {}, status: 'waiting', error: undefined, theirs: undefined }
    : { ...prior, label: entry.label || prior.label, changes: { ...prior.changes, ...entry.changes }, before, status: prior.status === 'conflict' ? 'conflict' : 'waiting', error: undefined };
  return queue.map((e, j) => (j === i ? merged : e));
}

export type Decision =
  | { kind: 'send' }
  | { kind: 'done' }
  | { kind: 'gone'; message: string }
  | { kind: 'conflict'; theirs: ServerVersion };

/**
 * The conflict rule, applied to an update or delete just before it is sent, with the server's current copy
 * (undefined when the record no longer exists):
 * - the server's updatedAt is not after the base the edit started from: nobody else changed it; send.
 * - it is after, and the change is a delete: conflict (the user deletes what they have not seen).
 * - it is after, and the change is an update: conflict when someone else changed a field this edit also changes
 *   (the server's value differs from both the value the edit started from and the edit's own value). Changes to
 *   other fields are kept: only the changed fields are sent.
 * A delete of a record already gone is done; an update of a gone record fails with a message.
 */
export function decide(entry: QueueEntry, server: ServerVersion | undefined): Decision {
  if (entry.op === 'create') return { kind: 'send' };
  if (!server) return entry.op === 'destroy' ? { kind: 'done' } : { kind: 'gone', message: `${entry.label || entry.className} was deleted on the server; your change was not applied.` };
  if (!entry.base || !server.updatedAt || Date.parse(server.updatedAt) <= Date.parse(entry.base)) return { kind: 'send' };
  if (entry.op === 'destroy') return { kind: 'conflict', theirs: server };
  const overlap = Object.keys(entry.changes).some((field) => {
    const theirs = server.values[field];
    return !sameValue(theirs, entry.before[field]) && !sameValue(theirs, entry.changes[field]);
  });
  return overlap ? { kind: 'conflict', theirs: server } : { kind: 'send' };
}

/** "Keep mine": the entry is sent as is, now based on the version the user has seen. */
export function keepMine(entry: QueueEntry): QueueEntry {
  const theirs = entry.theirs;
  if (!theirs) return { ...entry, status: 'waiting' };
  const before: JsonObject = {};
  for (const field of Object.keys(entry.changes)) before[field] = theirs.values[field] ?? null;
  return { ...entry, status: 'waiting', base: theirs.updatedAt ?? entry.base, before, theirs: undefined, error: undefined };
}

/** Field values compared as the server stores them: dates by instant, pointers and objects by class and id. */
export function sameValue(a: Json | undefined, b: Json | undefined): boolean {
  const na = normalize(a), nb = normalize(b);
  return JSON.stringify(na) === JSON.stringify(nb);
}

function normalize(v: Json | undefined): Json | undefined {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => normalize(x) ?? null);
  if (v.__op === 'Delete') return null;
  if (v.__type === 'Date' && typeof v.iso === 'string') return { date: new Date(v.iso).toISOString() };
  if ((v.__type === 'Pointer' || v.__type === 'Object') && typeof v.className === 'string') return { ref: `${v.className}:${String(v.objectId)}` };
  const out: JsonObject = {};
  for (const k of Object.keys(v).sort()) out[k] = normalize(v[k]) ?? null;
  return out;
}

/** A field's value as the user reads it in the queue list and the conflict dialog. */
export function display(v: Json | undefined): string {
  if (v === undefined || v === null || v === '') return '—';
  if (typeof v === 'number') return v.toLocaleString();
  if (typeof v !== 'object') return String(v);
  if (Array.isArray(v)) return v.map(display).join(', ');
  if (v.__op === 'Delete') return '—';
  if (v.__type === 'Date' && typeof v.iso === 'string') return v.iso.slice(0, 10);
  if (v.__type === 'Pointer' || v.__type === 'Object') {
    const name = v.name ?? v.title ?? v.username ?? v.subject;
    return typeof name === 'string' ? name : `${String(v.className)} ${String(v.objectId)}`;
  }
  return JSON.stringify(v);
}

/** One line per entry: "Update deal “Acme rollout”: amount, stage". */
export function describe(entry: QueueEntry): string {
  const what = entry.className === 'Activity' ? 'activity' : entry.className.toLowerCase();
  const verb = entry.op === 'create' ? 'New' : entry.op === 'destroy' ? 'Delete' : 'Update';
  const fields = entry.op === 'update' ? `: ${Object.keys(entry.changes).join(', ')}` : '';
  return `${verb} ${what} “${entry.label || '(untitled)'}”${fields}`;
}

/** On start: an entry that was being sent when the page closed is sent again (the check runs again first). */
export function restore(queue: readonly QueueEntry[]): QueueEntry[] {
  return queue.map((e) => (e.status === 'sending' ? { ...e, status: 'waiting' } : e));
}
