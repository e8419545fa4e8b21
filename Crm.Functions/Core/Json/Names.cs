using System.Text.RegularExpressions;

namespace Crm.Functions.Core.Json;

/// <summary>
/// Name rules. Field names end up inside SQL JSON paths and Cosmos property paths as literals (so that
/// expression indexes match), which is only safe because these patterns admit nothing but [A-Za-z0-9_].
/// </summary>
internal static partial class Names
{
    public static readonly HashSet<string> SystemClasses = new(StringComparer.Ordinal)
    {
        "_User", "_Role", "_Session", "_Installation",
    };

    /// <summary>Internal classes no client (not even master through /classes) may touch.</summary>
    public static readonly HashSet<string> MasterOnlyClasses = new(StringComparer.Ordinal)
    {
        "_JobStatus", "_PushStatus", "_Hooks", "_GlobalConfig", "_JobSchedule", "_Idempotency", "_Subscription", "_Presence", "_LiveQuery",
        "_WebhookDelivery", "_History", "_RealtimeOutbox",
    };

    public static readonly HashSet<string> DefaultFields = new(StringComparer.Ordinal)
    {
        "objectId", "createdAt", "updatedAt", "ACL",
    };

    /// <summary>Keys rejected anywhere in request data: prototype pollution vectors for JS clients downstream.</summary>
    public static readonly HashSet<string> ProhibitedKeys = new(StringComparer.Ordinal) { "__proto__", "constructor", "_bsontype" };

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9_]{0,127}$")]
    private static partial Regex FieldPattern();

    [GeneratedRegex("^_?[A-Za-z][A-Za-z0-9_]{0,127}$")]
    private static partial Regex ClassPattern();

    public static bool IsValidField(string name) => FieldPattern().IsMatch(name) && name is not "className" and not "length";

    public static bool IsValidClass(string name) =>
        ClassPattern().IsMatch(name) && (!name.StartsWith('_') || SystemClasses.Contains(name));

    public static void EnsureValidClass(string name)
    {
        if (!IsValidClass(name))
            throw new ParseException(ParseError.InvalidClassName, $"Invalid classname: {Truncate(name)}, classnames can only have alphanumeric characters and _, and must start with an alpha character ");
    }

    public static string Truncate(string value, int max = 80) => value.Length <= max ? value : value[..max] + "…";
}
