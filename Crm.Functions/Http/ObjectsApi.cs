using System.Text.Json.Nodes;
using Crm.Functions.Core;

namespace Crm.Functions.Http;

/// <summary>/classes/{className}[/{objectId}] and its aliases (/users, /roles, /sessions, /installations).</summary>
internal static class ObjectsApi
{
    public static readonly Dictionary<string, string> Aliases = new(StringComparer.Ordinal)
    {
        ["users"] = "_User", ["roles"] = "_Role", ["sessions"] = "_Session", ["installations"] = "_Installation",
    };

    public static void Map(ParseRouter router, DataService data)
    {
        router.Add("classes", "GET", "/classes/{className}", (call, ct) => Find(data, call, call.RouteValue("className"), ct));
        router.Add("classes", "POST", "/classes/{className}", (call, ct) => Create(data, call, call.RouteValue("className"), ct));
        router.Add("classes", "GET", "/classes/{className}/{objectId}", (call, ct) => Get(data, call, call.RouteValue("className"), ct));
        router.Add("classes", "PUT", "/classes/{className}/{objectId}", (call, ct) => Update(data, call, call.RouteValue("className"), ct));
        router.Add("classes", "DELETE", "/classes/{className}/{objectId}", (call, ct) => Delete(data, call, call.RouteValue("className"), ct));
    }

    /// <summary>Alias routes; the users/sessions families register their special routes before these.</summary>
    public static void MapAliases(ParseRouter router, DataService data)
    {
        foreach (var (alias, className) in Aliases)
        {
            router.Add(alias, "GET", $"/{alias}", (call, ct) => Find(data, call, className, ct));
            if (alias is not ("users" or "sessions"))
                router.Add(alias, "POST", $"/{alias}", (call, ct) => Create(data, call, className, ct));
            router.Add(alias, "GET", $"/{alias}/{{objectId}}", (call, ct) => Get(data, call, className, ct));
            router.Add(alias, "PUT", $"/{alias}/{{objectId}}", (call, ct) => Update(data, call, className, ct));
            router.Add(alias, "DELETE", $"/{alias}/{{objectId}}", (call, ct) => Delete(data, call, className, ct));
        }
    }

    public static async Task<ApiResult> Find(DataService data, ParseCall call, string className, CancellationToken ct)
    {
        var result = await data.FindAsync(call.Auth, className, QueryParameters.ForFind(call.Body), ct);
        JsonNode results;
        if (result.Results is FoundObjects found)
        {
            // Unshaped results are written from the stored text as the answer goes out (no trees per object).
            var serverUrl = call.ServerUrl;
            results = RawJson.Of(writer => found.WriteTo(writer, serverUrl, result.ClassName));
        }
        else
        {
            var array = new JsonArray();
            foreach (var item in result.Results)
            {
                if (result.ClassName is not null) item["className"] = result.ClassName;
                array.Add(item);
            }
            results = array;
        }
        var body = new JsonObject { ["results"] = results };
        if (result.Count is { } count) body["count"] = count;
        return ApiResult.Ok(body);
    }

    public static async Task<ApiResult> Get(DataService data, ParseCall call, string className, CancellationToken ct)
    {
        var result = await data.GetOneAsync(call.Auth, className, call.RouteValue("objectId"), QueryParameters.ForGet(call.Body), ct);
        if (result is not FoundObjects found) return ApiResult.Ok(result[0]);
        // Unshaped, as a find's page: written from the stored text as the answer goes out, no tree in between.
        var serverUrl = call.ServerUrl;
        return ApiResult.Ok(RawJson.Of(writer => found.WriteOneTo(writer, 0, serverUrl)));
    }

    public static async Task<ApiResult> Create(DataService data, ParseCall call, string className, CancellationToken ct)
    {
        var result = await data.CreateAsync(call.Auth, className, call.Body, ct);
        var location = className == "_User"
            ? $"{call.ServerUrl}/users/{result.Object.ObjectId}"
            : $"{call.ServerUrl}/classes/{className}/{result.Object.ObjectId}";
        return ApiResult.Created(result.Response, location);
    }

    public static async Task<ApiResult> Update(DataService data, ParseCall call, string className, CancellationToken ct) =>
        ApiResult.Ok((await data.UpdateAsync(call.Auth, className, call.RouteValue("objectId"), call.Body, ct)).Response);

    public static async Task<ApiResult> Delete(DataService data, ParseCall call, string className, CancellationToken ct)
    {
        await data.DeleteAsync(call.Auth, className, call.RouteValue("objectId"), ct);
        return ApiResult.Empty();
    }
}
