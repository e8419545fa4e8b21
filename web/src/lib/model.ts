// Plain view models built from the REST JSON shape (what Parse.Object#toJSON() returns and what the
// real-time events carry), so the same conversion serves queries, live events and tests.

export const STAGES = ['lead', 'qualified', 'proposal', 'negotiation', 'won', 'lost'] as const;
export type Stage = (typeof STAGES)[number];
export const OPEN_STAGES: readonly Stage[] = ['lead', 'qualified', 'proposal', 'negotiation'];

export const ACTIVITY_TYPES = ['call', 'email', 'meeting', 'note'] as const;
export type ActivityType = (typeof ACTIVITY_TYPES)[number];

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface Ref {
  className: string;
  id: string;
  /** Display name when the pointer was included (name, title or username). */
  label?: string;
}

export interface DealView {
  id: string;
  title: string;
  amount: number;
  stage: Stage;
  expectedCloseDate?: string;
  company?: Ref;
  contact?: Ref;
  owner?: Ref;
  notes?: string;
  updatedAt?: string;
}

export interface ActivityView {
  id: string;
  type: ActivityType;
  subject: string;
  description?: string;
  dueDate?: string;
  completedAt?: string;
  relatedTo?: Ref;
  createdBy?: Ref;
  createdAt?: string;
  updatedAt?: string;
}

export function isStage(value: unknown): value is Stage {
  return typeof value === 'string' && (STAGES as readonly string[]).includes(value);
}

function str(value: Json | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** A Parse Date ({"__type":"Date","iso":…}) or an ISO string, as an ISO string. */
export function dateOf(value: Json | undefined): string | undefined {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && !Array.isArray(value) && value.__type === 'Date') return str(value.iso);
  return undefined;
}

/** A pointer, or an included object, as a Ref. */
export function refOf(value: Json | undefined): Ref | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const className = str(value.className);
  const id = str(value.objectId);
  if (!className || !id) return undefined;
  const label = str(value.name) ?? str(value.title) ?? str(value.username) ?? str(value.subject);
  return label === undefined ? { className, id } : { className, id, label };
}

export function dealFromJson(json: JsonObject): DealView {
  const stage = isStage(json.stage) ? json.stage : 'lead';
  const amount = typeof json.amount === 'number' && Number.isFinite(json.amount) ? json.amount : 0;
  return {
    id: str(json.objectId) ?? '',
    title: str(json.title) ?? '(untitled)',
    amount,
    stage,
    expectedCloseDate: dateOf(json.expectedCloseDate),
    company: refOf(json.company),
    contact: refOf(json.contact),
    owner: refOf(json.assignedTo),
    notes: str(json.notes),
    updatedAt: dateOf(json.updatedAt),
  };
}

export function activityFromJson(json: JsonObject): ActivityView {
  const type = str(json.type);
  return {
    id: str(json.objectId) ?? '',
    type: (ACTIVITY_TYPES as readonly string[]).includes(type ?? '') ? (type as ActivityType) : 'note',
    subject: str(json.subject) ?? '',
    description: str(json.description),
    dueDate: dateOf(json.dueDate),
    completedAt: dateOf(json.completedAt),
    relatedTo: refOf(json.relatedTo),
    createdBy: refOf(json.createdBy),
    createdAt: dateOf(json.createdAt),
    updatedAt: dateOf(json.updatedAt),
  };
}

/** Keeps labels already known (e.g. an included company name) when a live event only carries a pointer. */
export function mergeRefs(next: DealView, previous: DealView | undefined): DealView {
  if (!previous) return next;
  const keep = (a: Ref | undefined, b: Ref | undefined): Ref | undefined =>
    a && b && a.id === b.id && a.label === undefined && b.label !== undefined ? { ...a, label: b.label } : a;
  return { ...next, company: keep(next.company, previous.company), contact: keep(next.contact, previous.contact), owner: keep(next.owner, previous.owner) };
}
