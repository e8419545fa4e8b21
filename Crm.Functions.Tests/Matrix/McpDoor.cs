using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Crm.Functions.Tests.Matrix;

/// <summary>
/// The MCP door's get and find tools, through the official C# SDK client, one client per user. It serves signed-in
/// users only (an agent acts for a person; anonymous and master callers get a 401 before any tool runs). A tool's
/// refusal is an error result carrying a Parse code; anything else fails the matrix.
/// </summary>
public sealed class McpDoor(CrmServer server) : IQueryDoor
{
    private readonly ConcurrentDictionary<string, Task<McpClient>> _clients = new(StringComparer.Ordinal);

    public string Name => "mcp";
    public bool Serves(Principal p) => !p.Master && p.Token is not null;

    public async Task<JsonObject?> ReadAsync(Principal p, string className, string objectId) =>
        await CallAsync(p, "get", new() { ["className"] = className, ["objectId"] = objectId });

    public async Task<IReadOnlyList<JsonObject>?> FindAsync(Principal p, string className, JsonObject where) =>
        await CallAsync(p, "find", new() { ["className"] = className, ["where"] = where.DeepClone(), ["limit"] = 1000 }) is { } found
            ? RestDoor.Results(found)
            : [];

    private async Task<JsonObject?> CallAsync(Principal p, string tool, JsonObject args)
    {
        var client = await _clients.GetOrAdd(p.Token!, token => McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = new Uri(server.BaseUrl + "/mcp"),
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + token },
        })));
        var result = await client.CallToolAsync(tool, args.ToDictionary(a => a.Key, a => (object?)JsonSerializer.Deserialize<JsonElement>(a.Value!.ToJsonString())));
        var structured = JsonNode.Parse(JsonSerializer.Serialize(result.StructuredContent))?.AsObject();
        if (result.IsError != true) return structured;
        if (structured?["code"] is JsonValue code && code.TryGetValue(out int _) && result.Content is [TextContentBlock, ..]) return null;
        throw new Xunit.Sdk.XunitException($"{Name}: expected a result or a Parse error, got {JsonSerializer.Serialize(result)}");
    }
}
