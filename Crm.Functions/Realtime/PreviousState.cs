using System.Text.Json.Nodes;
using Crm.Functions.Core.Triggers;
using Crm.Functions.Core.Store;

namespace Crm.Functions.Realtime;

/// <summary>
/// The Cosmos change feed delivers only the new document. To tell who lost access (removal) and what the
/// stage was, a before-save hook keeps the previous ACL and the previous values of the changed fields in
/// the server-internal field <c>_rtPrev</c> ('_' keys never leave the server), and the change-feed path
/// rebuilds the previous state from it.
/// </summary>
internal static class PreviousState
{
    public const string Field = "_rtPrev";

    public static void Register(TriggerRegistry triggers, IEnumerable<string> classes)
    {
        foreach (var className in classes) triggers.BeforeSave(className, Remember);
    }

    private static ValueTask Remember(SaveEvent e, CancellationToken ct)
    {
        var data = e.Object.Data;
        data.Remove(Field);
        if (e.Original is not { } original) return ValueTask.CompletedTask;

        var fields = new JsonObject();
        var unset = new JsonArray();
        foreach (var (key, value) in original.Data)
        {
            if (key.StartsWith('_')) continue;
            if (!data.TryGetPropertyValue(key, out var now) || !JsonNode.DeepEquals(now, value)) fields[key] = value?.DeepClone();
        }
        foreach (var (key, _) in data)
            if (!key.StartsWith('_') && !original.Data.ContainsKey(key)) unset.Add(key);
        data[Field] = new JsonObject
        {
            ["updatedAt"] = original.UpdatedAt,
            ["acl"] = original.Acl?.DeepClone(),
            ["fields"] = fields,
            ["unset"] = unset,
        };
        return ValueTask.CompletedTask;
    }

    /// <summary>The state before the change that produced <paramref name="current"/>; null when it was a create.</summary>
    public static StoredObject? Before(StoredObject current)
    {
        if (current.Data[Field] is not JsonObject previous) return null;
        var before = current.Clone();
        before.Data.Remove(Field);
        before.UpdatedAt = previous["updatedAt"]?.ToString() ?? current.UpdatedAt;
        before.Acl = previous["acl"]?.DeepClone() as JsonObject;
        if (previous["fields"] is JsonObject fields)
            foreach (var (key, value) in fields) before.Data[key] = value?.DeepClone();
        if (previous["unset"] is JsonArray unset)
            foreach (var key in unset) if (key?.ToString() is { } name) before.Data.Remove(name);
        return before;
    }
}
