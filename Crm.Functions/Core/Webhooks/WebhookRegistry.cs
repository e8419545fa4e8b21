using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Crm.Functions.Core.Json;
using Crm.Functions.Core.Query;
using Crm.Functions.Core.Store;

namespace Crm.Functions.Core.Webhooks;

/// <summary>
/// A URL registered through <c>/hooks</c>: a cloud function (<see cref="FunctionName"/>) or a trigger of a class
/// (<see cref="ClassName"/>, <see cref="TriggerName"/>). <see cref="Secret"/> signs what is sent to it.
/// </summary>
internal sealed record Webhook(string Id, string? FunctionName, string? ClassName, string? TriggerName, string Url, string Secret)
{
    public bool IsFunction => FunctionName is not null;

    /// <summary>As Parse's <c>/hooks</c> answers: <c>{functionName, url}</c> or <c>{className, triggerName, url}</c>.</summary>
    public JsonObject ToJson() => IsFunction
        ? new JsonObject { ["functionName"] = FunctionName, ["url"] = Url }
        : new JsonObject { ["className"] = ClassName, ["triggerName"] = TriggerName, ["url"] = Url };
}

/// <summary>
/// The registered webhooks, kept in the master-only class <c>_Hooks</c> (so every instance sees them) and read from a
/// snapshot that is reloaded on every change made here and every <see cref="RefreshEvery"/> (by the dispatcher), so
/// another instance's registration applies within that time. The snapshot is what decides, on each write, whether a
/// class's changes go to the outbox at all.
/// </summary>
internal sealed class WebhookRegistry(IObjectStore store, WebhookAddresses addresses, TimeProvider time) : IDisposable
{
    public const string ClassName = "_Hooks";
    public const string AfterSave = "afterSave", AfterDelete = "afterDelete";
    public static readonly TimeSpan RefreshEvery = TimeSpan.FromSeconds(5);

    /// <summary>Parse's trigger names this server does not call URLs for: before-triggers would hold a write open on a remote call.</summary>
    private static readonly HashSet<string> UnsupportedTriggers = new(StringComparer.Ordinal)
    {
        "beforeSave", "beforeDelete", "beforeFind", "afterFind", "beforeLogin", "afterLogin", "afterLogout",
        "beforeConnect", "beforeSubscribe", "afterEvent", "beforePasswordResetRequest",
    };

    private const string SecretKey = "_secret";
    private const string Owner = "_hooks";

    private volatile Snapshot _current = Snapshot.Empty;
    private readonly SemaphoreSlim _writes = new(1, 1);

    private sealed record Snapshot(ImmutableArray<Webhook> All, ImmutableDictionary<string, ImmutableArray<Webhook>> Triggers)
    {
        public static readonly Snapshot Empty = new([], ImmutableDictionary<string, ImmutableArray<Webhook>>.Empty);

        public static Snapshot Of(IEnumerable<Webhook> hooks)
        {
            var all = hooks.OrderBy(h => h.Id, StringComparer.Ordinal).ToImmutableArray();
            var triggers = all.Where(h => !h.IsFunction).GroupBy(h => h.ClassName!, StringComparer.Ordinal)
                .ToImmutableDictionary(g => g.Key, g => g.ToImmutableArray(), StringComparer.Ordinal);
            return new Snapshot(all, triggers);
        }
    }

    public void Dispose() => _writes.Dispose();

    public IReadOnlyList<Webhook> All => _current.All;

    /// <summary>Whether any trigger URL listens to the class (a lock-free read on every write).</summary>
    public bool HasTriggers(string className) => _current.Triggers.ContainsKey(className);

    public IEnumerable<Webhook> Triggers(string className, string triggerName) =>
        _current.Triggers.TryGetValue(className, out var hooks) ? hooks.Where(h => h.TriggerName == triggerName) : [];

    public Webhook? Find(string id) => _current.All.FirstOrDefault(h => h.Id == id);

    public Webhook? Function(string name) => _current.All.FirstOrDefault(h => h.FunctionName == name);

    public Webhook? Trigger(string className, string triggerName) =>
        _current.All.FirstOrDefault(h => h.ClassName == className && h.TriggerName == triggerName);

    private readonly TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// Completes once start-up has opened the store and read the hooks (<see cref="LoadAsync"/>). Before it the snapshot is
    /// empty because nothing was read yet, not because no hook exists: the store answers a class it has not loaded as empty.
    /// </summary>
    public Task Loaded => _loaded.Task;

    /// <summary>The first read, at start-up once the store is open and its schema loaded.</summary>
    public async Task LoadAsync(CancellationToken ct)
    {
        await RefreshAsync(ct);
        _loaded.TrySetResult();
    }

