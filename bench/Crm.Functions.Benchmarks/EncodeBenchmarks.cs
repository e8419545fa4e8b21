using System.Text.Json;
using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using Crm.Functions.Core;
using Crm.Functions.Core.Schema;
using Crm.Functions.Core.Triggers;
using Crm.Functions.Core.Store;
using Crm.Functions.Storage.Sqlite;
using Microsoft.Extensions.Options;

namespace Crm.Functions.Benchmarks;

/// <summary>
/// A page of the pipeline answer (50 deals), two ways: written straight from the stored rows' JSON text (what
/// REST finds do: <see cref="FoundObjects.WriteTo"/>), and as trees (what GraphQL, include and keys use:
/// DataService.Encode), then written as UTF-8 JSON.
/// </summary>
[MemoryDiagnoser]
public class EncodeBenchmarks : IDisposable
{
    private const int Page = 50;
    private readonly SchemaService _schemas;
    private readonly DataService _data;
    private readonly List<StoredObject> _page = [.. Enumerable.Range(0, Page).Select(Fixtures.StoredDeal)];
    private readonly List<(byte[] Acl, byte[] Data)> _rows;
    private readonly ObjectEncoder _encoder = new(new ParseSettings());
    private readonly HashSet<string> _noProtected = [];

    public EncodeBenchmarks()
    {
        // The store is never opened: Encode does not touch it.
        var store = new SqliteObjectStore(Path.Combine(Path.GetTempPath(), "crm-benchmarks-unused", "crm.db"));
        _schemas = new SchemaService(store);
        _data = new DataService(store, _schemas, new TriggerRegistry(), Options.Create(new ParseSettings()), TimeProvider.System);
        _rows = [.. _page.Select(o => (JsonSerializer.SerializeToUtf8Bytes(o.Acl, SqliteJson.Options), JsonSerializer.SerializeToUtf8Bytes(o.Data, SqliteJson.Options)))];
    }

    private List<StoredObject> ReadRows() =>
        [.. _rows.Select((row, i) => StoredObject.FromText("Deal", _page[i].ObjectId, _page[i].OwnerId, _page[i].CreatedAt, _page[i].UpdatedAt, "1", row.Acl, row.Data))];

    [Benchmark(Baseline = true)]
    public long WritePageFromStoredText()
    {
        var found = new FoundObjects(_encoder, Fixtures.User, Fixtures.Deal, ReadRows(), _noProtected);
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            writer.WritePropertyName("results");
            found.WriteTo(writer, "http://localhost/parse", null);
            writer.WriteEndObject();
        }
        return stream.Length;
    }

    [Benchmark]
    public long EncodePageAsTreesAndWrite()
    {
        var results = new JsonArray();
        foreach (var obj in ReadRows()) results.Add(_data.Encode(Fixtures.User, Fixtures.Deal, obj, _noProtected));
        var body = new JsonObject { ["results"] = results };
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream)) body.WriteTo(writer);
        return stream.Length;
    }

    public void Dispose()
    {
        _schemas.Dispose();
        GC.SuppressFinalize(this);
    }
}
