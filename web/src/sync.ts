// Offline sync over the Parse SDK's local datastore (default pin):
// - pull: contacts, companies, deals and the user's activities are fetched on start and on reconnect, and the
//   pinned set is replaced by them (records deleted elsewhere leave the device);
// - queue: a change made offline (or whose request could not reach the server) is kept in local storage, applied
//   to the pinned copy at once so lists show it, and sent when the connection is back, after the conflict check
//   of lib/queue.ts against the server's current copy. See web/README.md, "Offline".
import Parse from 'parse';
import { connectivity } from './connectivity';
import { dateOf, type Json, type JsonObject } from './lib/model';
import { decide, enqueue, keepMine, type QueueEntry, restore, sameValue, UNSET } from './lib/queue';
import { errorMessage, isConnectionError } from './lib/offline';

/** What is kept on the device, and the pointers included so names show offline. Pinned in this order, so a record's
 * own query (with its includes) writes its pinned copy last. */
const SYNCED: readonly { className: string; include: string[]; mine?: boolean }[] = [
  { className: 'Activity', include: ['relatedTo'], mine: true },
  { className: 'Deal', include: ['company', 'contact', 'assignedTo'] },
  { className: 'Contact', include: ['company'] },
  { className: 'Company', include: [] },
];

const includesOf = (className: string) => SYNCED.find((s) => s.className === className)?.include ?? [];

type Listener = () => void;
function store<T>(read: () => T) {
  const listeners = new Set<Listener>();
  return {
    get value() { return read(); },
    subscribe(l: Listener) { listeners.add(l); return () => { listeners.delete(l); }; },
    notify() { listeners.forEach((l) => l()); },
  };
}

// ---- local data version: lists reload when the device's copy changed (pull, sent change, resolved conflict) ----

let version = 0;
export const localData = store(() => version);
function touched() { version++; localData.notify(); }

// ---- the queue, persisted per user ---------------------------------------------------------------------------------

let entries: QueueEntry[] = [];
let loadedKey: string | undefined;

function queueKey() {
  return `crm.offlineQueue.${Parse.applicationId}.${Parse.User.current()?.id ?? 'signed-out'}`;
}

function current(): QueueEntry[] {
  const key = queueKey();
  if (key !== loadedKey) {
    loadedKey = key;
    try { entries = restore(JSON.parse(localStorage.getItem(key) ?? '[]') as QueueEntry[]); } catch { entries = []; }
  }
  return entries;
}

function commit(next: QueueEntry[]) {
  current();
  entries = next;
  if (next.length) localStorage.setItem(loadedKey!, JSON.stringify(next)); else localStorage.removeItem(loadedKey!);
  changeQueue.notify();
}

const patch = (id: string, p: Partial<QueueEntry>) => commit(current().map((e) => (e.id === id ? { ...e, ...p } : e)));
const remove = (id: string) => commit(current().filter((e) => e.id !== id));

export const changeQueue = store(() => current());

