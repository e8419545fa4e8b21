using System.Text.Json.Nodes;
using Crm.Functions.Core;
using Crm.Functions.Core.Security;
using Crm.Functions.Http;
using Microsoft.Extensions.Options;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;

namespace Crm.Functions.Mcp;

/// <summary>
/// The Model Context Protocol door: streamable HTTP at <c>/mcp</c> through the official SDK, stateless (every POST
/// carries its own credentials and gets its answer in the same response, so it runs behind the Functions host, which
/// forwards single requests, and on any number of instances). It is an OAuth protected resource (RFC 9728): the
/// caller is a user — an Entra ID access token or a Parse session token as the bearer — resolved by the shared
/// <see cref="RequestAuthenticator"/> inside <see cref="ParseDoor"/>, which also opens the request budget around the
/// SDK's handling. The master key is never accepted here: an agent acts for a person, with that person's rights.
/// </summary>
internal static class McpEndpoint
{
    /// <summary>The caller of the current MCP request, set by the door before the SDK sees the request.</summary>
    private sealed record McpCaller(Auth Auth);

    /// <summary>Marks the SDK's endpoints, so the door's middleware knows which requests are its own.</summary>
    private sealed class McpDoorMetadata;

    public static void AddCrmMcp(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<McpSettings>().Bind(builder.Configuration.GetSection(McpSettings.Section));
        services.AddSingleton<McpTools>();
        services.AddSingleton<McpCatalog>();
        services.AddHttpContextAccessor();
        services.AddMcpServer(options =>
            {
                options.ServerInfo = new Implementation { Name = "crm", Title = "CRM", Version = typeof(McpEndpoint).Assembly.GetName().Version?.ToString() ?? "1.0" };
                options.ServerInstructions =
                    "A CRM (companies, contacts, deals, activities) over Parse. You act with the rights of the signed-in user: you see and "
                    + "change only what they may. Start with describe_schema; use find/get to read, the CRM tools for summaries and follow-ups.";
            })
            .WithHttpTransport(transport => transport.Stateless = true)
            .WithListToolsHandler((request, _) => ValueTask.FromResult(Tools(request.Services).List()))
            .WithCallToolHandler(async (request, ct) =>
                await Tools(request.Services).CallAsync(Caller(request.Services), request.Params!.Name, request.Params.Arguments, ct))
            .WithListResourcesHandler((_, _) => ValueTask.FromResult(McpCatalog.ListResources()))
            .WithReadResourceHandler((request, _) => ValueTask.FromResult(Catalog(request.Services).ReadResource(request.Params!.Uri)))
            .WithListPromptsHandler((_, _) => ValueTask.FromResult(McpCatalog.ListPrompts()))
            .WithGetPromptHandler((request, _) => ValueTask.FromResult(Catalog(request.Services).GetPrompt(request.Params!.Name)));
    }

    private static McpTools Tools(IServiceProvider? services) => Required(services).GetRequiredService<McpTools>();

    private static McpCatalog Catalog(IServiceProvider? services) => Required(services).GetRequiredService<McpCatalog>();

    private static IServiceProvider Required(IServiceProvider? services) =>
        services ?? throw new McpException("The MCP request has no services.");

    /// <summary>The caller the door resolved for this HTTP request (stateless: one JSON-RPC request per HTTP request).</summary>
    private static Auth Caller(IServiceProvider? services) =>
        Required(services).GetRequiredService<IHttpContextAccessor>().HttpContext?.Features.Get<McpCaller>()?.Auth
        ?? throw new McpException("The MCP request has no authenticated caller.");

