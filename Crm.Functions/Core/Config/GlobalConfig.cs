using System.Text.Json.Nodes;
using Crm.Functions.Core.Json;
using Crm.Functions.Core.Query;
using Crm.Functions.Core.Security;
using Crm.Functions.Core.Store;

namespace Crm.Functions.Core.Config;

/// <summary>
/// Parse's global config (<c>GET/PUT /config</c>, <c>Parse.Config</c>): one object of the master-only class
/// <c>_GlobalConfig</c> holding <c>params</c> and <c>masterKeyOnly</c>. It lives in the store, so every instance reads
/// the same config. Reads go through a cache of <see cref="CacheFor"/>: a write clears this instance's cache at once,
/// and other instances see it when their copy expires — a config is read on every app start of every client, and
/// a few seconds of staleness elsewhere is what Parse's own cached config allows too.
/// </summary>
internal sealed class GlobalConfig(IObjectStore store, TimeProvider time)
{
    public const string ClassName = "_GlobalConfig";
    /// <summary>How stale another instance's copy may be after a write.</summary>
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(5);
    /// <summary>The one object's id (Parse keeps it under id 1) and partition owner.</summary>
    private const string ObjectId = "1";
    private const string Owner = "_config";
    /// <summary>Bounds on what a PUT may add: the config travels to every client on every GET.</summary>
    public const int MaxParams = 1000;

    private volatile Snapshot? _cached;
    // Bumped on every write here: a read that started before a write must not cache what it read.
    private long _generation;

    private sealed record Snapshot(JsonObject Params, JsonObject MasterKeyOnly, DateTimeOffset Until);

    /// <summary>The config as the caller may see it: master-key-only parameters are left out for everyone else.</summary>
    public async Task<JsonObject> ReadAsync(Auth auth, CancellationToken ct)
    {
        var snapshot = await CurrentAsync(ct);
        var result = new JsonObject();
        var parameters = new JsonObject();
        var masterOnly = new JsonObject();
        foreach (var (key, value) in snapshot.Params)
        {
            var hidden = snapshot.MasterKeyOnly[key] is JsonValue flag && flag.TryGetValue(out bool b) && b;
            if (hidden && !auth.IsMaster) continue;
            parameters[key] = value?.DeepClone();
            if (snapshot.MasterKeyOnly.ContainsKey(key)) masterOnly[key] = snapshot.MasterKeyOnly[key]?.DeepClone();
        }
        result["params"] = parameters;
        if (auth.IsMaster && masterOnly.Count > 0) result["masterKeyOnly"] = masterOnly;
        return result;
    }

    /// <summary>
    /// Merges <paramref name="parameters"/> into the stored config per key (<c>{"__op":"Delete"}</c> removes one) and sets
    /// the master-key-only flags given; keys not mentioned stay. Atomic: concurrent writers never lose each other's keys.
    /// </summary>
    public async Task WriteAsync(JsonObject? parameters, JsonObject? masterKeyOnly, CancellationToken ct)
    {
        Validate(parameters, masterKeyOnly);
        var now = ParseDates.Format(time.GetUtcNow());
        for (var attempt = 0; ; attempt++)
        {
            var updated = await store.UpdateAsync(ClassName, ObjectId, QueryNode.True, current =>
            {
                current.Data = Merge(current.Data, parameters, masterKeyOnly);
                current.UpdatedAt = now;
                return ValueTask.FromResult<ObjectWrite?>(new ObjectWrite(current, []));
            }, ct);
            if (updated is not null) break;
            try
            {
                await store.InsertAsync(new StoredObject
                {
                    ClassName = ClassName, ObjectId = ObjectId, OwnerId = Owner, CreatedAt = now, UpdatedAt = now,
                    Acl = [], Data = Merge([], parameters, masterKeyOnly),
                }, [], ct);
                break;
            }
            // Another instance created it first: merge into theirs.
            catch (DuplicateKeyException) when (attempt == 0) { }
        }
        Interlocked.Increment(ref _generation);
        _cached = null;
    }

    private async Task<Snapshot> CurrentAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        if (_cached is { } cached && cached.Until > now) return cached;
        var generation = Interlocked.Read(ref _generation);
        var found = await store.FindAsync(new StoreQuery(ClassName, QueryNode.True, [], 0, 1), ct);
        var data = found.Count > 0 ? found[0].Data : [];
        var snapshot = new Snapshot(data["params"] as JsonObject ?? [], data["masterKeyOnly"] as JsonObject ?? [], now + CacheFor);
        if (Interlocked.Read(ref _generation) == generation) _cached = snapshot;
        return snapshot;
    }

    private static JsonObject Merge(JsonObject stored, JsonObject? parameters, JsonObject? masterKeyOnly)
    {
        var merged = new JsonObject
        {
            ["params"] = stored["params"]?.DeepClone() as JsonObject ?? [],
            ["masterKeyOnly"] = stored["masterKeyOnly"]?.DeepClone() as JsonObject ?? [],
        };
        var storedParams = (JsonObject)merged["params"]!;
        var storedFlags = (JsonObject)merged["masterKeyOnly"]!;
        foreach (var (key, value) in parameters ?? [])
        {
            if (IsDelete(value)) { storedParams.Remove(key); storedFlags.Remove(key); }
            else storedParams[key] = value?.DeepClone();
        }
        foreach (var (key, value) in masterKeyOnly ?? [])
        {
            if (!storedParams.ContainsKey(key)) continue;
            if (value is JsonValue v && v.TryGetValue(out bool flag) && flag) storedFlags[key] = true;
            else storedFlags.Remove(key);
        }
        if (storedParams.Count > MaxParams) throw new ParseException(ParseError.InvalidJson, $"A config holds at most {MaxParams} parameters.");
        return merged;
    }

    private static void Validate(JsonObject? parameters, JsonObject? masterKeyOnly)
    {
        foreach (var key in (parameters ?? []).Select(p => p.Key).Concat((masterKeyOnly ?? []).Select(p => p.Key)))
            if (key.Length is 0 or > 256 || key.StartsWith('$') || key.Contains('.') || Names.ProhibitedKeys.Contains(key))
                throw new ParseException(ParseError.InvalidKeyName, $"Invalid config parameter name: {Names.Truncate(key)}");
        foreach (var (key, value) in masterKeyOnly ?? [])
            if (value is not JsonValue v || !v.TryGetValue(out bool _))
                throw new ParseException(ParseError.InvalidJson, $"masterKeyOnly.{Names.Truncate(key)} must be a boolean.");
    }

    private static bool IsDelete(JsonNode? value) =>
        value is JsonObject o && o["__op"] is JsonValue op && op.TryGetValue(out string? name) && name == "Delete";
}
