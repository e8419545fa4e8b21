#!/usr/bin/env node
// Copies each quoted sample region into the guides: a fenced block right after `<!-- sample: PATH#REGION -->` in
// docs/guides/*.md becomes the text between `#region REGION` and `#endregion` in docs/guides/samples/PATH.
// GuideSampleTests fails when a guide and its samples disagree; run this after changing a sample:
//   node scripts/sync-guides.mjs
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const guides = new URL('../docs/guides/', import.meta.url).pathname;
const marker = /<!-- sample: ([^#\s]+)#([\w-]+) -->\n```(\w*)\n(?:[\s\S]*?\n)??```/g;

export function region(path, name) {
  const lines = readFileSync(join(guides, 'samples', path), 'utf8').split('\n');
  const start = lines.findIndex(l => new RegExp(`^\\s*(//|#) #region ${name}$`).test(l));
  if (start < 0) throw new Error(`no region ${name} in samples/${path}`);
  const end = lines.findIndex((l, i) => i > start && /^\s*(\/\/|#) #endregion$/.test(l));
  const body = lines.slice(start + 1, end);
  const indent = Math.min(...body.filter(l => l.trim()).map(l => l.match(/^ */)[0].length));
  return body.map(l => l.slice(indent)).join('\n');
}

let changed = 0;
for (const file of readdirSync(guides).filter(f => f.endsWith('.md'))) {
  const text = readFileSync(join(guides, file), 'utf8');
  const synced = text.replace(marker, (_, path, name, lang) => `<!-- sample: ${path}#${name} -->\n\`\`\`${lang}\n${region(path, name)}\n\`\`\``);
  if (synced !== text) { writeFileSync(join(guides, file), synced); changed++; console.log(`updated ${file}`); }
}
console.log(changed ? `${changed} guides updated` : 'guides match their samples');
