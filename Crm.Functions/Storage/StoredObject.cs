using System.Text.Json.Nodes;

namespace Crm.Functions.Storage;

/// <summary>
/// An object as the stores keep it. <see cref="Data"/> holds the field values in Parse's JSON encoding
/// (dates normalised, pointers without extra keys) and may hold server-internal keys starting with '_'
/// (password hashes, lockout counters) that never leave the server. <see cref="OwnerId"/> is the
/// immutable partition owner: the creating user, or the user itself for _User.
/// </summary>
internal sealed class StoredObject
{
    public required string ClassName { get; init; }
    public required string ObjectId { get; init; }
    public required string OwnerId { get; init; }
    public required string CreatedAt { get; init; }
    public required string UpdatedAt { get; set; }
    public JsonObject? Acl { get; set; }
    public required JsonObject Data { get; set; }
    /// <summary>Optimistic-concurrency token (SQLite row version or Cosmos ETag); opaque to the core.</summary>
    public string? ETag { get; set; }

    public StoredObject Clone() => new()
    {
        ClassName = ClassName, ObjectId = ObjectId, OwnerId = OwnerId, CreatedAt = CreatedAt, UpdatedAt = UpdatedAt,
        Acl = (JsonObject?)Acl?.DeepClone(), Data = (JsonObject)Data.DeepClone(), ETag = ETag,
    };

    /// <summary>ACL keys granting read, or null when the object has no ACL (public). Parse's _rperm.</summary>
    public IReadOnlyList<string>? ReadPermissions => Permissions(Acl, "read");

    /// <summary>ACL keys granting write, or null when the object has no ACL (public). Parse's _wperm.</summary>
    public IReadOnlyList<string>? WritePermissions => Permissions(Acl, "write");

    private static List<string>? Permissions(JsonObject? acl, string access)
    {
        if (acl is null) return null;
        var keys = new List<string>();
        foreach (var (key, value) in acl)
            if (value is JsonObject entry && entry[access] is JsonValue v && v.TryGetValue(out bool granted) && granted)
                keys.Add(key);
        return keys;
    }
}

/// <summary>A change to a relation field, applied in the same store transaction as the owning object's write.</summary>
internal sealed record RelationChange(string Field, string TargetClass, IReadOnlyList<string> Ids, bool Add);
