using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Crm.Functions.Core.Schema;
using Crm.Functions.Core.Security;
using Crm.Functions.Hosting;
using Crm.Functions.Storage;

namespace Crm.Functions.Core;

/// <summary>How an object is framed in its answer.</summary>
/// <param name="ServerUrl">Base of file urls when no public server URL is configured; without it they stay relative ("/files/…").</param>
/// <param name="AsIncluded">Adds <c>"__type": "Object"</c> and the class name, as included pointers and GraphQL nodes carry.</param>
/// <param name="ClassName">Adds this <c>className</c> (a relation query redirected to its target class).</param>
internal readonly record struct EncodeOptions(string? ServerUrl = null, bool AsIncluded = false, string? ClassName = null);

/// <summary>
/// The one place that decides what of a stored object leaves the server, for every API: internal '_' keys and
/// passwords never, <c>authData</c> only to the user itself or the master key, protected fields hidden (with
/// userField scopes), relation markers added, file urls filled in. It writes JSON: straight from the stored text
/// when the store kept it (so a page of 50 objects is copied, not parsed into trees and written again), or from
/// the tree. <see cref="Encode"/> parses its output for callers that need a tree.
/// </summary>
internal sealed class ObjectEncoder(ParseSettings settings)
{
    private static readonly JsonWriterOptions WriterOptions = new() { SkipValidation = true };

    public JsonObject Encode(Auth auth, ClassSchema schema, StoredObject obj, HashSet<string> protectedFields, EncodeOptions options = default)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions)) Write(writer, auth, schema, obj, protectedFields, options);
        return (JsonObject)JsonNode.Parse(buffer.WrittenSpan)!;
    }

    public void Write(Utf8JsonWriter writer, Auth auth, ClassSchema schema, StoredObject obj, HashSet<string> protectedFields, EncodeOptions options = default)
    {
        var hidden = AccessPolicy.HiddenFields(auth, schema, obj.ObjectId, name => obj.Data[name], protectedFields);
        var isUser = schema.ClassName == "_User";
        var self = isUser && auth.UserId == obj.ObjectId;
        bool Shown(string key) => !hidden.Contains(key);

        writer.WriteStartObject();
        if (options.AsIncluded)
        {
            writer.WriteString("__type"u8, "Object"u8);
            writer.WriteString("className"u8, schema.ClassName);
        }
        else if (options.ClassName is { } className) writer.WriteString("className"u8, className);
        if (Shown("objectId")) writer.WriteString("objectId"u8, obj.ObjectId);
        if (Shown("createdAt")) writer.WriteString("createdAt"u8, obj.CreatedAt);
        if (Shown("updatedAt")) writer.WriteString("updatedAt"u8, obj.UpdatedAt);

        bool ShownField(string key) =>
            !key.StartsWith('_') && Shown(key) && key is not ("objectId" or "createdAt" or "updatedAt" or "ACL")
            && schema.Field(key)?.Type != FieldType.Relation
            && !(isUser && (key is "password" or "sessionToken" || (key == "authData" && !self && !auth.IsMaster)));
        // Only File, Array and Object values (and values of fields the schema does not know) can hold files whose
        // url must be filled in; anything else is copied as stored.
        bool MayHoldFiles(string key) => schema.Field(key)?.Type is null or FieldType.File or FieldType.Array or FieldType.Object;

        if (obj.HasStoredDataText)
        {
            var reader = new Utf8JsonReader(obj.StoredDataText);
            reader.Read();
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var key = reader.GetString()!;
                reader.Read();
                var start = (int)reader.TokenStartIndex;
                reader.Skip();
                if (!ShownField(key)) continue;
                var value = obj.StoredDataText[start..(int)reader.BytesConsumed];
                writer.WritePropertyName(key);
                if (MayHoldFiles(key) && value.IndexOf("\"File\""u8) >= 0) WithFileUrls(JsonNode.Parse(value), options.ServerUrl)!.WriteTo(writer);
                else writer.WriteRawValue(value, skipInputValidation: true);
            }
        }
        else
        {
            foreach (var (key, value) in obj.Data)
            {
                if (!ShownField(key)) continue;
                writer.WritePropertyName(key);
                if (value is null) writer.WriteNullValue();
                else if (MayHoldFiles(key)) WithFileUrls(value, options.ServerUrl)!.WriteTo(writer);
                else value.WriteTo(writer);
            }
        }

        foreach (var (name, field) in schema.RelationFields)
        {
            if (!Shown(name)) continue;
            writer.WriteStartObject(name);
            writer.WriteString("__type"u8, "Relation"u8);
            writer.WriteString("className"u8, field.TargetClass);
            writer.WriteEndObject();
        }
        if (obj.HasAcl && Shown("ACL"))
        {
            writer.WritePropertyName("ACL"u8);
            if (obj.HasStoredAclText) writer.WriteRawValue(obj.StoredAclText, skipInputValidation: true);
            else obj.Acl!.WriteTo(writer);
        }
        if (self && auth.SessionToken is not null) writer.WriteString("sessionToken"u8, auth.SessionToken);
        writer.WriteEndObject();
    }

    /// <summary>
    /// A copy of a stored value with every File (also inside arrays and objects, as parse-server expands them)
    /// given its url: under the configured public URL, else under <paramref name="serverUrl"/>, else relative
    /// ("/files/…") for the HTTP layer, which knows the request's server URL, to complete.
    /// </summary>
    private JsonNode? WithFileUrls(JsonNode? value, string? serverUrl)
    {
        switch (value)
        {
            case JsonObject file when file["__type"]?.ToString() == "File":
                var name = file["name"]?.ToString() ?? "";
                var baseUrl = (settings.PublicServerUrl ?? serverUrl ?? "").TrimEnd('/');
                return new JsonObject { ["__type"] = "File", ["name"] = name, ["url"] = $"{baseUrl}/files/{settings.AppId}/{Uri.EscapeDataString(name)}" };
            case JsonObject o when o["__type"] is null:
                var copy = new JsonObject();
                foreach (var (k, v) in o) copy[k] = WithFileUrls(v, serverUrl);
                return copy;
            case JsonArray a:
                return new JsonArray([.. a.Select(v => WithFileUrls(v, serverUrl))]);
            default:
                return value?.DeepClone();
        }
    }
}
