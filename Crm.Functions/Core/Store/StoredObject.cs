using System.Text.Json.Nodes;

namespace Crm.Functions.Core.Store;

/// <summary>
/// An object as the stores keep it. <see cref="Data"/> holds the field values in Parse's JSON encoding
/// (dates normalised, pointers without extra keys) and may hold server-internal keys starting with '_'
/// (password hashes, lockout counters) that never leave the server. <see cref="OwnerId"/> is the
/// immutable partition owner: the creating user, or the user itself for _User.
/// </summary>
internal sealed class StoredObject
{
    private JsonObject? _data;
    private JsonObject? _acl;
    // The stored JSON text (UTF-8) as the store read it, until someone needs the tree: most reads are written
    // straight to a response by ObjectEncoder, and parsing 50 rows into trees cost more than the query.
    private byte[]? _storedData;
    private byte[]? _storedAcl;

    public required string ClassName { get; init; }
    public required string ObjectId { get; init; }
    public required string OwnerId { get; init; }
    public required string CreatedAt { get; init; }
    public required string UpdatedAt { get; set; }

    public JsonObject? Acl
    {
        get
        {
            if (_storedAcl is { } text) { _acl = JsonNode.Parse(text) as JsonObject; _storedAcl = null; }
            return _acl;
        }
        set { _acl = value; _storedAcl = null; }
    }

    public JsonObject Data
    {
        get
        {
            if (_storedData is { } text) { _data = JsonNode.Parse(text) as JsonObject ?? []; _storedData = null; }
            return _data ??= [];
        }
        set { _data = value; _storedData = null; }
    }

    /// <summary>Relevance for the query's <c>$text</c> (see <see cref="Query.TextSearch.Score(Query.TextTerms, string?)"/>), set by the store that read it; never stored.</summary>
    public double? Score { get; set; }

    /// <summary>Optimistic-concurrency token (SQLite row version or Cosmos ETag); opaque to the core.</summary>
    public string? ETag { get; set; }

    /// <summary>An object read as JSON text (UTF-8): <see cref="Data"/> and <see cref="Acl"/> are parsed on first use.</summary>
    public static StoredObject FromText(string className, string objectId, string ownerId, string createdAt, string updatedAt,
        string? etag, byte[]? acl, byte[] data) => new()
    {
        ClassName = className, ObjectId = objectId, OwnerId = ownerId, CreatedAt = createdAt, UpdatedAt = updatedAt, ETag = etag,
        _storedAcl = acl, _storedData = data,
    };

    /// <summary>The stored text of the fields while no tree was built from it (then writers may copy it as is).</summary>
    public ReadOnlySpan<byte> StoredDataText => _storedData;

    public bool HasStoredDataText => _storedData is not null;

    public ReadOnlySpan<byte> StoredAclText => _storedAcl;

    public bool HasStoredAclText => _storedAcl is not null;

    /// <summary>Whether the object has an ACL, without parsing it.</summary>
    public bool HasAcl => _storedAcl is not null || _acl is not null;

    // Unparsed text is shared: it is never modified, and parsing it gives each copy its own tree.
    public StoredObject Clone() => new()
    {
        ClassName = ClassName, ObjectId = ObjectId, OwnerId = OwnerId, CreatedAt = CreatedAt, UpdatedAt = UpdatedAt, ETag = ETag,
        _storedAcl = _storedAcl, _acl = (JsonObject?)_acl?.DeepClone(),
        _storedData = _storedData, _data = (JsonObject?)_data?.DeepClone(),
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
