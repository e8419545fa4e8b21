// The app's only door to the backend: the Parse JS SDK (data, auth, local datastore) and SignalR (live).
import Parse from 'parse';
import * as signalR from '@microsoft/signalr';
import { activityFromJson, type ActivityView, dealFromJson, type DealView, type JsonObject, type Stage } from './lib/model';
import { apiRoot } from './lib/apiRoot';
import { ensureOnline, isConnectionError, summaryFromDeals } from './lib/offline';
import { connectivity } from './connectivity';
import { forgetDevice, queueDestroy, queueSave, refreshPinned } from './sync';

export const APP_ID = (import.meta.env.VITE_PARSE_APP_ID as string | undefined) ?? 'crm';
/** The backend's root (same origin when the app server serves the SPA; set at build time for a static host). */
export const API_ROOT = apiRoot(import.meta.env.VITE_API_ROOT as string | undefined, window.location.origin);

Parse.initialize(APP_ID, '');
Parse.serverURL = `${API_ROOT}/parse`;
Parse.enableLocalDatastore(false);
// Each Parse.Object instance keeps its own state: a record saved by id alone must not take on (or change) the
// fields of other copies of it, such as the pinned one (see sync.ts).
Parse.Object.disableSingleInstance();

export { Parse };
export type PObject = Parse.Object;

// ---- connectivity ----------------------------------------------------------------------------------

export { connectivity };

const isUnreachable = isConnectionError;

/** Runs a server call; when the server cannot be reached, answers from the local datastore instead. */
async function withOffline<T>(remote: () => Promise<T>, local: () => Promise<T>): Promise<{ value: T; fromDevice: boolean }> {
  if (!connectivity.online) return { value: await local(), fromDevice: true };
  try {
    const value = await remote();
    connectivity.succeeded();
    return { value, fromDevice: false };
  } catch (e) {
    if (!isUnreachable(e)) throw e;
    connectivity.failed();
    return { value: await local(), fromDevice: true };
  }
}

/** For writes that cannot be queued offline (file uploads). */
export function guardWrite(action: string) {
  ensureOnline(connectivity.online, action);
}

/** Runs a write; when the server cannot be reached (or the browser is offline), queues it instead (sync.ts). */
async function writeOrQueue<T>(remote: () => Promise<T>, queue: () => Promise<T>): Promise<T> {
  if (!connectivity.online) return queue();
  try {
    const value = await remote();
    connectivity.succeeded();
    return value;
  } catch (e) {
    if (!isUnreachable(e)) throw e;
    connectivity.failed();
    return queue();
  }
}

// ---- auth ------------------------------------------------------------------------------------------

export function currentUser(): Parse.User | undefined {
  return Parse.User.current() ?? undefined;
}

export async function logIn(username: string, password: string) {
  return Parse.User.logIn(username, password);
}

export async function signUp(username: string, email: string, password: string) {
  const user = new Parse.User();
  user.set('username', username);
  user.set('email', email);
  user.set('password', password);
  return user.signUp();
}

export async function logOut() {
  stopLive();
  try { await Parse.User.logOut(); } catch { /* the local session is cleared either way */ }
  // Queued changes stay stored under the user's id and are sent at their next sign-in.
  await forgetDevice().catch(() => undefined);
}

// ---- generic records -------------------------------------------------------------------------------

export type ClassName = 'Company' | 'Contact' | 'Deal' | 'Activity';

export const json = (o: Parse.Object): JsonObject => o.toJSON() as unknown as JsonObject;

export interface ListRequest {
  className: ClassName;
  search?: string;
  searchField: string;
  sort: string;
  descending: boolean;
  page: number;
  pageSize: number;
  include?: string[];
  where?: (q: Parse.Query) => void;
  /** Pointer fields whose target's name also matches the search (a deal found by its company's or contact's name). */
  searchRelated?: { field: string; className: ClassName; searchField: string }[];
}

function escapeRegex(s: string) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export async function list(req: ListRequest): Promise<{ rows: Parse.Object[]; count: number; fromDevice: boolean }> {
  const build = () => {
    const term = req.search?.trim() ? new RegExp(escapeRegex(req.search.trim()), 'i') : undefined;
    const q = term && req.searchRelated?.length
      ? Parse.Query.or(new Parse.Query(req.className).matches(req.searchField, term),
        ...req.searchRelated.map((r) => new Parse.Query(req.className).matchesQuery(r.field, new Parse.Query(r.className).matches(r.searchField, term))))
      : new Parse.Query(req.className);
    if (term && !req.searchRelated?.length) q.matches(req.searchField, term);
    if (req.descending) q.descending(req.sort); else q.ascending(req.sort);
    req.include?.forEach((i) => q.include(i));
    req.where?.(q);
    return q;
  };
  const { value, fromDevice } = await withOffline(
    async () => {
      const q = build().skip(req.page * req.pageSize).limit(req.pageSize).withCount();
      const r = (await q.find()) as unknown as { results: Parse.Object[]; count: number };
      return { rows: r.results, count: r.count };
    },
    async () => {
      const rows = await build().fromPin().find();
      return { rows, count: rows.length };
    },
  );
  return { ...value, fromDevice };
}

