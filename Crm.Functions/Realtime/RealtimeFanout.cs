using System.Text.Json.Nodes;
using Crm.Functions.Core;
using Crm.Functions.Core.Query;
using Crm.Functions.Core.Schema;
using Crm.Functions.Core.Security;
using Crm.Functions.Core.Users;
using Crm.Functions.Core.Store;
using Microsoft.Extensions.Options;

namespace Crm.Functions.Realtime;

/// <summary>Whether a user may read the state before and after a change.</summary>
internal readonly record struct Readability(bool Before, bool After)
{
    public bool Either => Before || After;
}

/// <summary>One message for one user: a SignalR target and its single argument.</summary>
internal sealed record UserMessage(string UserId, string Target, JsonObject Payload);

/// <summary>
/// Decides which user receives which event for one committed change. Readability is the REST read
/// restriction of <see cref="AccessPolicy"/> (ACL, CLP, pointer permissions) evaluated in memory by
/// <see cref="QueryMatcher"/>, and payloads are rendered by <see cref="DataService.Encode"/> for that very
/// user, so real time can show neither an object nor a field that a REST read would hide.
/// </summary>
internal sealed class RealtimeFanout(DataService data, UserService users, IOptions<ClassDeclarations> declarations)
{
    public const string Created = "created", Updated = "updated", Deleted = "deleted", SubscriptionEvent = "event";

    public Task<Auth> AuthForAsync(string userId, CancellationToken ct) => users.AuthForUserAsync(userId, null, null, ct);

    /// <summary>
    /// The caller of each distinct user. Roles mostly come from RoleService's cache; where entries expired, the
    /// store lookups overlap instead of queueing one behind another (on Cosmos each is a round trip).
    /// </summary>
    public async Task<Dictionary<string, Auth>> AuthsForAsync(IEnumerable<string> userIds, CancellationToken ct)
    {
        var distinct = userIds.Distinct(StringComparer.Ordinal).ToList();
        var auths = await Task.WhenAll(distinct.Select(userId => AuthForAsync(userId, ct)));
        return distinct.Select((userId, i) => (userId, auths[i])).ToDictionary(p => p.userId, p => p.Item2, StringComparer.Ordinal);
    }

    public ClassSchema? Schema(string className) => data.Schemas.Get(className);

    /// <summary>"May this user read this object", decided by the same restriction a REST find applies.</summary>
    public static bool CanRead(Auth auth, ClassSchema schema, StoredObject obj) => AccessPolicy.CanRead(auth, schema, obj);

    /// <summary>Whether the user may read the state before and the state after the change.</summary>
    public static Readability ReadabilityOf(Auth auth, ClassSchema schema, ObjectChange change) =>
        new(change.Before is { } b && CanRead(auth, schema, b), change.After is { } a && CanRead(auth, schema, a));

    /// <summary>
    /// The event one user gets for a change, under LiveQuery's table (livequery.md §3) with
    /// <paramref name="filter"/> as the subscription's where (null for the feed); null when none.
    /// <paramref name="readable"/>, when known, spares deciding it again for each of a user's subscriptions.
    /// </summary>
    public JsonObject? Decide(Auth auth, ClassSchema schema, ObjectChange change, QueryNode? filter, Readability? readable = null)
    {
        var (readBefore, readAfter) = readable ?? ReadabilityOf(auth, schema, change);
        var was = readBefore && (filter is null || QueryMatcher.Matches(filter, change.Before!));
        var isNow = readAfter && (filter is null || QueryMatcher.Matches(filter, change.After!));

        string op;
        if (was && isNow) op = "update";
        else if (isNow) op = change.Before is null ? "create" : "enter";
        else if (was) op = change.After is null ? "delete" : "leave";
        else return null;

        // A user who lost access gets the last state they were allowed to see, never the new one: the
        // new state is exactly what the ACL change is meant to hide from them.
        var shown = isNow ? change.After! : change.Before!;
        var payload = new JsonObject
        {
            ["op"] = op,
            ["className"] = schema.ClassName,
            ["objectId"] = shown.ObjectId,
            ["object"] = Render(auth, schema, shown),
        };
        if (readBefore && change.Before is not null && change.After is not null && isNow)
        {
            // The previous state only for users who could read it: on "enter" after an ACL change it
            // would reveal what the object looked like while it was hidden from them.
            var original = Render(auth, schema, change.Before);
            if (op == "update") payload["original"] = original.DeepClone();
            // Declared previous values (previousStage, …) only where the recipient may see the field: both states are
            // rendered for them, so protected fields are absent from both.
            foreach (var field in declarations.Value.Of(schema.ClassName)?.PreviousValues ?? [])
                if (original[field] is { } previous && payload["object"]![field] is { } current && !JsonNode.DeepEquals(previous, current))
                    payload[ClassDeclaration.PreviousKey(field)] = previous.DeepClone();
        }
        return payload;
    }

    public static string TargetOf(string op) => op switch
    {
        "create" or "enter" => Created,
        "update" => Updated,
        _ => Deleted,
    };

    /// <summary>The object exactly as a REST read by this user returns it, plus its class name.</summary>
    public JsonObject Render(Auth auth, ClassSchema schema, StoredObject obj)
    {
        var json = data.Encode(auth, schema, obj, AccessPolicy.ProtectedFields(auth, schema));
        json["className"] = schema.ClassName;
        return json;
    }

    /// <summary>Feed messages (no filter) for each candidate user; candidates who may read neither state get nothing.</summary>
    public async Task<List<UserMessage>> FeedAsync(ObjectChange change, IEnumerable<string> candidates, CancellationToken ct)
    {
        var messages = new List<UserMessage>();
        if (Schema(change.ClassName) is not { } schema) return messages;
        foreach (var (userId, auth) in await AuthsForAsync(candidates, ct))
        {
            if (Decide(auth, schema, change, null) is { } payload)
                messages.Add(new UserMessage(userId, TargetOf(payload["op"]!.GetValue<string>()), payload));
        }
        return messages;
    }
}
