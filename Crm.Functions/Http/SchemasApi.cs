using System.Text.Json.Nodes;
using Crm.Functions.Core;
using Crm.Functions.Core.Query;
using Crm.Functions.Core.Schema;

namespace Crm.Functions.Http;

/// <summary>/schemas and /purge: the live schema, master key only.</summary>
internal static class SchemasApi
{
    public static void Map(ParseRouter router, SchemaService schemas, DataService data)
    {
        router.Add("schemas", "GET", "/schemas", (_, _) =>
            Task.FromResult(ApiResult.Ok(new JsonObject { ["results"] = new JsonArray([.. schemas.All.Where(c => !Core.Json.Names.MasterOnlyClasses.Contains(c.ClassName)).Select(SchemaJson.ToParseJson)]) })), masterOnly: true);
        router.Add("schemas", "GET", "/schemas/{className}", (call, _) =>
        {
            var className = call.RouteValue("className");
            var schema = (Core.Json.Names.MasterOnlyClasses.Contains(className) ? null : schemas.Get(className)) ?? throw Missing(className);
            return Task.FromResult(ApiResult.Ok(SchemaJson.ToParseJson(schema)));
        }, masterOnly: true);
        router.Add("schemas", "POST", "/schemas", (call, ct) => Create(schemas, call, null, ct), masterOnly: true);
        router.Add("schemas", "POST", "/schemas/{className}", (call, ct) => Create(schemas, call, call.RouteValue("className"), ct), masterOnly: true);
        router.Add("schemas", "PUT", "/schemas/{className}", async (call, ct) =>
        {
            var className = call.RouteValue("className");
            CheckNameMatch(call.Body, className);
            var schema = await schemas.UpdateClassAsync(className, Object(call.Body, "fields"), Object(call.Body, "classLevelPermissions"), Object(call.Body, "indexes"), ct);
            return ApiResult.Ok(SchemaJson.ToParseJson(schema));
        }, masterOnly: true);
        router.Add("schemas", "DELETE", "/schemas/{className}", async (call, ct) =>
        {
            var className = call.RouteValue("className");
            Core.Json.Names.EnsureValidClass(className);
            await schemas.DeleteClassAsync(className, () => data.Store.CountAsync(className, QueryNode.True, ct), ct);
            return ApiResult.Empty();
        }, masterOnly: true);
        router.Add("purge", "DELETE", "/purge/{className}", async (call, ct) =>
        {
            var className = call.RouteValue("className");
            Core.Json.Names.EnsureValidClass(className);
            await data.Store.PurgeAsync(className, ct);
            return ApiResult.Empty();
        }, masterOnly: true);
    }

    private static async Task<ApiResult> Create(SchemaService schemas, ParseCall call, string? routeName, CancellationToken ct)
    {
        var bodyName = call.Body["className"] is JsonValue v && v.TryGetValue(out string? n) ? n : null;
        if (routeName is not null && bodyName is not null && routeName != bodyName)
            throw new ParseException(ParseError.InvalidClassName, $"Class name mismatch between {bodyName} and {routeName}.");
        var className = routeName ?? bodyName ?? throw new ParseException(ParseError.MissingRequiredField, "POST /schemas needs a class name.");
        var schema = await schemas.CreateClassAsync(className, Object(call.Body, "fields"), Object(call.Body, "classLevelPermissions"), Object(call.Body, "indexes"), ct);
        return ApiResult.Ok(SchemaJson.ToParseJson(schema));
    }

    private static void CheckNameMatch(JsonObject body, string className)
    {
        if (body["className"] is JsonValue v && v.TryGetValue(out string? name) && name != className)
            throw new ParseException(ParseError.InvalidClassName, $"Class name mismatch between {name} and {className}.");
    }

    private static JsonObject? Object(JsonObject body, string key) => body[key] switch
    {
        null => null,
        JsonObject o => o,
        _ => throw new ParseException(ParseError.InvalidJson, $"{key} must be an object"),
    };

    private static ParseException Missing(string className) => new(ParseError.InvalidClassName, $"Class {className} does not exist.");
}
