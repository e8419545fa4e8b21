using System.Globalization;

namespace Crm.Functions.Core.Json;

/// <summary>
/// Parse's one date format: UTC, millisecond precision, 'Z'. Stored dates always use it, so ISO strings
/// compare and sort correctly as text in every store.
/// </summary>
internal static class ParseDates
{
    public const string Pattern = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";

    public static string Format(DateTimeOffset value) =>
        value.UtcDateTime.ToString(Pattern, CultureInfo.InvariantCulture);

    public static bool TryNormalize(string? iso, out string normalized)
    {
        normalized = "";
        if (string.IsNullOrWhiteSpace(iso) || iso.Length > 40) return false;
        if (!DateTimeOffset.TryParse(iso, CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed))
            return false;
        normalized = Format(parsed);
        return true;
    }

    public static DateTimeOffset Parse(string normalized) =>
        DateTimeOffset.Parse(normalized, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
}
