// An agent-style session through the official MCP TypeScript SDK: list the tools, find the deals in proposal,
// move one to negotiation, then ask for the pipeline summary. Prints the transcript as JSON for McpNodeClientTests.
// Usage: node session.mjs <baseUrl> <sessionToken> <dealTitle>
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { discoverOAuthProtectedResourceMetadata, extractWWWAuthenticateParams } from '@modelcontextprotocol/sdk/client/auth.js';

const [baseUrl, token, dealTitle] = process.argv.slice(2);
const endpoint = new URL('/mcp', baseUrl);
const transcript = [];

function connect(headers) {
  const client = new Client({ name: 'crm-node-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(endpoint, { requestInit: { headers } });
  return { client, transport };
}

async function call(client, name, args) {
  const result = await client.callTool({ name, arguments: args });
  transcript.push({
    call: name,
    arguments: args,
    isError: result.isError ?? false,
    summary: result.content[0]?.text,
    structuredContent: result.structuredContent,
  });
  if (result.isError) throw new Error(`${name} failed: ${result.content[0]?.text}`);
  return result.structuredContent;
}

// Without a token the server refuses before any MCP exchange: the SDK reports the 401.
let refused = null;
{
  const { client, transport } = connect({});
  try {
    await client.connect(transport);
  } catch (e) {
    refused = { code: e?.code ?? null, message: String(e?.message ?? e) };
  }
}
// The SDK's own OAuth discovery: the challenge names the metadata document, which names the resource.
const challenge = await fetch(endpoint, {
  method: 'POST',
  headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
  body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
});
const { resourceMetadataUrl } = extractWWWAuthenticateParams(challenge);
const resourceMetadata = await discoverOAuthProtectedResourceMetadata(endpoint, { resourceMetadataUrl });

const { client, transport } = connect({ Authorization: `Bearer ${token}` });
await client.connect(transport);
const server = client.getServerVersion();
const { tools } = await client.listTools();
transcript.push({ call: 'tools/list', tools: tools.map((t) => ({ name: t.name, annotations: t.annotations })) });

const found = await call(client, 'find', {
  className: 'Deal',
  where: { title: dealTitle, stage: 'proposal' },
  keys: ['title', 'amount', 'stage'],
  count: true,
});
const deal = found.results[0];
await call(client, 'update', { className: 'Deal', objectId: deal.objectId, fields: { stage: 'negotiation' } });
const summary = await call(client, 'pipeline_summary', { groupBy: 'stage' });
const { resources } = await client.listResources();
const { prompts } = await client.listPrompts();
await client.close();

console.log(JSON.stringify({
  refused,
  challengeStatus: challenge.status,
  resourceMetadataUrl: String(resourceMetadataUrl),
  resourceMetadata,
  server,
  tools: tools.map((t) => t.name),
  dealId: deal.objectId,
  negotiation: summary.groups.find((g) => g.stage === 'negotiation'),
  resources: resources.map((r) => r.uri),
  prompts: prompts.map((p) => p.name),
  transcript,
}, null, 2));
