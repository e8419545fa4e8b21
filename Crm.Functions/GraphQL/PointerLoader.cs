using System.Text.Json.Nodes;
using Crm.Functions.Core;
using Crm.Functions.Core.Security;
using GraphQL.DataLoader;

namespace Crm.Functions.GraphQL;

/// <summary>A Parse object as GraphQL resolvers see it: its class (for unions and interfaces) and its JSON.</summary>
internal sealed record ParseObj(string ClassName, JsonObject Json)
{
    public string ObjectId => JsonValues.Text(Json["objectId"]) ?? "";
}

/// <summary>
/// Resolves pointer fields without N+1 queries: resolvers only register the id they need and return a
/// pending result; GraphQL.NET runs every resolver of the level first, then awaits the results, and the first
/// await fetches the whole batch — one <c>objectId $in</c> find per class through the core, so ACL, CLP and
/// protected fields apply; unreadable targets come back as null. One loader per request: results are cached
/// only for that caller.
/// </summary>
internal sealed class PointerLoader(DataService data, Auth auth, int maxLimit)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Batch> _pending = new(StringComparer.Ordinal);
    private readonly Dictionary<(string, string), Batch> _loaded = [];

    public IDataLoaderResult<ParseObj?> Load(string className, string objectId)
    {
        lock (_lock)
        {
            if (_loaded.TryGetValue((className, objectId), out var done)) return new Pending(this, done, objectId);
            if (!_pending.TryGetValue(className, out var batch)) _pending[className] = batch = new Batch(className);
            batch.Ids.Add(objectId);
            _loaded[(className, objectId)] = batch;
            return new Pending(this, batch, objectId);
        }
    }

    private Task<Dictionary<string, ParseObj>> RunAsync(Batch batch, CancellationToken ct)
    {
        lock (_lock)
        {
            if (batch.Task is not null) return batch.Task;
            // Ids requested from now on start a new batch.
            if (_pending.TryGetValue(batch.ClassName, out var current) && ReferenceEquals(current, batch)) _pending.Remove(batch.ClassName);
            return batch.Task = FetchAsync(batch.ClassName, [.. batch.Ids], ct);
        }
    }

    private async Task<Dictionary<string, ParseObj>> FetchAsync(string className, List<string> ids, CancellationToken ct)
    {
        var found = new Dictionary<string, ParseObj>(StringComparer.Ordinal);
        foreach (var chunk in ids.Chunk(maxLimit))
        {
            var request = new FindRequest
            {
                Where = new JsonObject { ["objectId"] = new JsonObject { ["$in"] = new JsonArray(chunk.Select(id => (JsonNode?)id).ToArray()) } },
                Limit = chunk.Length,
            };
            var result = await data.FindAsync(auth, className, request, ct);
            foreach (var obj in result.Results) found[JsonValues.Text(obj["objectId"]) ?? ""] = new ParseObj(className, obj);
        }
        return found;
    }

    private sealed class Batch(string className)
    {
        public string ClassName { get; } = className;
        public HashSet<string> Ids { get; } = new(StringComparer.Ordinal);
        public Task<Dictionary<string, ParseObj>>? Task { get; set; }
    }

    private sealed class Pending(PointerLoader loader, Batch batch, string objectId) : IDataLoaderResult<ParseObj?>
    {
        public async Task<ParseObj?> GetResultAsync(CancellationToken cancellationToken = default) =>
            (await loader.RunAsync(batch, cancellationToken)).GetValueOrDefault(objectId);

        async Task<object?> IDataLoaderResult.GetResultAsync(CancellationToken cancellationToken) => await GetResultAsync(cancellationToken);
    }
}
