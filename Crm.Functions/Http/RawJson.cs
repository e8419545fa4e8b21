using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Crm.Functions.Http;

/// <summary>
/// A JSON node whose content a callback writes when the answer is written. Large results go from the store to
/// the socket without trees, yet still sit inside the JsonNode bodies that every route and /batch compose.
/// </summary>
internal sealed class RawJson
{
    private static readonly JsonTypeInfo<RawJson> TypeInfo =
        JsonMetadataServices.CreateValueInfo<RawJson>(new JsonSerializerOptions { TypeInfoResolver = JsonTypeInfoResolver.Combine() }, new Converter());

    private readonly Action<Utf8JsonWriter> _write;

    private RawJson(Action<Utf8JsonWriter> write) => _write = write;

    public static JsonNode Of(Action<Utf8JsonWriter> write) => JsonValue.Create(new RawJson(write), TypeInfo)!;

    private sealed class Converter : JsonConverter<RawJson>
    {
        public override RawJson Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            throw new NotSupportedException("RawJson is written only.");

        public override void Write(Utf8JsonWriter writer, RawJson value, JsonSerializerOptions options) => value._write(writer);
    }
}
