namespace Crm.Functions.GraphQL;

/// <summary>Parse Server's GraphQL names: <c>_User</c> → type <c>User</c>, get <c>user</c>, find <c>users</c>.</summary>
internal static class Naming
{
    private static readonly Dictionary<string, string> Irregular = new(StringComparer.Ordinal)
    {
        ["person"] = "people", ["man"] = "men", ["woman"] = "women", ["child"] = "children", ["mouse"] = "mice",
        ["goose"] = "geese", ["foot"] = "feet", ["tooth"] = "teeth", ["ox"] = "oxen", ["leaf"] = "leaves",
        ["index"] = "indices", ["matrix"] = "matrices", ["status"] = "statuses", ["analysis"] = "analyses",
        ["criterion"] = "criteria", ["datum"] = "data", ["quiz"] = "quizzes",
    };

    private static readonly HashSet<string> Uncountable = new(StringComparer.Ordinal)
    {
        "equipment", "information", "rice", "money", "species", "series", "fish", "sheep", "deer", "news", "data",
        "feedback", "software", "metadata", "staff", "furniture", "advice", "traffic", "knowledge",
    };

    public static string TypeName(string className)
    {
        var name = className.TrimStart('_');
        return char.ToUpperInvariant(name[0]) + name[1..];
    }

    public static string LowerFirst(string name) => char.ToLowerInvariant(name[0]) + name[1..];

    /// <summary>English plural of the last word of a camelCase name, as npm's <c>pluralize</c> does for common words.</summary>
    public static string Plural(string name)
    {
        var start = name.Length - 1;
        while (start > 0 && !char.IsUpper(name[start])) start--;
        var head = name[..start];
        var word = name[start..];
        var lower = word.ToLowerInvariant();
        string plural;
        if (Uncountable.Contains(lower)) plural = lower;
        else if (Irregular.TryGetValue(lower, out var irregular)) plural = irregular;
        else if (lower.EndsWith('y') && lower.Length > 1 && !"aeiou".Contains(lower[^2], StringComparison.Ordinal)) plural = lower[..^1] + "ies";
        else if (lower.EndsWith('s') || lower.EndsWith('x') || lower.EndsWith('z') || lower.EndsWith("ch", StringComparison.Ordinal) || lower.EndsWith("sh", StringComparison.Ordinal)) plural = lower + "es";
        else plural = lower + "s";
        // Keep the original casing of the word's first letter.
        plural = (char.IsUpper(word[0]) ? char.ToUpperInvariant(plural[0]) : plural[0]) + plural[1..];
        return head + plural;
    }
}
