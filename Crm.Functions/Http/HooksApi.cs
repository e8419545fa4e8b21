using System.Text.Json.Nodes;
using Crm.Functions.Core;
using Crm.Functions.Core.Json;
using Crm.Functions.Core.Query;
using Crm.Functions.Core.Schema;
using Crm.Functions.Core.Store;
using Crm.Functions.Core.Webhooks;

namespace Crm.Functions.Http;

/// <summary>
/// Parse's <c>/hooks</c> (master key only): cloud functions and afterSave/afterDelete triggers implemented by URLs, with
/// Parse's answers and 143 errors; plus <c>/hooks/deliveries</c>, the outbox as the master key may inspect it
/// (docs/webhooks.md).
/// </summary>
internal static class HooksApi
{
    private static readonly FieldDefinition Text = new(FieldType.String);

    public static void Map(ParseRouter router, WebhookRegistry registry, IObjectStore store)
    {
        router.Add("hooks", "GET", "/hooks/functions", (_, _) =>
            Task.FromResult(ApiResult.Ok(new JsonArray([.. registry.All.Where(h => h.IsFunction).Select(h => (JsonNode)h.ToJson())]))), masterOnly: true);
        router.Add("hooks", "GET", "/hooks/functions/{functionName}", (call, _) =>
            Task.FromResult(ApiResult.Ok(Function(registry, call).ToJson())), masterOnly: true);
        router.Add("hooks", "POST", "/hooks/functions", async (call, ct) => Created(await registry.CreateAsync(call.Body, ct)), masterOnly: true);
        router.Add("hooks", "PUT", "/hooks/functions/{functionName}", async (call, ct) =>
        {
            var hook = Function(registry, call);
            if (IsDelete(call.Body)) return await DeleteAsync(registry, hook, ct);
            var (_, _, _, url) = registry.Declaration(new JsonObject { ["functionName"] = hook.FunctionName, ["url"] = call.Body["url"]?.DeepClone() });
            return ApiResult.Ok((await registry.UpdateAsync(hook, url, ct) ?? throw NoFunction(hook.FunctionName!)).ToJson());
        }, masterOnly: true);
        router.Add("hooks", "DELETE", "/hooks/functions/{functionName}", async (call, ct) => await DeleteAsync(registry, Function(registry, call), ct), masterOnly: true);

        router.Add("hookTriggers", "GET", "/hooks/triggers", (_, _) =>
            Task.FromResult(ApiResult.Ok(new JsonArray([.. registry.All.Where(h => !h.IsFunction).Select(h => (JsonNode)h.ToJson())]))), masterOnly: true);
        router.Add("hookTriggers", "GET", "/hooks/triggers/{className}", (call, _) =>
            Task.FromResult(ApiResult.Ok(new JsonArray([.. registry.All.Where(h => !h.IsFunction && h.ClassName == call.RouteValue("className")).Select(h => (JsonNode)h.ToJson())]))),
            masterOnly: true);
        router.Add("hookTriggers", "GET", "/hooks/triggers/{className}/{triggerName}", (call, _) =>
            Task.FromResult(ApiResult.Ok(Trigger(registry, call).ToJson())), masterOnly: true);
        router.Add("hookTriggers", "POST", "/hooks/triggers", async (call, ct) => Created(await registry.CreateAsync(call.Body, ct)), masterOnly: true);
        router.Add("hookTriggers", "PUT", "/hooks/triggers/{className}/{triggerName}", async (call, ct) =>
        {
            var hook = Trigger(registry, call);
            if (IsDelete(call.Body)) return await DeleteAsync(registry, hook, ct);
            var (_, _, _, url) = registry.Declaration(new JsonObject
            {
                ["className"] = hook.ClassName, ["triggerName"] = hook.TriggerName, ["url"] = call.Body["url"]?.DeepClone(),
            });
            return ApiResult.Ok((await registry.UpdateAsync(hook, url, ct) ?? throw NoClass(hook.ClassName!)).ToJson());
        }, masterOnly: true);
        router.Add("hookTriggers", "DELETE", "/hooks/triggers/{className}/{triggerName}", async (call, ct) => await DeleteAsync(registry, Trigger(registry, call), ct), masterOnly: true);

        router.Add("hookDeliveries", "GET", "/hooks/deliveries", async (call, ct) =>
        {
            var status = call.Body["status"] is JsonValue s && s.TryGetValue(out string? text) ? text : null;
            if (status is not (null or WebhookJournal.Pending or WebhookJournal.Delivered or WebhookJournal.Dead or JournaledWrites.Held))
                throw new ParseException(ParseError.InvalidQuery, "status must be pending, held, delivered or dead.");
            var limit = call.Body["limit"] is JsonNode l && int.TryParse(l.ToString(), out var n) ? Math.Clamp(n, 1, 1000) : 100;
            var where = status is null ? QueryNode.True : new CompareNode(FieldRef.Of("status", Text), CompareOp.Eq, new StringValue(status));
            var found = await store.FindAsync(new StoreQuery(WebhookJournal.ClassName, where,
                [new SortKey(FieldRef.Of("changedAt", Text), true)], 0, limit), ct);
            return ApiResult.Ok(new JsonObject { ["results"] = new JsonArray([.. found.Select(d => (JsonNode)Delivery(d, registry))]) });
        }, masterOnly: true);
        router.Add("hookDeliveries", "GET", "/hooks/deliveries/{deliveryId}", async (call, ct) =>
        {
            var found = await store.FindAsync(new StoreQuery(WebhookJournal.ClassName,
                new CompareNode(FieldRef.Of("objectId"), CompareOp.Eq, new StringValue(call.RouteValue("deliveryId"))), [], 0, 1), ct);
            return ApiResult.Ok(Delivery(found.Count == 1 ? found[0] : throw ParseException.NotFound(), registry));
        }, masterOnly: true);
        router.Add("hookDeliveries", "POST", "/hooks/deliveries/{deliveryId}/{action}", async (call, ct) =>
        {
            if (call.RouteValue("action") != "retry") throw new ParseException(ParseError.InvalidJson, "The only action on a delivery is retry.");
            // A dead delivery goes again from its first attempt (after the receiver was fixed).
            var retried = await store.UpdateAsync(WebhookJournal.ClassName, call.RouteValue("deliveryId"),
                new CompareNode(FieldRef.Of("status", Text), CompareOp.Eq, new StringValue(WebhookJournal.Dead)), current =>
                {
                    current.Data["status"] = WebhookJournal.Pending;
                    current.Data["attempts"] = 0;
                    current.Data["nextAt"] = ParseDates.Format(DateTimeOffset.UtcNow);
                    return ValueTask.FromResult<ObjectWrite?>(new ObjectWrite(current, []));
                }, ct) ?? throw ParseException.NotFound();
            return ApiResult.Ok(Delivery(retried, registry));
        }, masterOnly: true);
    }

