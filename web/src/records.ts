// What deleting a record would leave dangling, and the two ways out the app offers: move (re-link) the
// records that point at it to another one, or delete them too. Over the same Parse SDK as api.ts; the
// server stays the judge (it refuses to delete a Company, Contact or Deal something still points at).
import { Parse, type PObject } from './api';

export type Dependents =
  | { kind: 'activities'; activities: PObject[] }
  | { kind: 'company'; contacts: PObject[]; deals: PObject[] };

const LIMIT = 1000;

async function all(className: string, field: string, target: PObject): Promise<PObject[]> {
  return new Parse.Query(className).equalTo(field, target).limit(LIMIT).find();
}

export function pointerTo(className: string, id: string): PObject {
  return Parse.Object.fromJSON({ className, objectId: id, __type: 'Pointer' });
}

export async function dependentsOf(className: 'Company' | 'Contact' | 'Deal', id: string): Promise<Dependents> {
  const target = pointerTo(className, id);
  if (className === 'Company') {
    const [contacts, deals] = await Promise.all([all('Contact', 'company', target), all('Deal', 'company', target)]);
    return { kind: 'company', contacts, deals };
  }
  return { kind: 'activities', activities: await all('Activity', 'relatedTo', target) };
}

export function dependentCount(d: Dependents): number {
  return d.kind === 'activities' ? d.activities.length : d.contacts.length + d.deals.length;
}

/** Points every record at `to` through `field` (or clears the field when `to` is undefined); one /batch per 50. */
export async function relink(records: readonly PObject[], field: string, to: PObject | undefined): Promise<void> {
  for (const r of records) { if (to) r.set(field, to); else r.unset(field); }
  if (records.length) await Parse.Object.saveAll([...records], { batchSize: 50 });
}

async function destroyAll(records: readonly PObject[]) {
  if (records.length) await Parse.Object.destroyAll([...records], { batchSize: 50 });
}

/** Deletes these contacts or deals and the activities about them. */
export async function deleteWithActivities(records: readonly PObject[]): Promise<void> {
  for (const r of records) await destroyAll(await all('Activity', 'relatedTo', r));
  await destroyAll(records);
}

export type Resolution = { action: 'relink'; to?: string } | { action: 'delete' };

/**
 * Deals with what points at the record as chosen, then deletes the record. Activities move to another
 * contact or deal of the same class; a company's contacts and deals move to another company, are left
 * without one (to undefined), or are deleted with their activities.
 */
export async function resolveAndDelete(className: 'Company' | 'Contact' | 'Deal', id: string, dependents: Dependents, choice: Resolution): Promise<void> {
  if (dependents.kind === 'activities') {
    if (choice.action === 'delete') await destroyAll(dependents.activities);
    else if (choice.to) await relink(dependents.activities, 'relatedTo', pointerTo(className, choice.to));
    else throw new Error(`Choose the ${className.toLowerCase()} to move the activities to.`);
  } else if (choice.action === 'delete') {
    await deleteWithActivities(dependents.deals);
    await deleteWithActivities(dependents.contacts);
  } else {
    const to = choice.to ? pointerTo('Company', choice.to) : undefined;
    await relink(dependents.contacts, 'company', to);
    await relink(dependents.deals, 'company', to);
  }
  const o = new Parse.Object(className);
  o.id = id;
  await o.destroy();
  await o.unPin().catch(() => undefined);
}

/** Users the caller can see (to assign a deal): the server answers only what the caller may read. */
export async function assignableUsers(): Promise<{ id: string; label: string }[]> {
  const rows = await new Parse.Query(Parse.User).ascending('username').select('username').limit(500).find();
  return rows.map((u) => ({ id: u.id!, label: String(u.get('username') ?? u.id) }));
}

/** Assigns a deal to a user (the CRM rules give the new owner access and take it from the previous one). */
export async function reassignDeal(dealId: string, userId: string): Promise<void> {
  const o = new Parse.Object('Deal');
  o.id = dealId;
  o.set('assignedTo', pointerTo('_User', userId));
  await o.save();
}
