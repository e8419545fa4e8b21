using System.Text.Json.Nodes;
using Crm.Functions.Core.Schema;
using Crm.Functions.Core.Security;
using Crm.Functions.Core.Store;

namespace Crm.Functions.Core.Triggers;

/// <summary>A save passing through the core: hooks may change <see cref="Object"/> or throw a ParseException to refuse it.</summary>
internal sealed class SaveEvent
{
    public required Auth Auth { get; init; }
    public required ClassSchema Schema { get; init; }
    /// <summary>The stored state before the save; null on create.</summary>
    public StoredObject? Original { get; init; }
    /// <summary>The state about to be stored (before hooks) or that was stored (after hooks).</summary>
    public required StoredObject Object { get; init; }
    /// <summary>Fields the request changed (top-level names).</summary>
    public required IReadOnlySet<string> ChangedFields { get; init; }
    /// <summary>Extra fields to return to the caller (e.g. a new session token).</summary>
    public JsonObject Response { get; } = [];
    public bool IsCreate => Original is null;
    public string ClassName => Schema.ClassName;
}

internal sealed class DeleteEvent
{
    public required Auth Auth { get; init; }
    public required ClassSchema Schema { get; init; }
    public required StoredObject Object { get; init; }
}

/// <summary>A call of a Cloud-Code-style function (<c>POST /functions/{name}</c>).</summary>
internal sealed record FunctionCall(Auth Auth, JsonObject Params);

internal delegate ValueTask SaveHook(SaveEvent e, CancellationToken ct);
internal delegate ValueTask DeleteHook(DeleteEvent e, CancellationToken ct);
internal delegate Task<JsonNode?> CloudFunction(FunctionCall call, CancellationToken ct);

/// <summary>
/// Server-side rules registered per class, like Parse's beforeSave/afterSave. Before-hooks run inside the
/// store's atomic update, so they must not write (they may read); after-hooks run once the write is
/// committed. Registered once at start-up, read concurrently afterwards.
/// </summary>
internal sealed class TriggerRegistry
{
    private readonly Dictionary<string, List<SaveHook>> _beforeSave = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<SaveHook>> _afterSave = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<DeleteHook>> _beforeDelete = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<DeleteHook>> _afterDelete = new(StringComparer.Ordinal);
    private readonly Dictionary<string, CloudFunction> _functions = new(StringComparer.Ordinal);

    public void BeforeSave(string className, SaveHook hook) => Add(_beforeSave, className, hook);
    public void AfterSave(string className, SaveHook hook) => Add(_afterSave, className, hook);
    public void BeforeDelete(string className, DeleteHook hook) => Add(_beforeDelete, className, hook);
    public void AfterDelete(string className, DeleteHook hook) => Add(_afterDelete, className, hook);
    public void Define(string name, CloudFunction function) => _functions[name] = function;

    public CloudFunction? Function(string name) => _functions.GetValueOrDefault(name);

    public IEnumerable<string> FunctionNames => _functions.Keys;

    private static void Add<T>(Dictionary<string, List<T>> map, string className, T hook)
    {
        if (!map.TryGetValue(className, out var list)) map[className] = list = [];
        list.Add(hook);
    }

    public ValueTask RunBeforeSaveAsync(SaveEvent e, CancellationToken ct) => Run(_beforeSave, e.ClassName, e, ct);
    public ValueTask RunAfterSaveAsync(SaveEvent e, CancellationToken ct) => Run(_afterSave, e.ClassName, e, ct);
    public ValueTask RunBeforeDeleteAsync(DeleteEvent e, CancellationToken ct) => Run(_beforeDelete, e.Schema.ClassName, e, ct);
    public ValueTask RunAfterDeleteAsync(DeleteEvent e, CancellationToken ct) => Run(_afterDelete, e.Schema.ClassName, e, ct);

    private static async ValueTask Run(Dictionary<string, List<SaveHook>> map, string className, SaveEvent e, CancellationToken ct)
    {
        if (!map.TryGetValue(className, out var hooks)) return;
        foreach (var hook in hooks) await hook(e, ct);
    }

    private static async ValueTask Run(Dictionary<string, List<DeleteHook>> map, string className, DeleteEvent e, CancellationToken ct)
    {
        if (!map.TryGetValue(className, out var hooks)) return;
        foreach (var hook in hooks) await hook(e, ct);
    }
}
