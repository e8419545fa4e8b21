using System.Buffers;
using System.Collections.Frozen;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Crm.Functions.Core.Schema;
using Crm.Functions.Core.Security;
using Crm.Functions.Core.Store;

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
internal sealed class ObjectEncoder(ParseSettings settings, Files.FileUrls? fileUrls = null)
{
    private readonly Files.FileUrls _fileUrls = fileUrls ?? new Files.FileUrls(settings, TimeProvider.System);

    private static readonly JsonWriterOptions WriterOptions = new() { SkipValidation = true };

    public JsonObject Encode(Auth auth, ClassSchema schema, StoredObject obj, HashSet<string> protectedFields, EncodeOptions options = default)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions)) Write(writer, auth, schema, obj, protectedFields, options);
        return (JsonObject)JsonNode.Parse(buffer.WrittenSpan)!;
    }

    public void Write(Utf8JsonWriter writer, Auth auth, ClassSchema schema, StoredObject obj, HashSet<string> protectedFields, EncodeOptions options = default)
    {
        var shape = Shapes.GetValue(schema, static s => new Shape(s));
        var hidden = AccessPolicy.HiddenFields(auth, schema, obj.ObjectId, name => obj.Data[name], protectedFields);
        var isUser = schema.ClassName == "_User";
        var self = isUser && auth.UserId == obj.ObjectId;
        bool Shown(ReadOnlySpan<char> key) => hidden.Count == 0 || !hidden.Contains(key.ToString());

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

        bool ShownField(ReadOnlySpan<char> key, string? type) =>
            !key.StartsWith('_') && Shown(key) && key is not ("objectId" or "createdAt" or "updatedAt" or "ACL") && type != FieldType.Relation
            && !(isUser && (key is "password" or "sessionToken" || (key is "authData" && !self && !auth.IsMaster)));
        // Only File, Array and Object values (and values of fields the schema does not know) can hold files whose
        // url must be filled in; anything else is copied as stored.
        static bool MayHoldFiles(string? type) => type is null or FieldType.File or FieldType.Array or FieldType.Object;

        if (obj.HasStoredDataText)
        {
            var text = obj.StoredDataText;
            var reader = new Utf8JsonReader(text);
            Span<char> chars = stackalloc char[256];
            reader.Read();
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                // Names are looked up as characters on the stack: a string per field and row was most of the garbage.
                var escaped = reader.ValueIsEscaped || reader.ValueSpan.Length > chars.Length;
                var nameStart = (int)reader.TokenStartIndex + 1;
                var name = escaped ? reader.GetString()! : null;
                scoped ReadOnlySpan<char> key = name;
                if (name is null) key = chars[..System.Text.Encoding.UTF8.GetChars(reader.ValueSpan, chars)];
                var nameLength = reader.ValueSpan.Length;
                shape.TypesByName.TryGetValue(key, out var type);
                reader.Read();
                var start = (int)reader.TokenStartIndex;
                reader.Skip();
                if (!ShownField(key, type)) continue;
                var value = text[start..(int)reader.BytesConsumed];
                if (name is null) writer.WritePropertyName(text.Slice(nameStart, nameLength));
                else writer.WritePropertyName(name);
                if (MayHoldFiles(type) && value.IndexOf("\"File\""u8) >= 0) WithFileUrls(JsonNode.Parse(value), options.ServerUrl)!.WriteTo(writer);
                else writer.WriteRawValue(value, skipInputValidation: true);
            }
        }
        else
        {
            foreach (var (key, value) in obj.Data)
            {
                var type = shape.Types.GetValueOrDefault(key);
                if (!ShownField(key, type)) continue;
                writer.WritePropertyName(key);
                if (value is null) writer.WriteNullValue();
                else if (MayHoldFiles(type)) WithFileUrls(value, options.ServerUrl)!.WriteTo(writer);
                else value.WriteTo(writer);
            }
        }

        foreach (var (name, target) in shape.Relations)
        {
            if (!Shown(name)) continue;
            writer.WriteStartObject(name);
            writer.WriteString("__type"u8, "Relation"u8);
            writer.WriteString("className"u8, target);
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

    /// <summary>What the encoder needs of a class, computed once per schema snapshot (a changed class is a new snapshot).</summary>
    private sealed class Shape
    {
        public Shape(ClassSchema schema)
        {
            Types = schema.Fields.ToFrozenDictionary(f => f.Key, f => f.Value.Type, StringComparer.Ordinal);
            TypesByName = Types.GetAlternateLookup<ReadOnlySpan<char>>();
            Relations = [.. schema.RelationFields.Select(f => (f.Key, f.Value.TargetClass))];
        }

        public FrozenDictionary<string, string> Types { get; }
        public FrozenDictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> TypesByName { get; }
        public (string Name, string? Target)[] Relations { get; }
    }

    private static readonly ConditionalWeakTable<ClassSchema, Shape> Shapes = [];

    /// <summary>
    /// A copy of a stored value with every File (also inside arrays and objects, as parse-server expands them)
    /// given its url (<see cref="Files.FileUrls"/>: under the configured public URL, else under <paramref name="serverUrl"/>
    /// or the request's server URL, signed when Parse:Files:SignedUrls is on).
    /// </summary>
    public JsonNode? WithFileUrls(JsonNode? value, string? serverUrl)
    {
        switch (value)
        {
            case JsonObject file when file["__type"]?.ToString() == "File":
                var name = file["name"]?.ToString() ?? "";
                return new JsonObject { ["__type"] = "File", ["name"] = name, ["url"] = _fileUrls.For(name, serverUrl) };
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
