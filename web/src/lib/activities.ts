import type { ActivityView } from './model';

export function isOpen(a: ActivityView): boolean {
  return !a.completedAt;
}

/** Open and due before now (a due date without time counts until the end of that moment). */
export function isOverdue(a: ActivityView, now: Date = new Date()): boolean {
  return isOpen(a) && !!a.dueDate && Date.parse(a.dueDate) < now.getTime();
}

/** Open activities, soonest due first; those without a due date last. */
export function openByDueDate(activities: readonly ActivityView[]): ActivityView[] {
  const due = (a: ActivityView) => (a.dueDate ? Date.parse(a.dueDate) : Number.POSITIVE_INFINITY);
  return activities.filter(isOpen).sort((a, b) => due(a) - due(b) || a.subject.localeCompare(b.subject));
}

/** Where an activity sits in a record's timeline: its due date, else when it was logged (ms; 0 when unknown). */
export function activityTime(a: ActivityView): number {
  return Date.parse(a.dueDate ?? a.createdAt ?? '') || 0;
}

/** Timeline of a record: newest first by due date, else creation. */
export function timeline(activities: readonly ActivityView[]): ActivityView[] {
  return [...activities].sort((a, b) => activityTime(b) - activityTime(a));
}

export function applyActivityEvent(list: readonly ActivityView[], op: 'created' | 'updated' | 'deleted', activity: ActivityView): ActivityView[] {
  const rest = list.filter((a) => a.id !== activity.id);
  if (op === 'deleted') return rest;
  const index = list.findIndex((a) => a.id === activity.id);
  if (index < 0) return [activity, ...list];
  return list.map((a) => (a.id === activity.id ? activity : a));
}

/** Open and due within the next `days` days (not yet overdue). */
export function isDueSoon(a: ActivityView, now: Date = new Date(), days = 3): boolean {
  if (!isOpen(a) || !a.dueDate) return false;
  const due = Date.parse(a.dueDate);
  return due >= now.getTime() && due < now.getTime() + days * 86_400_000;
}