/** One record; opened records are pinned so they stay readable offline (the sync on start pins them all anyway). */
export async function get(className: ClassName, id: string, include: string[] = [], pin = false) {
  return withOffline(
    async () => {
      const q = new Parse.Query(className);
      include.forEach((i) => q.include(i));
      const o = await q.get(id);
      if (pin) await o.pin().catch(() => undefined);
      return o;
    },
    async () => {
      const q = new Parse.Query(className).fromPin();
      return q.get(id);
    },
  );
}

export async function related(className: ClassName, field: string, target: Parse.Object, order: string, include: string[] = [], pin = false) {
  return withOffline(
    async () => {
      const q = new Parse.Query(className).equalTo(field, target).limit(200);
      if (order.startsWith('-')) q.descending(order.slice(1)); else q.ascending(order);
      include.forEach((i) => q.include(i));
      const rows = await q.find();
      if (pin && rows.length) await Parse.Object.pinAll(rows).catch(() => undefined);
      return rows;
    },
    async () => {
      const q = new Parse.Query(className).equalTo(field, target).fromPin();
      if (order.startsWith('-')) q.descending(order.slice(1)); else q.ascending(order);
      return q.find();
    },
  );
}

/** id and display name of every record of a class, for pickers (offline: those on this device). */
export async function pickList(className: ClassName | '_User', field: string): Promise<{ id: string; label: string }[]> {
  const { value } = await withOffline(
    () => new Parse.Query(className).ascending(field).select(field).limit(500).find(),
    () => new Parse.Query(className).ascending(field).fromPin().find(),
  );
  return value.map((r) => ({ id: r.id!, label: String(r.get(field) ?? r.id) }));
}

export type FieldValue = string | number | Date | Parse.Object | Parse.Pointer | null | undefined;

/** A form's values as REST-encoded changes; an empty value removes the field of an existing record. */
function encode(values: Record<string, FieldValue>, existing: boolean): JsonObject {
  const changes: JsonObject = {};
  for (const [k, v] of Object.entries(values)) {
    if (v === undefined || v === null || v === '') { if (existing) changes[k] = { __op: 'Delete' }; }
    else if (v instanceof Parse.Object) changes[k] = v.toPointer() as unknown as JsonObject;
    else if (v instanceof Date) changes[k] = { __type: 'Date', iso: v.toISOString() };
    else changes[k] = v as unknown as JsonObject;
  }
  return changes;
}

/** Creates or updates a record; offline the change is queued and the answer is the record as it shows on this device. */
export async function save(className: ClassName, id: string | undefined, values: Record<string, FieldValue>): Promise<Parse.Object> {
  const changes = encode(values, !!id);
  return writeOrQueue(
    async () => {
      const o = new Parse.Object(className);
      if (id) o.id = id;
      for (const [k, v] of Object.entries(changes)) {
        if ((v as { __op?: string } | null)?.__op === 'Delete') o.unset(k); else o.set(k, Parse._decode(null, v));
      }
      await o.save();
      await refreshPinned(className, o.id!);
      return o;
    },
    () => queueSave(className, id, changes),
  );
}

export async function destroy(className: ClassName, id: string) {
  await writeOrQueue(
    async () => {
      const o = new Parse.Object(className);
      o.id = id;
      await o.destroy();
      await o.unPin().catch(() => undefined);
    },
    () => queueDestroy(className, id),
  );
}

export function pointer(className: string, id: string): Parse.Object {
  return Parse.Object.fromJSON({ className, objectId: id, __type: 'Pointer' });
}

// ---- deals and activities --------------------------------------------------------------------------

export async function pipelineDeals(): Promise<{ deals: DealView[]; fromDevice: boolean }> {
  const { value, fromDevice } = await withOffline(
    async () => {
      // Owners are named from the users this caller can read, not by include: an included user the caller
      // cannot read comes back as null, which would lose who owns the deal.
      // No server-side order: the board sorts by close date itself, and a store may leave out of an ordered
      // result the deals that have no close date (seen on the Cosmos store).
      const q = new Parse.Query('Deal').include('company').include('contact').limit(1000);
      const [rows, names] = await Promise.all([q.find(), userNames()]);
      return rows.map((o) => withOwnerName(dealFromJson(json(o)), names));
    },
    async () => (await new Parse.Query('Deal').fromPin().find()).map((o) => dealFromJson(json(o))),
  );
  return { deals: value, fromDevice };
}

