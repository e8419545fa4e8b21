using System.Text.Json.Nodes;
using Crm.Functions.Core;
using Crm.Functions.Core.Triggers;

namespace Crm.Functions.Http;

/// <summary>/health (readiness), /health/live (liveness), /serverInfo and Cloud-Code-style functions.</summary>
internal static class ServerApi
{
    public const string Version = "1.0.0";

    /// <summary>
    /// The Parse Server release whose REST protocol this server follows, answered as <c>parseServerVersion</c>:
    /// clients gate features on it (Parse Dashboard warns below 7.0.0 and hides master-key-only Config parameters
    /// below 3.9.0), so it names the protocol level, not this app's own version (<see cref="Version"/>).
    /// </summary>
    public const string ParseProtocolVersion = "9.10.0";

    /// <summary>
    /// The liveness path: 200 whenever the process serves, also while it is still starting, when <c>/health</c>
    /// (readiness) answers 503. A probe that restarts the app should watch this one, a load balancer the other.
    /// </summary>
    public const string LivenessPath = "/health/live";

    private static readonly DateTimeOffset Started = DateTimeOffset.UtcNow;

    private static JsonObject ProcessMetrics()
    {
        var gc = GC.GetGCMemoryInfo();
        return new JsonObject
        {
            ["rssBytes"] = Environment.WorkingSet,
            ["gcHeapBytes"] = GC.GetTotalMemory(forceFullCollection: false),
            ["gcCommittedBytes"] = gc.TotalCommittedBytes,
            ["gcCollections"] = GC.CollectionCount(0) + GC.CollectionCount(1) + GC.CollectionCount(2),
            ["threadPoolThreads"] = ThreadPool.ThreadCount,
            ["uptimeSeconds"] = (long)(DateTimeOffset.UtcNow - Started).TotalSeconds,
        };
    }

    public static void Map(ParseRouter router, TriggerRegistry triggers, Core.Webhooks.WebhookRegistry? webhooks = null, Core.Webhooks.WebhookSender? sender = null)
    {
        router.Add("health", "GET,POST", "/health", (_, _) => Task.FromResult(ApiResult.Ok(new JsonObject { ["status"] = "ok" })));
        router.Add("liveness", "GET", LivenessPath, (_, _) => Task.FromResult(ApiResult.Ok(new JsonObject { ["status"] = "alive" })));
        router.Add("serverInfo", "GET", "/serverInfo", (_, _) => Task.FromResult(ApiResult.Ok(new JsonObject
        {
            ["parseServerVersion"] = ParseProtocolVersion,
            // Feature flags tell Parse Dashboard which screens work; only what is implemented is claimed.
            ["features"] = new JsonObject
            {
                ["globalConfig"] = new JsonObject { ["create"] = true, ["read"] = true, ["update"] = true, ["delete"] = true },
                // Parse's /hooks (Http/HooksApi.cs): Parse Dashboard shows its Webhooks page only when all four are claimed.
                ["hooks"] = new JsonObject { ["create"] = true, ["read"] = true, ["update"] = true, ["delete"] = true },
                ["cloudCode"] = new JsonObject { ["jobs"] = false },
                ["logs"] = new JsonObject { ["level"] = false, ["size"] = false, ["order"] = false, ["until"] = false, ["from"] = false },
                ["push"] = new JsonObject { ["immediatePush"] = false, ["scheduledPush"] = false, ["storedPushData"] = false, ["pushAudiences"] = false, ["localization"] = false },
                ["schemas"] = new JsonObject
                {
                    ["addField"] = true, ["removeField"] = true, ["addClass"] = true, ["removeClass"] = true,
                    ["clearAllDataFromClass"] = true, ["exportClass"] = false, ["editClassLevelPermissions"] = true, ["editPointerPermissions"] = true,
                },
                ["settings"] = new JsonObject { ["securityCheck"] = false },
            },
            // Not part of Parse's answer: the process's memory, for soak runs and operators (master key only).
            ["process"] = ProcessMetrics(),
        })), masterOnly: true);

        router.Add("functions", "GET,POST", "/functions/{name}", async (call, ct) =>
        {
            var name = call.RouteValue("name");
            var function = triggers.Function(name)
                // A function registered through /hooks runs at its URL.
                ?? (webhooks?.Function(name) is { } hook && sender is not null ? (CloudFunction)((c, t) => sender.CallFunctionAsync(hook, c, t)) : null)
                ?? throw new ParseException(ParseError.ScriptFailed, $"Invalid function: \"{Core.Json.Names.Truncate(name)}\"");
            var result = await function(new FunctionCall(call.Auth, call.Body), ct);
            return ApiResult.Ok(new JsonObject { ["result"] = result });
        });
    }
}
