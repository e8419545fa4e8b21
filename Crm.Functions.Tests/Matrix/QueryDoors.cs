using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.Matrix;

/// <summary>The Parse REST door: GET /classes/{class}/{id} and GET /classes/{class}?where=….</summary>
public sealed class RestDoor(MatrixFixture fixture) : IQueryDoor
{
    public string Name => "rest";
    public bool Serves(Principal p) => true;

    public async Task<JsonObject?> ReadAsync(Principal p, string className, string objectId)
    {
        using var client = fixture.Client(p);
        return Answer(await client.GetAsync($"classes/{className}/{objectId}"));
    }

    public async Task<IReadOnlyList<JsonObject>?> FindAsync(Principal p, string className, JsonObject where)
    {
        using var client = fixture.Client(p);
        return Answer(await client.QueryAsync(className, where, "limit=1000")) is { } found ? Results(found) : [];
    }

    private JsonObject? Answer(ParseResponse r)
    {
        if (r.Status == HttpStatusCode.OK) return r.Json!.AsObject();
        MatrixDoors.EnsureParseRefusal(Name, r.Status, r.Json, r.Raw);
        return null;
    }

    internal static List<JsonObject> Results(JsonObject found) => found["results"]!.AsArray().Select(o => o!.AsObject()).ToList();
}

/// <summary>The same reads as sub-requests of POST /batch (the query string of a sub-request's path is its parameters).</summary>
public sealed class BatchDoor(MatrixFixture fixture) : IQueryDoor
{
    public string Name => "batch";
    public bool Serves(Principal p) => true;

    public Task<JsonObject?> ReadAsync(Principal p, string className, string objectId) => OneAsync(p, $"classes/{className}/{objectId}");

    public async Task<IReadOnlyList<JsonObject>?> FindAsync(Principal p, string className, JsonObject where) =>
        await OneAsync(p, $"classes/{className}?limit=1000&where={Uri.EscapeDataString(where.ToJsonString())}") is { } found ? RestDoor.Results(found) : [];

    private async Task<JsonObject?> OneAsync(Principal p, string path)
    {
        using var client = fixture.Client(p);
        var item = (await client.BatchAsync([("GET", path, null)])).EnsureStatus(HttpStatusCode.OK).Json![0]!;
        if (item["success"] is JsonObject success) return success;
        if (item["error"]?["code"] is JsonValue code && code.TryGetValue(out int _)) return null;
        throw new Xunit.Sdk.XunitException($"{Name}: a sub-request answered neither success nor a Parse error: {item.ToJsonString()}");
    }
}

/// <summary>
/// GraphQL's class queries: <c>matrixAcl(id:)</c> and <c>matrixAcls(where:)</c> (the matrix's class names all
/// pluralize with an "s"). A refusal is an error carrying the Parse code in <c>extensions.code</c>.
/// </summary>
public class GraphQLDoor(CrmServer server) : IQueryDoor
{
    public virtual string Name => "graphql";
    public bool Serves(Principal p) => true;

    /// <summary>Every field the matrix looks at, so a hidden one shows as null and a shown one with its value.</summary>
    protected const string Fields = "objectId code phone notes";

    protected static string Get(string className) => char.ToLowerInvariant(className[0]) + className[1..];

    public virtual async Task<JsonObject?> ReadAsync(Principal p, string className, string objectId) =>
        (await SendAsync(p, $"query($id: ID!) {{ {Get(className)}(id: $id) {{ {Fields} }} }}", new JsonObject { ["id"] = objectId }))?[Get(className)]?.AsObject();

    public virtual async Task<IReadOnlyList<JsonObject>?> FindAsync(Principal p, string className, JsonObject where)
    {
        // Equality on each field, in GraphQL's where syntax: {run: {equalTo: "…"}}.
        var filter = new StringBuilder();
        foreach (var (field, value) in where) filter.Append($"{field}: {{equalTo: {value!.ToJsonString()}}} ");
        var data = await SendAsync(p, $"{{ {Get(className)}s(where: {{{filter}}}, first: 1000) {{ edges {{ node {{ {Fields} }} }} }} }}", null);
        return data?[Get(className) + "s"]!["edges"]!.AsArray().Select(e => e!["node"]!.AsObject()).ToList() ?? [];
    }