/** Usernames of the users this caller can read (themselves, and colleagues who share their profile). */
export async function userNames(): Promise<Map<string, string>> {
  const rows = await new Parse.Query(Parse.User).select('username').limit(1000).find().catch(() => []);
  return new Map(rows.map((u) => [u.id!, String(u.get('username') ?? u.id)]));
}

function withOwnerName(deal: DealView, names: Map<string, string>): DealView {
  const label = deal.owner && (deal.owner.label ?? names.get(deal.owner.id));
  return deal.owner && label ? { ...deal, owner: { ...deal.owner, label } } : deal;
}

export async function moveDeal(id: string, stage: Stage): Promise<{ updatedAt?: string }> {
  const o = await save('Deal', id, { stage });
  return { updatedAt: o.updatedAt?.toISOString() };
}

export async function myOpenActivities(): Promise<{ activities: ActivityView[]; fromDevice: boolean }> {
  const me = currentUser();
  const { value, fromDevice } = await withOffline(
    async () => new Parse.Query('Activity').equalTo('createdBy', me).doesNotExist('completedAt').ascending('dueDate').include('relatedTo').limit(500).find(),
    async () => new Parse.Query('Activity').equalTo('createdBy', me).doesNotExist('completedAt').ascending('dueDate').fromPin().find(),
  );
  return { activities: value.map((o) => activityFromJson(json(o))), fromDevice };
}

export async function recentActivities(limit = 10): Promise<ActivityView[]> {
  const { value } = await withOffline(
    () => new Parse.Query('Activity').descending('updatedAt').include('relatedTo').limit(limit).find(),
    () => new Parse.Query('Activity').descending('updatedAt').limit(limit).fromPin().find(),
  );
  return value.map((o) => activityFromJson(json(o)));
}

export async function completeActivity(id: string): Promise<ActivityView> {
  const o = await save('Activity', id, { completedAt: new Date() });
  return activityFromJson(json(o));
}

/** Count and amount per stage: the server's figures, or offline the same sums over the deals on this device. */
export async function pipelineSummary(): Promise<unknown> {
  const { value } = await withOffline(
    () => Parse.Cloud.run('pipelineSummary') as Promise<unknown>,
    async () => summaryFromDeals((await new Parse.Query('Deal').fromPin().find()).map((o) => dealFromJson(json(o)))),
  );
  return value;
}

// ---- real time -------------------------------------------------------------------------------------

export interface LiveEvent {
  target: 'created' | 'updated' | 'deleted';
  op: string;
  className: string;
  objectId: string;
  object: JsonObject;
  previousStage?: string;
}

type LiveListener = (e: LiveEvent) => void;
const liveListeners = new Set<LiveListener>();
const statusListeners = new Set<(s: string) => void>();
let connection: signalR.HubConnection | undefined;
let liveStatus = 'disconnected';

function setStatus(s: string) {
  liveStatus = s;
  statusListeners.forEach((l) => l(s));
}

export const live = {
  get status() { return liveStatus; },
  on(l: LiveListener) { liveListeners.add(l); return () => { liveListeners.delete(l); }; },
  onStatus(l: (s: string) => void) { statusListeners.add(l); return () => { statusListeners.delete(l); }; },
};

export async function startLive(): Promise<void> {
  if (connection || !currentUser()) return;
  const c = new signalR.HubConnectionBuilder()
    // /negotiate is a Parse door like /parse: it needs the application id too.
    .withUrl(API_ROOT, { headers: { 'X-Parse-Application-Id': APP_ID }, accessTokenFactory: () => currentUser()?.getSessionToken() ?? '' })
    .withAutomaticReconnect({ nextRetryDelayInMilliseconds: (ctx) => Math.min(10_000, 500 * 2 ** ctx.previousRetryCount) })
    .configureLogging(signalR.LogLevel.None)
    .build();
  connection = c;
  for (const target of ['created', 'updated', 'deleted'] as const) {
    c.on(target, (e: Omit<LiveEvent, 'target'>) => liveListeners.forEach((l) => l({ ...e, target })));
  }
  c.onreconnecting(() => setStatus('reconnecting'));
  c.onreconnected(() => setStatus('live'));
  c.onclose(() => { setStatus('disconnected'); if (connection === c) connection = undefined; });
  try {
    setStatus('connecting');
    await c.start();
    setStatus('live');
  } catch {
    setStatus('disconnected');
    if (connection === c) connection = undefined;
  }
}

export function stopLive() {
  const c = connection;
  connection = undefined;
  void c?.stop();
}

// The feed follows the connection: closed offline (its socket may linger without noticing), opened again online
// (automatic reconnect gives up after a while).
connectivity.subscribe(() => { if (connectivity.online) void startLive(); else stopLive(); });
