using System.Collections.Concurrent;
using Crm.Functions.Core.Query;
using Crm.Functions.Core.Schema;
using Crm.Functions.Core.Store;
using Crm.Functions.Core.Telemetry;

namespace Crm.Functions.Core.Users;

/// <summary>
/// Resolves the roles a user holds, transitively: role P is held when P.users contains the user or
/// P.roles contains a role already held (security.md §7). Cached per user; any _Role write clears the
/// cache (see UserRules), and entries expire after a few seconds for other instances' writes.
/// </summary>
internal sealed class RoleService(IObjectStore store, TimeProvider time)
{
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(5);
    private readonly ConcurrentDictionary<string, (IReadOnlySet<string> Roles, DateTimeOffset Until)> _cache = new(StringComparer.Ordinal);

    public void Invalidate() => _cache.Clear();

    public async Task<IReadOnlySet<string>> RolesOfAsync(string userId, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        if (_cache.TryGetValue(userId, out var cached) && cached.Until > now)
        {
            CrmTelemetry.RecordCacheLookup("roles", hit: true);
            return cached.Roles;
        }
        CrmTelemetry.RecordCacheLookup("roles", hit: false);

        var names = new HashSet<string>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var frontier = await FindRolesAsync("users", [userId], ct);
        // Breadth-first up the hierarchy; 'seen' cuts cycles.
        for (var level = 0; frontier.Count > 0 && level < 32; level++)
        {
            var fresh = frontier.Where(r => seen.Add(r.ObjectId)).ToList();
            foreach (var role in fresh)
                if (role.Data["name"]?.ToString() is { } name) names.Add(name);
            frontier = fresh.Count == 0 ? [] : await FindRolesAsync("roles", fresh.Select(r => r.ObjectId).ToList(), ct);
        }
        if (_cache.Count > 100_000) _cache.Clear();
        _cache[userId] = (names, now + CacheFor);
        return names;
    }

    private async Task<List<StoredObject>> FindRolesAsync(string relation, IReadOnlyList<string> memberIds, CancellationToken ct)
    {
        var field = FieldRef.Of(relation, new FieldDefinition(FieldType.Relation, relation == "users" ? "_User" : "_Role"));
        var found = await store.FindAsync(new StoreQuery("_Role", new RelationContainsNode(field, memberIds, false), [], 0, 10_000), ct);
        return [.. found];
    }
}