    /// <summary>
    /// The hook with this id, read again from the store when this snapshot does not have it: another instance may have
    /// registered it since the last refresh. Null only when the store has no such hook (it was removed).
    /// </summary>
    public async Task<Webhook?> FindCurrentAsync(string id, CancellationToken ct)
    {
        if (Find(id) is { } known) return known;
        await RefreshAsync(ct);
        return Find(id);
    }

    public async Task RefreshAsync(CancellationToken ct)
    {
        var stored = await store.FindAsync(new StoreQuery(ClassName, QueryNode.True, [], 0, 10_000), ct);
        _current = Snapshot.Of(stored.Select(FromStored));
    }

    private static Webhook FromStored(StoredObject o) => new(o.ObjectId,
        Text(o.Data["functionName"]), Text(o.Data["targetClass"]), Text(o.Data["triggerName"]), Text(o.Data["url"]) ?? "", Text(o.Data[SecretKey]) ?? "");

    private static string? Text(JsonNode? node) => node is JsonValue v && v.TryGetValue(out string? s) ? s : null;

    /// <summary>Validates a Parse hook declaration (POST body, or PUT body with the path's names) and returns its parts.</summary>
    public (string? FunctionName, string? ClassName, string? TriggerName, string Url) Declaration(JsonObject body)
    {
        var url = Text(body["url"]);
        var functionName = Text(body["functionName"]);
        var className = Text(body["className"]);
        var triggerName = Text(body["triggerName"]);
        if (url is null) throw Invalid();
        if (functionName is not null)
        {
            if (!Names.IsValidField(functionName) && !System.Text.RegularExpressions.Regex.IsMatch(functionName, "^[A-Za-z][A-Za-z0-9_.-]{0,127}$"))
                throw Invalid();
            className = triggerName = null;
        }
        else if (className is not null && triggerName is not null)
        {
            if (UnsupportedTriggers.Contains(triggerName))
                throw new ParseException(ParseError.HookError,
                    $"{triggerName} webhooks are not supported by this server: only afterSave and afterDelete trigger URLs are called (docs/webhooks.md).");
            if (triggerName is not (AfterSave or AfterDelete)) throw Invalid();
            if (!Names.IsValidClass(className) || Names.MasterOnlyClasses.Contains(className)) throw Invalid();
        }
        else throw Invalid();
        addresses.EnsureAllowedUrl(url);
        return (functionName, className, triggerName, url);
    }

    private static ParseException Invalid() => new(ParseError.HookError, "invalid hook declaration");

    /// <summary>Registers a hook; the answer carries its secret, the only time it is shown.</summary>
    public async Task<(Webhook Hook, string Secret)> CreateAsync(JsonObject body, CancellationToken ct)
    {
        var (functionName, className, triggerName, url) = Declaration(body);
        await _writes.WaitAsync(ct);
        try
        {
            await RefreshAsync(ct);
            if (functionName is not null && Function(functionName) is not null)
                throw new ParseException(ParseError.HookError, $"function name: {functionName} already exists");
            if (className is not null && Trigger(className, triggerName!) is not null)
                throw new ParseException(ParseError.HookError, $"class {className} already has trigger {triggerName}");
            var secret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
            var now = ParseDates.Format(time.GetUtcNow());
            var data = new JsonObject { ["url"] = url, [SecretKey] = secret };
            if (functionName is not null) data["functionName"] = functionName;
            else { data["targetClass"] = className; data["triggerName"] = triggerName; }
            var stored = new StoredObject { ClassName = ClassName, ObjectId = ObjectIds.New(), OwnerId = Owner, CreatedAt = now, UpdatedAt = now, Data = data };
            await store.InsertAsync(stored, [], ct);
            await RefreshAsync(ct);
            return (FromStored(stored), secret);
        }
        finally { _writes.Release(); }
    }

    /// <summary>Points an existing hook at a new URL (its secret stays); null when there is none.</summary>
    public async Task<Webhook?> UpdateAsync(Webhook existing, string url, CancellationToken ct)
    {
        addresses.EnsureAllowedUrl(url);
        var updated = await store.UpdateAsync(ClassName, existing.Id, QueryNode.True, current =>
        {
            current.Data["url"] = url;
            current.UpdatedAt = ParseDates.Format(time.GetUtcNow());
            return ValueTask.FromResult<ObjectWrite?>(new ObjectWrite(current, []));
        }, ct);
        await RefreshAsync(ct);
        return updated is null ? null : FromStored(updated);
    }

    public async Task DeleteAsync(Webhook hook, CancellationToken ct)
    {
        await store.DeleteAsync(ClassName, hook.Id, QueryNode.True, ct);
        await RefreshAsync(ct);
    }
}