    private static ApiResult Created((Webhook Hook, string Secret) created)
    {
        var body = created.Hook.ToJson();
        // The only time the secret leaves the server: receivers verify signatures with it (docs/webhooks.md).
        body["secret"] = created.Secret;
        return ApiResult.Ok(body);
    }

    private static async Task<ApiResult> DeleteAsync(WebhookRegistry registry, Webhook hook, CancellationToken ct)
    {
        await registry.DeleteAsync(hook, ct);
        return ApiResult.Empty();
    }

    private static bool IsDelete(JsonObject body) => body["__op"] is JsonValue op && op.TryGetValue(out string? s) && s == "Delete";

    private static Webhook Function(WebhookRegistry registry, ParseCall call)
    {
        var name = call.RouteValue("functionName");
        return registry.Function(name) ?? throw NoFunction(name);
    }

    private static Webhook Trigger(WebhookRegistry registry, ParseCall call)
    {
        var className = call.RouteValue("className");
        return registry.Trigger(className, call.RouteValue("triggerName")) ?? throw NoClass(className);
    }

    private static ParseException NoFunction(string name) => new(ParseError.HookError, $"no function named: {Names.Truncate(name)} is defined");

    private static ParseException NoClass(string className) => new(ParseError.HookError, $"class {Names.Truncate(className)} does not exist");

    private static JsonObject Delivery(StoredObject d, WebhookRegistry registry)
    {
        var hook = registry.Find(d.Data["hook"]?.ToString() ?? "");
        JsonNode? payload = null;
        try { payload = JsonNode.Parse(d.Data["payload"]?.GetValue<string>() ?? "null"); }
        catch (System.Text.Json.JsonException) { }
        return new JsonObject
        {
            ["deliveryId"] = d.ObjectId,
            ["status"] = d.Data["status"]?.DeepClone(),
            ["url"] = hook?.Url,
            ["className"] = d.Data["targetClass"]?.DeepClone(),
            ["objectId"] = d.Data["targetId"]?.DeepClone(),
            ["event"] = d.Data["kind"]?.DeepClone(),
            ["sequence"] = d.Data["seq"]?.DeepClone(),
            ["attempts"] = d.Data["attempts"]?.DeepClone(),
            ["nextAt"] = d.Data["nextAt"]?.DeepClone(),
            ["lastError"] = d.Data["lastError"]?.DeepClone(),
            ["deliveredAt"] = d.Data["deliveredAt"]?.DeepClone(),
            ["createdAt"] = d.CreatedAt,
            ["payload"] = payload,
        };
    }
}
