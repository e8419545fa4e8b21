// Parses an erDiagram with mermaid's own parser and prints what it understood as JSON:
// { "entities": [names], "relationships": [{ "from", "to", "role" }] }. Exit 1 when it does not parse.
// Usage: node parse-erd.mjs URL
import { JSDOM } from 'jsdom';

// mermaid expects browser globals even to parse; jsdom provides them.
const dom = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import('mermaid');

const response = await fetch(process.argv[2]);
if (!response.ok) throw new Error(`GET ${process.argv[2]} answered ${response.status}`);
const text = await response.text();

try {
  await mermaid.parse(text); // throws on a syntax error
  const diagram = await mermaid.mermaidAPI.getDiagramFromText(text);
  const entities = [...diagram.db.getEntities().values()];
  const byId = new Map(entities.map(e => [e.id, e.label]));
  console.log(JSON.stringify({
    type: diagram.type,
    entities: entities.map(e => e.label),
    relationships: diagram.db.getRelationships().map(r => ({ from: byId.get(r.entityA), to: byId.get(r.entityB), role: r.roleA })),
  }));
} catch (error) {
  console.error(`mermaid could not parse the diagram: ${error.message}\n${text}`);
  process.exit(1);
}
