using System.Collections;
using System.Text.Json;
using System.Text.Json.Nodes;
using Crm.Functions.Core.Schema;
using Crm.Functions.Core.Security;
using Crm.Functions.Core.Store;

namespace Crm.Functions.Core;

/// <summary>
/// The objects a find returned, encoded for their reader when they are used: written straight into a response
/// (<see cref="WriteTo"/>, what REST does), or as trees on first access (GraphQL, include, keys, internal callers).
/// The access decision was taken by the query; what each object shows is <see cref="ObjectEncoder"/>'s either way.
/// </summary>
internal sealed class FoundObjects(ObjectEncoder encoder, Auth auth, ClassSchema schema, IReadOnlyList<StoredObject> stored,
    HashSet<string> protectedFields) : IReadOnlyList<JsonObject>
{
    private List<JsonObject>? _trees;

    public int Count => stored.Count;

    public JsonObject this[int index] => Trees[index];

    public IEnumerator<JsonObject> GetEnumerator() => Trees.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private List<JsonObject> Trees => _trees ??= [.. stored.Select(o => encoder.Encode(auth, schema, o, protectedFields))];

    /// <summary>Writes one of the objects (encoded afresh from the stored object), file urls under <paramref name="serverUrl"/>.</summary>
    public void WriteOneTo(Utf8JsonWriter writer, int index, string? serverUrl) =>
        encoder.Write(writer, auth, schema, stored[index], protectedFields, new EncodeOptions(ServerUrl: serverUrl));

    /// <summary>Writes the objects as a JSON array (encoded afresh from the stored objects), file urls under <paramref name="serverUrl"/>.</summary>
    public void WriteTo(Utf8JsonWriter writer, string? serverUrl, string? className)
    {
        var options = new EncodeOptions(ServerUrl: serverUrl, ClassName: className);
        writer.WriteStartArray();
        foreach (var obj in stored) encoder.Write(writer, auth, schema, obj, protectedFields, options);
        writer.WriteEndArray();
    }
}