    /// <summary>The data of an answer, or null for a Parse error; anything else fails the matrix.</summary>
    protected async Task<JsonNode?> SendAsync(Principal p, string query, JsonObject? variables)
    {
        using var client = new GraphQLClient(server).WithSession(p.Token);
        if (p.Master) client.AsMaster();
        var r = await client.SendAsync(query, variables);
        if (r.Status == HttpStatusCode.OK && r.Errors is not { Count: > 0 } && r.Data is not null) return r.Data;
        if (r.Status == HttpStatusCode.OK && r.Errors is [{ } error] && error["extensions"]?["code"] is JsonValue code && code.TryGetValue(out int _))
            return null;
        throw new Xunit.Sdk.XunitException($"{Name}: expected data or one Parse error, got HTTP {(int)r.Status}: {r.Raw}");
    }
}

/// <summary>Relay's <c>node(id:)</c> with a global id (base64 "Class:objectId"); it has no find.</summary>
public sealed class GraphQLNodeDoor(CrmServer server) : GraphQLDoor(server)
{
    public override string Name => "graphql node";

    public override async Task<JsonObject?> ReadAsync(Principal p, string className, string objectId)
    {
        var id = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{className}:{objectId}"));
        var data = await SendAsync(p, $"query($id: ID!) {{ node(id: $id) {{ ... on {className} {{ {Fields} }} }} }}", new JsonObject { ["id"] = id });
        return data?["node"]?.AsObject();
    }

    public override Task<IReadOnlyList<JsonObject>?> FindAsync(Principal p, string className, JsonObject where) =>
        Task.FromResult<IReadOnlyList<JsonObject>?>(null);
}

/// <summary>
/// An object reached through a pointer: GET /classes/MatrixHolder?where={"ref":id}&amp;include=pointer. An unreadable
/// target stays a bare pointer, which shows none of the object's data.
/// </summary>
public sealed class RestIncludeDoor(MatrixFixture fixture) : IQueryDoor
{
    public string Name => "rest include";
    public bool Serves(Principal p) => true;

    public async Task<JsonObject?> ReadAsync(Principal p, string className, string objectId)
    {
        using var client = fixture.Client(p);
        var field = MatrixFixture.HolderField(className);
        var r = await client.QueryAsync(MatrixFixture.HolderClass, new JsonObject { ["ref"] = objectId }, "include=" + field);
        if (r.Status != HttpStatusCode.OK)
        {
            // A class whose CLP refuses get refuses the whole include: a Parse error, so nothing of the target shows.
            MatrixDoors.EnsureParseRefusal(Name, r.Status, r.Json, r.Raw);
            return null;
        }
        var target = Assert.Single(r.Results)![field];
        return target?["__type"]?.GetValue<string>() == "Object" ? target.AsObject() : null;
    }

    public Task<IReadOnlyList<JsonObject>?> FindAsync(Principal p, string className, JsonObject where) => Task.FromResult<IReadOnlyList<JsonObject>?>(null);
}

/// <summary>An object reached through a pointer field of another GraphQL object (its holder, found by "ref").</summary>
public sealed class GraphQLPointerDoor(CrmServer server) : GraphQLDoor(server)
{
    public override string Name => "graphql pointer";

    public override async Task<JsonObject?> ReadAsync(Principal p, string className, string objectId)
    {
        var field = MatrixFixture.HolderField(className);
        var holders = Get(MatrixFixture.HolderClass) + "s";
        var data = await SendAsync(p, $"query($id: String!) {{ {holders}(where: {{ref: {{equalTo: $id}}}}) {{ edges {{ node {{ {field} {{ {Fields} }} }} }} }} }}",
            new JsonObject { ["id"] = objectId });
        var edges = data?[holders]!["edges"]!.AsArray();
        return edges is null ? null : Assert.Single(edges)!["node"]![field] as JsonObject;
    }

    public override Task<IReadOnlyList<JsonObject>?> FindAsync(Principal p, string className, JsonObject where) =>
        Task.FromResult<IReadOnlyList<JsonObject>?>(null);
}
