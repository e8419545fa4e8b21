using System.Text.Json.Nodes;

namespace Crm.Functions.Tests.Infrastructure;

/// <summary>Parse wire values and unique names for tests that share one server.</summary>
public static class Wire
{
    /// <summary>A class or user name no other test uses (tests share a server per test class).</summary>
    public static string Unique(string prefix) => prefix + Guid.NewGuid().ToString("N")[..10];

    /// <summary>An ACL from (key, read, write) entries; a key with neither right gets an empty entry.</summary>
    public static JsonObject Acl(params (string Key, bool Read, bool Write)[] entries)
    {
        var acl = new JsonObject();
        foreach (var (key, read, write) in entries)
        {
            var entry = new JsonObject();
            if (read) entry["read"] = true;
            if (write) entry["write"] = true;
            acl[key] = entry;
        }
        return acl;
    }

    public static JsonObject PointerTo(string className, string objectId) =>
        new() { ["__type"] = "Pointer", ["className"] = className, ["objectId"] = objectId };

    public static JsonObject Date(string iso) => new() { ["__type"] = "Date", ["iso"] = iso };

    public static JsonObject Op(string op, params JsonNode?[] objects) => new() { ["__op"] = op, ["objects"] = new JsonArray(objects) };

    /// <summary>An AddRelation operation adding these objects of one class (roles' users and roles, relations).</summary>
    public static JsonObject AddRelation(string className, params string[] ids) =>
        Op("AddRelation", ids.Select(id => (JsonNode?)PointerTo(className, id)).ToArray());
}
