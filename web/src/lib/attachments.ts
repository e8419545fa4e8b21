// Attachments of a deal or an activity: entries of the record's `attachments` array, each
// { file: {__type: "File", name, url}, name, size, type, addedBy, addedAt }. The File value is what Parse stores
// and signs; name, size and type are kept beside it so the list needs no request per file.
import type { Json, JsonObject } from './model';

export interface Attachment {
  /** The name the person gave the file (the stored name has a random prefix). */
  name: string;
  size: number;
  type: string;
  /** The file's URL as the server answered it (signed when Parse:Files:SignedUrls is on). */
  url: string;
  /** The stored name: unique per upload. */
  fileName: string;
  addedBy?: string;
  addedAt?: string;
  /** The entry exactly as stored, for the Remove operation (which matches whole entries). */
  entry: JsonObject;
}

const isObject = (v: Json | undefined): v is JsonObject => !!v && typeof v === 'object' && !Array.isArray(v);

/** The attachments of a record's REST JSON, newest first; entries that are not attachments are skipped. */
export function attachmentsOf(record: JsonObject): Attachment[] {
  const list = record.attachments;
  if (!Array.isArray(list)) return [];
  const out: Attachment[] = [];
  for (const entry of list) {
    if (!isObject(entry) || !isObject(entry.file) || entry.file.__type !== 'File') continue;
    const { name: fileName, url } = entry.file;
    if (typeof fileName !== 'string' || typeof url !== 'string') continue;
    out.push({
      name: typeof entry.name === 'string' && entry.name ? entry.name : fileName.replace(/^[0-9a-f]{32}_/, ''),
      size: typeof entry.size === 'number' ? entry.size : 0,
      type: typeof entry.type === 'string' && entry.type ? entry.type : 'application/octet-stream',
      url,
      fileName,
      addedBy: typeof entry.addedBy === 'string' ? entry.addedBy : undefined,
      addedAt: typeof entry.addedAt === 'string' ? entry.addedAt : undefined,
      entry,
    });
  }
  return out.sort((a, b) => (b.addedAt ?? '').localeCompare(a.addedAt ?? ''));
}

/** The entry to add for an uploaded file. */
export function attachmentEntry(file: { name: string; url: string }, original: { name: string; size: number; type: string }, userId: string, now: Date): JsonObject {
  return {
    file: { __type: 'File', name: file.name, url: file.url },
    name: original.name,
    size: original.size,
    type: original.type || 'application/octet-stream',
    addedBy: userId,
    addedAt: now.toISOString(),
  };
}

/** The entry as the Remove operation must name it: the stored File value has no URL (URLs are given out when read). */
export function storedEntry(a: Attachment): JsonObject {
  return { ...a.entry, file: { __type: 'File', name: a.fileName } };
}

/** Only the person who attached a file removes it from the list (the record's ACL decides who may write at all). */
export function canRemove(a: Attachment, userId: string | undefined): boolean {
  return !!userId && a.addedBy === userId;
}

const MAX_NAME = 128;

/**
 * A name the server accepts for an upload (letters, digits, `@ . ~ _ -` and spaces; not starting with a dot; not
 * ending with a dot or space; at most 128 characters), keeping the extension. The original name is kept in the entry.
 */
export function uploadName(name: string): string {
  let safe = name.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').replace(/[^a-zA-Z0-9@. ~_-]/g, '_');
  safe = safe.replace(/^[.\s~@-]+/, '').replace(/[.\s]+$/, '');
  if (!safe) safe = 'file';
  if (safe.length > MAX_NAME) {
    const dot = safe.lastIndexOf('.');
    const ext = dot > 0 && safe.length - dot <= 12 ? safe.slice(dot) : '';
    safe = safe.slice(0, MAX_NAME - ext.length).replace(/[.\s]+$/, '') + ext;
  }
  return safe;
}

export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++; }
  return `${value >= 10 ? Math.round(value) : Math.round(value * 10) / 10} ${units[unit]}`;
}