    public static void MapCrmMcp(this WebApplication app)
    {
        var settings = app.Services.GetRequiredService<IOptions<McpSettings>>().Value;
        if (!settings.Enabled) return;
        app.MapGet(McpSettings.ResourceMetadataPath, ResourceMetadata).WithTags("MCP")
            .WithSummary("MCP protected resource metadata")
            .WithDescription("RFC 9728: the MCP endpoint's resource id and, when Entra ID is configured, its authorization server.");
        app.MapMcp(McpSettings.Path).WithMetadata(new McpDoorMetadata()).WithTags("MCP")
            .WithSummary("Model Context Protocol")
            .WithDescription("Streamable HTTP (stateless) for AI assistants: tools over the live schema and the CRM, as the user whose bearer token (Entra ID or a session token) is sent.");
        // After routing, before the endpoint: the SDK's handlers run inside the door (caller, budget, error mapping).
        app.Use(async (context, next) =>
        {
            if (context.GetEndpoint()?.Metadata.GetMetadata<McpDoorMetadata>() is null)
            {
                await next(context);
                return;
            }
            var door = context.RequestServices.GetRequiredService<ParseDoor>();
            var appId = context.RequestServices.GetRequiredService<IOptions<ParseSettings>>().Value.AppId;
            await door.ServeAsync(context, SessionTokenUse.RequireUser, async (auth, _) =>
            {
                context.Features.Set(new McpCaller(auth));
                try
                {
                    await next(context);
                }
                // The SDK lets a request whose params do not deserialize (initialize with a protocolVersion object, …)
                // escape before it answers: a client's mistake, so a 400 with Parse's code, never a 500.
                catch (System.Text.Json.JsonException e) when (!context.Response.HasStarted)
                {
                    throw new ParseException(ParseError.InvalidJson, $"The MCP request's params do not fit its method (at {e.Path ?? "$"}).");
                }
                return null;
            }, errorShape: refusal => Challenge(context, refusal), envelope: new Credentials(appId, null, null, null, null));
        });
    }

    /// <summary>
    /// No user (no token, an unknown or expired one, the master key): 401 with the challenge MCP clients follow to the
    /// metadata document (RFC 9728 §5.1), keeping Parse's error body. Other refusals (403 app id, budget) stay as they are.
    /// </summary>
    private static ApiResult Challenge(HttpContext context, ApiResult refusal)
    {
        if (refusal.Body["code"] is not JsonValue code || code.GetValue<int>() != (int)ParseError.InvalidSessionToken) return refusal;
        var presented = context.Request.Headers.Authorization.Count > 0 || context.Request.Headers.ContainsKey("X-Parse-Session-Token");
        context.Response.Headers.WWWAuthenticate =
            $"Bearer resource_metadata=\"{BaseUrl(context)}{McpSettings.ResourceMetadataPath}\"" + (presented ? ", error=\"invalid_token\"" : "");
        return refusal with { Status = StatusCodes.Status401Unauthorized };
    }

    private static string BaseUrl(HttpContext context) => $"{context.Request.Scheme}://{context.Request.Host}{context.Request.PathBase}";

    /// <summary>
    /// The protected resource metadata: the MCP endpoint is the resource; Entra ID (the AzureAd section's instance and
    /// tenant) is its authorization server when configured, with the scope tokens must carry when Parse:Entra names one.
    /// Without Entra ID there is no authorization server to name: clients then bring a Parse session token.
    /// </summary>
    private static IResult ResourceMetadata(HttpContext context, IConfiguration configuration, IOptions<ParseSettings> parse)
    {
        var metadata = new JsonObject
        {
            ["resource"] = BaseUrl(context) + McpSettings.Path,
            ["resource_name"] = "CRM",
            ["bearer_methods_supported"] = new JsonArray("header"),
        };
        var entra = configuration.GetSection("AzureAd");
        if (!string.IsNullOrEmpty(entra["ClientId"]))
        {
            var instance = (entra["Instance"] is { Length: > 0 } i ? i : "https://login.microsoftonline.com/").TrimEnd('/');
            var tenant = entra["TenantId"] is { Length: > 0 } t ? t : "organizations";
            metadata["authorization_servers"] = new JsonArray($"{instance}/{tenant}/v2.0");
            var audience = entra["Audience"] is { Length: > 0 } a ? a : $"api://{entra["ClientId"]}";
            metadata["scopes_supported"] = parse.Value.Entra.RequiredScope is { Length: > 0 } scope
                ? new JsonArray($"{audience}/{scope}")
                : new JsonArray($"{audience}/.default");
        }
        return Results.Text(metadata.ToJsonString(), "application/json; charset=utf-8");
    }
}
