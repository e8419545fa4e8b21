// CSV import and export of list records (papaparse does the CSV; this file decides what the rows mean):
// which column feeds which field, which rows are duplicates or invalid, and the report of rows skipped.
import Papa from 'papaparse';
import { isEmail } from './validation';

export type ImportClass = 'Contact' | 'Company';

export interface ImportField {
  name: string;
  label: string;
  required?: boolean;
  /** Other header names people use for this column (compared case- and punctuation-insensitively). */
  aliases: string[];
}

export const IMPORT_FIELDS: Record<ImportClass, ImportField[]> = {
  Contact: [
    { name: 'name', label: 'Name', required: true, aliases: ['full name', 'contact', 'contact name', 'person'] },
    { name: 'email', label: 'Email', aliases: ['e-mail', 'email address', 'mail'] },
    { name: 'phone', label: 'Phone', aliases: ['telephone', 'phone number', 'mobile', 'tel'] },
    { name: 'company', label: 'Company (by name)', aliases: ['company name', 'organisation', 'organization', 'account'] },
    { name: 'notes', label: 'Notes', aliases: ['note', 'comments', 'description'] },
  ],
  Company: [
    { name: 'name', label: 'Name', required: true, aliases: ['company', 'company name', 'organisation', 'organization', 'account'] },
    { name: 'industry', label: 'Industry', aliases: ['sector'] },
    { name: 'website', label: 'Website', aliases: ['url', 'web', 'domain', 'site'] },
    { name: 'address', label: 'Address', aliases: ['postal address', 'location'] },
    { name: 'notes', label: 'Notes', aliases: ['note', 'comments', 'description'] },
  ],
};

export interface ParsedCsv {
  headers: string[];
  rows: Record<string, string>[];
  /** Lines papaparse could not read as rows (wrong field count, bad quotes), 1-based with the header as line 1. */
  problems: { line: number; reason: string }[];
}

export function parseCsv(text: string): ParsedCsv {
  const result = Papa.parse<Record<string, string>>(text.replace(/^\uFEFF/, ''), { header: true, skipEmptyLines: 'greedy', transformHeader: (h) => h.trim() });
  const headers = (result.meta.fields ?? []).filter((h) => h !== '');
  const problems = result.errors
    // A short row (trailing columns left off) is read with the missing values empty; a long one or broken quoting is not a row.
    .filter((e) => e.row !== undefined && e.row !== null && e.code !== 'TooFewFields')
    .map((e) => ({ line: (e.row ?? 0) + 2, reason: e.message }));
  return { headers, rows: result.data, problems };
}

const norm = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, ' ').trim();

/** Field → header: the header named like the field, its label or one of its aliases; '' when none. */
export function guessMapping(headers: readonly string[], fields: readonly ImportField[]): Record<string, string> {
  const mapping: Record<string, string> = {};
  const used = new Set<string>();
  for (const f of fields) {
    const names = [f.name, f.label, ...f.aliases].map(norm);
    const header = headers.find((h) => !used.has(h) && names.includes(norm(h))) ?? '';
    if (header) used.add(header);
    mapping[f.name] = header;
  }
  return mapping;
}

export interface PlannedRow {
  /** 1-based line in the file (the header is line 1). */
  line: number;
  values: Record<string, string>;
  /** The duplicate key: email for a contact that has one, else the name. */
  key: string;
}

export interface ImportPlan {
  create: PlannedRow[];
  skipped: { line: number; reason: string }[];
}

/** The keys an existing record occupies (a contact both by email and by name). */
export function keysOf(className: ImportClass, record: { name?: string; email?: string }): string[] {
  const keys: string[] = [];
  if (className === 'Contact' && record.email?.trim()) keys.push(`email:${record.email.trim().toLowerCase()}`);
  if (record.name?.trim()) keys.push(`name:${record.name.trim().toLowerCase()}`);
  return keys;
}

function keyOf(className: ImportClass, values: Record<string, string>): string {
  return keysOf(className, values)[0] ?? '';
}

/**
 * What importing these rows would do: rows to create, and rows skipped with the reason (a required field
 * missing, an invalid email, a duplicate of an existing record or of an earlier row in the same file).
 */
export function planImport(className: ImportClass, parsed: ParsedCsv, mapping: Record<string, string>, existingKeys: ReadonlySet<string>): ImportPlan {
  const fields = IMPORT_FIELDS[className];
  const plan: ImportPlan = { create: [], skipped: [...parsed.problems] };
  const badLines = new Set(parsed.problems.map((p) => p.line));
  const seen = new Map<string, number>();
  parsed.rows.forEach((row, index) => {
    const line = index + 2;
    if (badLines.has(line)) return;
    const values: Record<string, string> = {};
    for (const f of fields) {
      const header = mapping[f.name];
      const v = header ? (row[header] ?? '').trim() : '';
      if (v) values[f.name] = v;
    }
    const missing = fields.find((f) => f.required && !values[f.name]);
    if (missing) { plan.skipped.push({ line, reason: `${missing.name} is required` }); return; }
    if (values.email && !isEmail(values.email)) { plan.skipped.push({ line, reason: `email must be a valid email address (${values.email})` }); return; }
    const key = keyOf(className, values);
    const duplicateOf = existingKeys.has(key) ? 'an existing record' : seen.has(key) ? `line ${seen.get(key)}` : undefined;
    if (duplicateOf) {
      const what = key.startsWith('email:') ? `email ${values.email}` : `name ${values.name}`;
      plan.skipped.push({ line, reason: `duplicate: ${what} is already used by ${duplicateOf}` });
      return;
    }
    seen.set(key, line);
    plan.create.push({ line, values, key });
  });
  plan.skipped.sort((a, b) => a.line - b.line);
  return plan;
}

/** Rows as CSV text (RFC 4180 quoting by papaparse), with the given column titles as the header. */
export function toCsv(columns: readonly string[], rows: readonly (readonly (string | number | undefined)[])[]): string {
  return Papa.unparse({ fields: [...columns], data: rows.map((r) => r.map((v) => (v === undefined ? '' : v))) });
}

/** Splits a list into chunks (the import saves in batches so progress can be shown). */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
