import { describe, expect, it } from 'vitest';
import { attachmentEntry, attachmentsOf, canRemove, formatSize, storedEntry, uploadName } from './attachments';

const stored = 'a'.repeat(32) + '_proposal.pdf';
const entry = {
  file: { __type: 'File', name: stored, url: `http://h/parse/files/crm/${stored}?expires=1&signature=x` },
  name: 'Proposal (v2).pdf', size: 2048, type: 'application/pdf', addedBy: 'u1', addedAt: '2026-12-01T10:00:00.000Z',
};

describe('attachments', () => {
  it('reads entries with name, size, type and the URL the server gave', () => {
    const [a] = attachmentsOf({ attachments: [entry] });
    expect(a).toMatchObject({ name: 'Proposal (v2).pdf', size: 2048, type: 'application/pdf', fileName: stored, addedBy: 'u1' });
    expect(a.url).toContain('signature=x');
  });

  it('skips what is not an attachment and sorts newest first', () => {
    const older = { ...entry, addedAt: '2026-11-01T00:00:00.000Z', name: 'old.txt' };
    const list = attachmentsOf({ attachments: [older, 'junk', { file: { __type: 'Pointer' } }, entry, null] });
    expect(list.map((a) => a.name)).toEqual(['Proposal (v2).pdf', 'old.txt']);
    expect(attachmentsOf({})).toEqual([]);
    expect(attachmentsOf({ attachments: 'x' })).toEqual([]);
  });

  it('falls back to the stored name without its random prefix', () => {
    const [a] = attachmentsOf({ attachments: [{ ...entry, name: '' }] });
    expect(a.name).toBe('proposal.pdf');
  });

  it('builds the entry to add and the stored form to remove (no URL in the stored File)', () => {
    const added = attachmentEntry({ name: stored, url: 'http://h/x' }, { name: 'p.pdf', size: 3, type: '' }, 'u1', new Date('2026-12-01T00:00:00Z'));
    expect(added).toEqual({ file: { __type: 'File', name: stored, url: 'http://h/x' }, name: 'p.pdf', size: 3, type: 'application/octet-stream', addedBy: 'u1', addedAt: '2026-12-01T00:00:00.000Z' });
    const [a] = attachmentsOf({ attachments: [entry] });
    expect(storedEntry(a)).toEqual({ ...entry, file: { __type: 'File', name: stored } });
  });

  it('lets only the person who attached a file remove it', () => {
    const [a] = attachmentsOf({ attachments: [entry] });
    expect(canRemove(a, 'u1')).toBe(true);
    expect(canRemove(a, 'u2')).toBe(false);
    expect(canRemove(a, undefined)).toBe(false);
  });

  it('makes upload names the server accepts, keeping the extension', () => {
    expect(uploadName('Proposal (v2).pdf')).toBe('Proposal _v2_.pdf');
    expect(uploadName('Überweisung.PDF')).toBe('Uberweisung.PDF');
    expect(uploadName('.hidden')).toBe('hidden');
    expect(uploadName('evil.html.')).toBe('evil.html');
    expect(uploadName('名前.txt')).toBe('__.txt');
    expect(uploadName('...')).toBe('file');
    const long = uploadName('x'.repeat(300) + '.docx');
    expect(long.length).toBe(128);
    expect(long.endsWith('.docx')).toBe(true);
    for (const n of ['a b.txt', 'a@b~c_d-e.txt']) expect(uploadName(n)).toBe(n);
  });

  it('formats sizes', () => {
    expect(formatSize(0)).toBe('0 B');
    expect(formatSize(1023)).toBe('1023 B');
    expect(formatSize(1536)).toBe('1.5 KB');
    expect(formatSize(20 * 1024 * 1024)).toBe('20 MB');
  });
});
