using System.Text.Json.Nodes;
using Crm.Functions.Core.Query;
using Crm.Functions.Core.Store;

namespace Crm.Functions.Realtime;

/// <summary>
/// Who might read an object, for the paths that cannot ask "who is connected" (Azure SignalR Service in
/// Serverless mode, the change feed): users named by its ACL (directly or through roles), users its
/// pointers name (pointer permissions), its owner, and — for public objects — users who negotiated
/// recently on any instance (<see cref="Presence"/>). This is a superset: every candidate still goes through
/// <see cref="RealtimeFanout.CanRead"/>, so a wrong guess here can only lose an event, never leak one.
/// </summary>
internal sealed class ReaderCandidates(IObjectStore store, Presence presence)
{
    /// <summary>Notes that a user negotiated, for every instance (docs/realtime.md).</summary>
    public Task SeenAsync(string userId, TimeSpan keep, CancellationToken ct) => presence.NoteAsync(userId, keep, ct);

    public async Task<HashSet<string>> ForAsync(StoredObject? before, StoredObject? after, CancellationToken ct)
    {
        var users = new HashSet<string>(StringComparer.Ordinal);
        var roles = new HashSet<string>(StringComparer.Ordinal);
        var isPublic = false;
        foreach (var obj in new[] { before, after })
        {
            if (obj is null) continue;
            if (obj.OwnerId.Length > 0 && !obj.OwnerId.StartsWith('_')) users.Add(obj.OwnerId);
            if (obj.ReadPermissions is not { } readers) { isPublic = true; }
            else
            {
                foreach (var key in readers)
                {
                    if (key == "*") isPublic = true;
                    else if (key.StartsWith("role:", StringComparison.Ordinal)) roles.Add(key[5..]);
                    else users.Add(key);
                }
            }
            foreach (var (key, value) in obj.Data)
                if (!key.StartsWith('_')) CollectUserPointers(value, users);
        }
        if (roles.Count > 0) users.UnionWith(await RoleHoldersAsync(roles, ct));
        if (isPublic) users.UnionWith(await presence.UsersAsync(ct));
        return users;
    }

    private static void CollectUserPointers(JsonNode? value, HashSet<string> users)
    {
        if (value is JsonObject o && o["__type"]?.ToString() == "Pointer" && o["className"]?.ToString() == "_User" && o["objectId"]?.ToString() is { } id)
            users.Add(id);
        else if (value is JsonArray a)
            foreach (var item in a) CollectUserPointers(item, users);
    }

    /// <summary>
    /// Users holding any of the roles: members of the role, and members of roles inside its "roles"
    /// relation, recursively (security.md §7: a child role's members inherit the parent's grants).
    /// </summary>
    private async Task<HashSet<string>> RoleHoldersAsync(HashSet<string> names, CancellationToken ct)
    {
        var holders = new HashSet<string>(StringComparer.Ordinal);
        var byName = new InNode(FieldRef.Of("name"), names.Select(n => (QueryValue)new StringValue(n)).ToList(), false);
        var frontier = (await store.FindAsync(new StoreQuery("_Role", byName, [], 0, 1000), ct)).Select(r => r.ObjectId).ToList();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var level = 0; frontier.Count > 0 && level < 32; level++)
        {
            var next = new List<string>();
            foreach (var roleId in frontier.Where(seen.Add))
            {
                foreach (var user in await store.FindAsync(new StoreQuery("_User", new RelatedToNode("_Role", roleId, "users"), [], 0, 10_000), ct))
                    holders.Add(user.ObjectId);
                next.AddRange((await store.FindAsync(new StoreQuery("_Role", new RelatedToNode("_Role", roleId, "roles"), [], 0, 1000), ct)).Select(r => r.ObjectId));
            }
            frontier = next;
        }
        return holders;
    }
}
