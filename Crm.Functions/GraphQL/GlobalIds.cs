using System.Text;

namespace Crm.Functions.GraphQL;

/// <summary>Relay global ids: base64("ParseClassName:objectId"). Every id argument also accepts a raw objectId.</summary>
internal static class GlobalIds
{
    public static string Encode(string className, string objectId) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"{className}:{objectId}"));

    public static bool TryDecode(string id, out string className, out string objectId)
    {
        className = objectId = "";
        if (id.Length is 0 or > 400 || id.Length % 4 != 0) return false;
        var buffer = new byte[id.Length];
        if (!Convert.TryFromBase64String(id, buffer, out var written)) return false;
        string text;
        try { text = new UTF8Encoding(false, true).GetString(buffer, 0, written); }
        catch (ArgumentException) { return false; }
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || colon == text.Length - 1) return false;
        (className, objectId) = (text[..colon], text[(colon + 1)..]);
        return true;
    }

    /// <summary>An ID argument as text: GraphQL's ID also accepts integer literals.</summary>
    public static string Text(object? id) => Convert.ToString(id, System.Globalization.CultureInfo.InvariantCulture) ?? "";

    /// <summary>The objectId an id names for a class: decoded when it is a global id of that class, else used as is.</summary>
    public static string ObjectIdFor(string id, string className) =>
        TryDecode(id, out var cls, out var objectId) && cls == className ? objectId : id;
}
