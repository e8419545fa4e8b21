namespace Crm.Functions.Core.Schema;

internal static class FieldType
{
    public const string String = "String";
    public const string Number = "Number";
    public const string Boolean = "Boolean";
    public const string Date = "Date";
    public const string Object = "Object";
    public const string Array = "Array";
    public const string GeoPoint = "GeoPoint";
    public const string File = "File";
    public const string Bytes = "Bytes";
    public const string Polygon = "Polygon";
    public const string Pointer = "Pointer";
    public const string Relation = "Relation";
    public const string Acl = "ACL";

    public static readonly HashSet<string> All = new(StringComparer.Ordinal)
    {
        String, Number, Boolean, Date, Object, Array, GeoPoint, File, Bytes, Polygon, Pointer, Relation,
    };
}

/// <summary>
/// One field of a class. <see cref="TargetClass"/> may name several classes separated by '|'
/// (e.g. Activity.relatedTo → "Contact|Deal"): each stored value is still an ordinary Parse pointer.
/// </summary>
internal sealed record FieldDefinition(string Type, string? TargetClass = null, bool Required = false,
    System.Text.Json.Nodes.JsonNode? DefaultValue = null, string? Description = null)
{
    public IReadOnlyList<string> TargetClasses =>
        TargetClass is null ? [] : TargetClass.Split('|', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public bool Targets(string className) => TargetClasses.Contains(className, StringComparer.Ordinal);

    /// <summary>"Pointer&lt;Company&gt;" style, as used in error messages.</summary>
    public string Display => TargetClass is null ? Type : $"{Type}<{TargetClass}>";

    public bool SameTypeAs(FieldDefinition other) =>
        Type == other.Type && string.Equals(TargetClass, other.TargetClass, StringComparison.Ordinal);
}
