using System.Text.Json.Nodes;
using Crm.Functions.Core;
using Crm.Functions.Core.Config;

namespace Crm.Functions.Http;

/// <summary>/config: Parse's global config — any caller reads it (master-key-only parameters left out), the master key writes it.</summary>
internal static class ConfigApi
{
    public static void Map(ParseRouter router, GlobalConfig config)
    {
        router.Add("config", "GET", "/config", async (call, ct) => ApiResult.Ok(await config.ReadAsync(call.Auth, ct)));
        router.Add("config", "PUT", "/config", async (call, ct) =>
        {
            await config.WriteAsync(Map(call.Body, "params"), Map(call.Body, "masterKeyOnly"), ct);
            return ApiResult.Ok(new JsonObject { ["result"] = true });
        }, masterOnly: true);
    }

    private static JsonObject? Map(JsonObject body, string key) => body[key] switch
    {
        null => null,
        JsonObject o => o,
        _ => throw new ParseException(ParseError.InvalidJson, $"{key} must be an object."),
    };
}
