using System.Text.Json;
using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using Crm.Functions.Core;
using Crm.Functions.Core.Schema;
using Crm.Functions.Core.Triggers;
using Crm.Functions.Hosting;
using Crm.Functions.Storage;
using Crm.Functions.Storage.Sqlite;
using Microsoft.Extensions.Options;

namespace Crm.Functions.Benchmarks;

/// <summary>
/// A page of the pipeline answer (50 deals): the stored rows' JSON text parsed as the store does, each
/// object encoded for the caller (DataService.Encode), and the whole answer written as UTF-8 JSON.
/// </summary>
[MemoryDiagnoser]
public class EncodeBenchmarks : IDisposable
{
    private const int Page = 50;
    private readonly SchemaService _schemas;
    private readonly DataService _data;
    private readonly List<StoredObject> _page = [.. Enumerable.Range(0, Page).Select(Fixtures.StoredDeal)];
    private readonly List<(string Acl, string Data)> _rows;
    private readonly HashSet<string> _noProtected = [];

    public EncodeBenchmarks()
    {
        // The store is never opened: Encode does not touch it.
        var store = new SqliteObjectStore(Path.Combine(Path.GetTempPath(), "crm-benchmarks-unused", "crm.db"));
        _schemas = new SchemaService(store);
        _data = new DataService(store, _schemas, new TriggerRegistry(), Options.Create(new ParseSettings()), TimeProvider.System);
        _rows = [.. _page.Select(o => (o.Acl!.ToJsonString(SqliteJson.Options), o.Data.ToJsonString(SqliteJson.Options)))];
    }

    [Benchmark]
    public int ParseStoredRows()
    {
        var total = 0;
        foreach (var (acl, data) in _rows)
            total += ((JsonObject)JsonNode.Parse(acl)!).Count + ((JsonObject)JsonNode.Parse(data)!).Count;
        return total;
    }

    [Benchmark]
    public int EncodePage()
    {
        var total = 0;
        foreach (var obj in _page) total += _data.Encode(Fixtures.User, Fixtures.Deal, obj, _noProtected).Count;
        return total;
    }

    [Benchmark]
    public long EncodeAndWritePage()
    {
        var results = new JsonArray();
        foreach (var obj in _page) results.Add(_data.Encode(Fixtures.User, Fixtures.Deal, obj, _noProtected));
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