const newId = () => (typeof crypto !== 'undefined' && 'randomUUID' in crypto ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`);

// ---- pinned copies ---------------------------------------------------------------------------------------------

const json = (o: Parse.Object): JsonObject => o.toJSON() as unknown as JsonObject;
const str = (v: Json | undefined) => (typeof v === 'string' ? v : undefined);
const labelOf = (j: JsonObject) => str(j.title) ?? str(j.name) ?? str(j.subject) ?? '';

async function pinned(className: string, id: string): Promise<JsonObject | undefined> {
  try { return json(await new Parse.Query(className).fromPin().get(id)); } catch { return undefined; }
}

/** The record with its includes from the server, pinned; undefined when it no longer exists (or cannot be read). */
async function fetchAndPin(className: string, id: string): Promise<Parse.Object | undefined> {
  const q = new Parse.Query(className);
  includesOf(className).forEach((i) => q.include(i));
  try {
    const o = await q.get(id);
    await o.pin();
    return o;
  } catch (e) {
    if ((e as { code?: number }).code !== Parse.Error.OBJECT_NOT_FOUND) throw e;
    await unpin(className, id);
    return undefined;
  }
}

// Unpinning works on bare objects: unpinning one with its pointers loaded would unpin those records too.
function bare(className: string, id: string): Parse.Object {
  const o = new Parse.Object(className);
  o.id = id;
  return o;
}

async function unpin(className: string, id: string) {
  await bare(className, id).unPin().catch(() => undefined);
}

/** Applies queued changes to the pinned copy, keeping the server's updatedAt (the base of the change). */
async function applyLocally(className: string, id: string, changes: JsonObject): Promise<Parse.Object> {
  const next: JsonObject = { ...((await pinned(className, id)) ?? { objectId: id }) };
  for (const [field, value] of Object.entries(changes)) {
    if (isUnset(value)) { delete next[field]; continue; }
    const ref = pointerOf(value);
    const target = ref ? await pinned(ref.className, ref.objectId) : undefined;
    next[field] = ref && target ? { ...target, __type: 'Object', className: ref.className } : value;
  }
  const o = Parse.Object.fromJSON({ ...next, className }, true);
  await o.pin();
  return o;
}

const isUnset = (v: Json) => !!v && typeof v === 'object' && !Array.isArray(v) && v.__op === UNSET.__op;
function pointerOf(v: Json): { className: string; objectId: string } | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v) || v.__type !== 'Pointer') return undefined;
  return typeof v.className === 'string' && typeof v.objectId === 'string' ? { className: v.className, objectId: v.objectId } : undefined;
}

function withChanges(o: Parse.Object, changes: JsonObject): Parse.Object {
  for (const [field, value] of Object.entries(changes)) {
    if (isUnset(value)) o.unset(field); else o.set(field, Parse._decode(null, value));
  }
  return o;
}

// ---- offline writes --------------------------------------------------------------------------------------------

/** Queues a create or update; answers the record as it now shows on this device (unsaved for a create). */
export async function queueSave(className: string, id: string | undefined, values: JsonObject): Promise<Parse.Object> {
  const local = id ? await pinned(className, id) : undefined;
  // Forms send every field: only those that differ from the copy the user edited are changes.
  const changes: JsonObject = {};
  for (const [field, value] of Object.entries(values)) if (!local || !sameValue(local[field], value)) changes[field] = value;
  if (id && local && Object.keys(changes).length === 0) return Parse.Object.fromJSON({ ...local, className });
  const before: JsonObject = {};
  for (const field of Object.keys(changes)) before[field] = local?.[field] ?? null;
  const label = labelOf({ ...(local ?? {}), ...changes });
  commit(enqueue(current(), {
    id: newId(), op: id ? 'update' : 'create', className, objectId: id, label, changes, before,
    base: local ? dateOf(local.updatedAt) : undefined, queuedAt: new Date().toISOString(), status: 'waiting',
  }));
  const shown = id ? await applyLocally(className, id, changes) : withChanges(new Parse.Object(className), changes);
  touched();
  return shown;
}

export async function queueDestroy(className: string, id: string): Promise<void> {
  const local = await pinned(className, id);
  commit(enqueue(current(), {
    id: newId(), op: 'destroy', className, objectId: id, label: local ? labelOf(local) : id, changes: {}, before: {},
    base: local ? dateOf(local.updatedAt) : undefined, queuedAt: new Date().toISOString(), status: 'waiting',
  }));
  await unpin(className, id);
  touched();
}

/** After a save that reached the server: the pinned copy is the server's, with its includes. */
export async function refreshPinned(className: string, id: string): Promise<void> {
  await fetchAndPin(className, id).catch(() => undefined);
}

// ---- replay ----------------------------------------------------------------------------------------------------

let replaying: Promise<void> | undefined;

/** Sends the waiting changes in order; stops when the server cannot be reached. */
export function replay(): Promise<void> {
  replaying ??= sendWaiting().finally(() => { replaying = undefined; });
  return replaying;
}

async function sendWaiting() {
  let changed = false;
  while (connectivity.online) {
    const next = current().find((e) => e.status === 'waiting');
    if (!next) break;
    patch(next.id, { status: 'sending' });
    try {
      await send(next);
    } catch (e) {
      if (isConnectionError(e)) {
        patch(next.id, { status: 'waiting' });
        connectivity.failed();
        break;
      }
      patch(next.id, { status: 'failed', error: errorMessage(e) });
    }
    changed = true;
  }
  if (changed) touched();
}

async function send(entry: QueueEntry) {
  if (entry.op === 'create') {
    const o = withChanges(new Parse.Object(entry.className), entry.changes);
    await o.save();
    remove(entry.id);
    await refreshPinned(entry.className, o.id!);
    return;
  }
  const id = entry.objectId!;
  const q = new Parse.Query(entry.className);
  includesOf(entry.className).forEach((i) => q.include(i));
  const server = await q.get(id).catch((e: unknown) => {
    if ((e as { code?: number }).code === Parse.Error.OBJECT_NOT_FOUND) return undefined;
    throw e;
  });
  const values = server ? json(server) : undefined;
  const decision = decide(entry, values ? { updatedAt: server!.updatedAt?.toISOString(), values } : undefined);
  switch (decision.kind) {
    case 'done':
      remove(entry.id);
      await unpin(entry.className, id);
      return;
    case 'gone':
      patch(entry.id, { status: 'failed', error: decision.message });
      await unpin(entry.className, id);
      return;
    case 'conflict': {
      // Only what the dialog shows is kept: the changed fields and the record's name.
      const kept: JsonObject = {};
      for (const f of [...Object.keys(entry.changes), 'title', 'name', 'subject']) if (f in decision.theirs.values) kept[f] = decision.theirs.values[f];
      patch(entry.id, { status: 'conflict', theirs: { updatedAt: decision.theirs.updatedAt, values: kept } });
      return;
    }
    case 'send':
      break;
  }
  const o = new Parse.Object(entry.className);
  o.id = id;
  if (entry.op === 'destroy') {
    await o.destroy();
    remove(entry.id);
    return;
  }
  await withChanges(o, entry.changes).save();
  remove(entry.id);
  await refreshPinned(entry.className, id);
}

/** The user's answer to a conflict: send theirs anyway ("mine"), or drop the change and keep the server's ("theirs"). */
export async function resolveConflict(entryId: string, choice: 'mine' | 'theirs'): Promise<void> {
  const entry = current().find((e) => e.id === entryId);
  if (!entry) return;
  if (choice === 'mine') {
    commit(current().map((e) => (e.id === entryId ? keepMine(e) : e)));
    await replay();
    return;
  }
  remove(entryId);
  if (entry.objectId) await fetchAndPin(entry.className, entry.objectId).catch(() => undefined);
  touched();
}

/** Drops a change the server refused; the device takes the server's copy again. */
export async function discard(entryId: string): Promise<void> {
  const entry = current().find((e) => e.id === entryId);
  if (!entry) return;
  remove(entryId);
  if (entry.objectId && connectivity.online) await fetchAndPin(entry.className, entry.objectId).catch(() => undefined);
  touched();
}

// ---- pull --------------------------------------------------------------------------------------------------------

/** Replaces the device's records with the server's, then lays the queued changes on top again. */
export async function pull(): Promise<void> {
  const me = Parse.User.current();
  if (!me || !connectivity.online) return;
  const fetched: Parse.Object[][] = [];
  for (const spec of SYNCED) {
    const q = new Parse.Query(spec.className);
    spec.include.forEach((i) => q.include(i));
    if (spec.mine) q.equalTo('createdBy', me);
    fetched.push(await q.findAll({ batchSize: 500 }));
  }
  await Parse.Object.unPinAllObjects();
  for (const rows of fetched) if (rows.length) await Parse.Object.pinAll(rows);
  // Unpinning the pin list leaves the records' own entries; those of records no longer on the server go too.
  const kept = new Set(fetched.flat().map((o) => `${o.className}:${o.id}`));
  await forget(SYNCED.map((s) => s.className), (o) => !kept.has(`${o.className}:${o.id}`));
  for (const e of current()) {
    if (!e.objectId) continue;
    if (e.op === 'destroy') await unpin(e.className, e.objectId);
    else await applyLocally(e.className, e.objectId, e.changes);
  }
  touched();
}

/** Removes the device's copies of records of these classes (all of them, or those the filter picks). */
async function forget(classes: readonly string[], which: (o: Parse.Object) => boolean = () => true) {
  const gone: Parse.Object[] = [];
  for (const className of classes) {
    for (const o of await new Parse.Query(className).fromLocalDatastore().find()) {
      if (o.id && which(o)) gone.push(bare(className, o.id));
    }
  }
  if (gone.length) await Parse.Object.unPinAll(gone);
}

/** Log-out: nothing of the user's records stays on the device (their queued changes do, until they sign in again). */
export async function forgetDevice(): Promise<void> {
  await forget([...SYNCED.map((s) => s.className), '_User']);
  await Parse.Object.unPinAllObjects();
}

let syncing: Promise<void> | undefined;

/** Sends queued changes, then refreshes the device's copy. On start, on reconnect and from the queue's button. */
export function syncNow(): Promise<void> {
  syncing ??= (async () => {
    try {
      await replay();
      await pull();
    } catch (e) {
      if (isConnectionError(e)) connectivity.failed();
    }
  })().finally(() => { syncing = undefined; });
  return syncing;
}

// Back online: send the queue and refresh. Marked offline by a failed request while the browser still says online:
// the server's health check, every 10 s, finds out when it answers again.
let probe: ReturnType<typeof setInterval> | undefined;
connectivity.subscribe(() => {
  if (connectivity.online) {
    clearInterval(probe);
    probe = undefined;
    if (Parse.User.current()) void syncNow();
    return;
  }
  probe ??= setInterval(() => {
    if (!navigator.onLine) return;
    fetch(`${Parse.serverURL}/health`, { headers: { 'X-Parse-Application-Id': Parse.applicationId ?? '' } })
      .then((r) => { if (r.ok) connectivity.succeeded(); }, () => undefined);
  }, 10_000);
});
