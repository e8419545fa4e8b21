using System.Collections.Immutable;
using System.Text.Json.Nodes;

namespace Crm.Functions.Core.Schema;

/// <summary>An immutable snapshot of one class: fields, class-level permissions, indexes and a description.</summary>
internal sealed record ClassSchema(
    string ClassName,
    ImmutableSortedDictionary<string, FieldDefinition> Fields,
    JsonObject ClassLevelPermissions,
    ImmutableSortedDictionary<string, IndexDefinition> Indexes,
    string? Description = null)
{
    public FieldDefinition? Field(string name) => Fields.GetValueOrDefault(name);

    public IEnumerable<KeyValuePair<string, FieldDefinition>> RelationFields =>
        Fields.Where(f => f.Value.Type == FieldType.Relation);

    public static ClassSchema Create(string className, IDictionary<string, FieldDefinition>? fields = null, JsonObject? clp = null) =>
        new(className,
            ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, fields ?? new Dictionary<string, FieldDefinition>()),
            clp ?? ClassLevelPermissionsDefaults.Public(),
            ImmutableSortedDictionary<string, IndexDefinition>.Empty.WithComparers(StringComparer.Ordinal));
}

/// <summary>
/// A named index: ordered (field, direction) pairs. Unique indexes are server-internal (usernames, role names).
/// A text index (<see cref="Text"/>) serves <c>$text</c> on its one String field; Parse shows it as <c>{"field": "text"}</c>.
/// An <see cref="Automatic"/> one was made by the store for a query shape that kept scanning (<see cref="AutomaticIndexes"/>);
/// it is listed and dropped like any other.
/// </summary>
internal sealed record IndexDefinition(IReadOnlyList<(string Field, int Direction)> Keys, bool Unique = false, bool IgnoreCase = false, bool Text = false,
    bool Automatic = false)
{
    public JsonObject ToJson()
    {
        var json = new JsonObject();
        foreach (var (field, direction) in Keys) json[field] = Text ? "text" : direction;
        return json;
    }

    public static IndexDefinition TextOn(string field) => new([(field, 1)], Text: true);
}

internal static class ClassLevelPermissionsDefaults
{
    public static readonly string[] Operations = ["find", "count", "get", "create", "update", "delete", "addField"];

    /// <summary>A class created without CLP: every operation public, as parse-server does.</summary>
    public static JsonObject Public()
    {
        var clp = new JsonObject();
        foreach (var op in Operations) clp[op] = new JsonObject { ["*"] = true };
        clp["protectedFields"] = new JsonObject { ["*"] = new JsonArray() };
        return clp;
    }
}
