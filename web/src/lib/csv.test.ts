import { describe, expect, it } from 'vitest';
import { chunks, guessMapping, IMPORT_FIELDS, keysOf, parseCsv, planImport, toCsv } from './csv';

const file = [
  'Full Name,E-mail,Organisation,Phone',
  'Dana Scully,dana@example.com,Acme,555-1',
  'Fox Mulder,fox@example.com,,555-2',
  'No Mail,not-an-email,Acme,',
  ',nobody@example.com,Acme,',
  'Dana Again,DANA@example.com,Acme,',
  'Walter Skinner,walter@example.com,Acme,1,extra',
  'Existing Person,existing@example.com,,',
  '"Quoted, Name",quoted@example.com,"Acme, Inc.",',
].join('\r\n');

describe('CSV import', () => {
  const parsed = parseCsv(file);
  it('reads the header and rows, and reports lines that are not rows', () => {
    expect(parsed.headers).toEqual(['Full Name', 'E-mail', 'Organisation', 'Phone']);
    expect(parsed.rows).toHaveLength(8);
    expect(parsed.problems.map((p) => p.line)).toEqual([7]);
  });
  it('maps columns by name, label or alias', () => {
    expect(guessMapping(parsed.headers, IMPORT_FIELDS.Contact)).toEqual({ name: 'Full Name', email: 'E-mail', phone: 'Phone', company: 'Organisation', notes: '' });
    expect(guessMapping(['Company', 'Sector', 'URL'], IMPORT_FIELDS.Company)).toEqual({ name: 'Company', industry: 'Sector', website: 'URL', address: '', notes: '' });
  });
  it('plans the import: invalid rows, duplicates in the file and of existing records are skipped with the reason', () => {
    const mapping = guessMapping(parsed.headers, IMPORT_FIELDS.Contact);
    const existing = new Set(keysOf('Contact', { name: 'Someone', email: 'existing@example.com' }));
    const plan = planImport('Contact', parsed, mapping, existing);
    expect(plan.create.map((r) => r.values.name)).toEqual(['Dana Scully', 'Fox Mulder', 'Quoted, Name']);
    expect(plan.create[2].values.company).toBe('Acme, Inc.');
    expect(plan.skipped.map((s) => s.line)).toEqual([4, 5, 6, 7, 8]);
    expect(plan.skipped[0].reason).toMatch(/^email must be a valid email address/);
    expect(plan.skipped[1].reason).toBe('name is required');
    expect(plan.skipped[2].reason).toBe('duplicate: email DANA@example.com is already used by line 2');
    expect(plan.skipped[4].reason).toContain('an existing record');
  });
  it('dedupes companies by name, case-insensitively', () => {
    const companies = parseCsv('name,industry\nAcme,Retail\nacme ,Food\nGlobex,Energy\n');
    const plan = planImport('Company', companies, guessMapping(companies.headers, IMPORT_FIELDS.Company), new Set(['name:globex']));
    expect(plan.create.map((r) => r.values.name)).toEqual(['Acme']);
    expect(plan.skipped.map((s) => s.line)).toEqual([3, 4]);
  });
});

describe('CSV export', () => {
  it('quotes what needs quoting and round-trips through the parser', () => {
    const text = toCsv(['Name', 'Amount'], [['Acme, Inc.', 1200], ['Say "hi"', undefined]]);
    expect(text).toBe('Name,Amount\r\n"Acme, Inc.",1200\r\n"Say ""hi""",');
    expect(parseCsv(text).rows).toEqual([{ Name: 'Acme, Inc.', Amount: '1200' }, { Name: 'Say "hi"', Amount: '' }]);
  });
  it('splits work into batches', () => {
    expect(chunks([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
  });
});
