using System.Text.Json;
using Crm.Functions.Core;
using Crm.Functions.Core.Users;
using Crm.Functions.Http;
using GraphQL;
using GraphQL.SystemTextJson;
using GraphQL.Transport;
using GraphQL.Validation;
using GraphQLParser.AST;
using GraphQLParser.Exceptions;
using FromServicesAttribute = Microsoft.AspNetCore.Mvc.FromServicesAttribute;
using Microsoft.Extensions.Options;

namespace Crm.Functions.GraphQL;

/// <summary>
/// POST /graphql (and GET with <c>?query=</c> for queries) at the app root, as parse-server mounts it. The caller
/// is resolved through <see cref="ParseDoor"/> like every door, before GraphQL runs: a bad app id or session token
/// gets REST's status and code (403 / 119, 400 / 209) in GraphQL's <c>errors[].extensions.code</c>. Then one
/// execution with that caller, spending one request budget for the whole document.
/// </summary>
internal static class GraphQLEndpoint
{
    private static readonly GraphQLSerializer Serializer = new(new ParseErrorInfoProvider());
    private static readonly DocumentExecuter Executer = new();

    /// <summary>Maps the GraphQL door (and GraphiQL's assets when the page is on).</summary>
    public static void MapGraphQLApi(this WebApplication app)
    {
        var settings = app.Services.GetRequiredService<IOptions<GraphQLSettings>>().Value;
        if (!settings.Enabled) return;
        app.MapMethods(settings.Path, ["GET", "POST"], HandleAsync).WithTags("GraphQL")
            .WithSummary("GraphQL").WithDescription("Queries and mutations over the same classes and permissions as REST; GET in a browser opens GraphiQL.");
        if (settings.GraphiQL)
            app.MapGet(settings.Path.TrimEnd('/') + "/assets/{file}", (HttpContext context, string file) => GraphiQLPage.WriteAssetAsync(context, file))
                .WithTags("GraphQL").WithSummary("GraphiQL's scripts and styles");
    }

    private static async Task HandleAsync(HttpContext context, [FromServices] ParseDoor door, [FromServices] IOptions<GraphQLSettings> options,
        [FromServices] IOptions<ParseSettings> parse, [FromServices] GraphQLSchemaProvider schemas, [FromServices] DataService data,
        [FromServices] UserService users, [FromServices] SessionService sessions, [FromServices] AuthRateLimiter rateLimiter,
        [FromServices] ILogger<GraphQLRequestContext> log, [FromServices] Core.Config.GlobalConfig config)
    {
        var settings = options.Value;
        if (settings.GraphiQL && GraphiQLPage.WantsPage(context.Request))
        {
            await GraphiQLPage.WritePageAsync(context, settings.Path, parse.Value.AppId);
            return;
        }
        // Refusals (caller, budget, failures outside the executor) keep GraphQL's error shape with REST's status and code.
        await door.ServeAsync(context, SessionTokenUse.Resolve, async (auth, ct) =>
        {
            await ExecuteAsync(context, auth, settings, parse.Value, schemas, data, users, sessions, rateLimiter, log, config, ct);
            return null;
        }, errorShape: ErrorResponses.AsGraphQL);
    }

    private static async Task ExecuteAsync(HttpContext context, Core.Security.Auth auth, GraphQLSettings settings, ParseSettings parse,
        GraphQLSchemaProvider schemas, DataService data, UserService users, SessionService sessions, AuthRateLimiter rateLimiter,
        ILogger<GraphQLRequestContext> log, Core.Config.GlobalConfig config, CancellationToken ct)
    {
        GraphQLRequest? request;
        try
        {
            request = await ReadRequestAsync(context.Request, ct);
        }
        // ArgumentException: a key repeated inside "variables" (the serializer builds a dictionary of them).
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException or FormatException or ArgumentException)
        {
            await WriteErrorAsync(context, 400, "The request body is not a GraphQL request (JSON with a \"query\" string).", ct);
            return;
        }
        catch (BadHttpRequestException e)
        {
            await WriteErrorAsync(context, e.StatusCode, "The request body is too large or malformed.", ct);
            return;
        }
        if (string.IsNullOrWhiteSpace(request?.Query))
        {
            await WriteErrorAsync(context, 400, "Provide a GraphQL query (\"query\").", ct);
            return;
        }

        var options = new ExecutionOptions
        {
            Schema = schemas.Current,
            Query = request.Query,
            Variables = request.Variables,
            OperationName = request.OperationName,
            CancellationToken = ct,
            RequestServices = context.RequestServices,
            ThrowOnUnhandledException = false,
            ValidationRules = DocumentValidator.CoreRules.Concat(GraphQLLimits.Rules(settings, auth.IsMaster)),
            UserContext = new GraphQLRequestContext
            {
                Auth = auth,
                Data = data,
                Users = users,
                Sessions = sessions,
                RateLimiter = rateLimiter,
                Loader = new PointerLoader(data, auth, parse.Limits.MaxLimit),
                Config = config,
                History = context.RequestServices.GetRequiredService<Core.History.HistoryService>(),
            },
            UnhandledExceptionDelegate = failure =>
            {
                // A document nested past the parser's depth limit is the caller's mistake: a 400 with a Parse code, not logged.
                if (failure.OriginalException is GraphQLParserException)
                {
                    failure.Exception = new ParseException(ParseError.InvalidJson, "The GraphQL document is nested too deeply.");
                    return Task.CompletedTask;
                }
                // Expected failures are answers, not faults: only the rest is logged, once, here.
                if (failure.OriginalException is not OperationCanceledException && !ErrorResponses.TryMap(failure.OriginalException, out _))
                    log.LogError(failure.OriginalException, "GraphQL resolver failed");
                return Task.CompletedTask;
            },
        };
        if (HttpMethods.IsGet(context.Request.Method) && IsMutation(request.Query, request.OperationName))
        {
            await WriteErrorAsync(context, 405, "Mutations are only accepted over POST.", ct);
            return;
        }

        var result = await Executer.ExecuteAsync(options);
        using var answer = new GraphQLLimits.BoundedBuffer(settings.MaxResponseBytes);
        try
        {
            await Serializer.WriteAsync(answer, result, ct);
        }
        catch (GraphQLLimits.ResponseTooLargeException e)
        {
            await WriteErrorAsync(context, 400, e.Message, ct, ParseError.InvalidQuery);
            return;
        }
        // Documents that fail to parse or validate never run: 400, as Apollo answers them; executed ones are 200.
        context.Response.StatusCode = result.Executed ? 200 : 400;
        context.Response.ContentType = "application/json; charset=utf-8";
        answer.Position = 0;
        await answer.CopyToAsync(context.Response.Body, ct);
    }

    private static async Task<GraphQLRequest?> ReadRequestAsync(HttpRequest request, CancellationToken ct)
    {
        if (HttpMethods.IsGet(request.Method))
        {
            var variables = request.Query["variables"].ToString();
            return new GraphQLRequest
            {
                Query = request.Query["query"].ToString(),
                OperationName = request.Query["operationName"].ToString() is { Length: > 0 } name ? name : null,
                Variables = variables.Length > 0 ? Serializer.Deserialize<Inputs>(variables) : null,
            };
        }
        return await Serializer.ReadAsync<GraphQLRequest>(request.Body, ct);
    }

    private static bool IsMutation(string query, string? operationName)
    {
        try
        {
            var document = GraphQLParser.Parser.Parse(query);
            return document.Definitions.OfType<GraphQLOperationDefinition>()
                .Any(o => o.Operation == OperationType.Mutation && (operationName is null || o.Name?.StringValue == operationName));
        }
        catch (GraphQLParserException)
        {
            return false; // the executor reports the syntax error
        }
    }

    private static async Task WriteErrorAsync(HttpContext context, int status, string message, CancellationToken ct, object? code = null)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        var body = new { errors = new[] { new { message, extensions = new { code = code ?? "BAD_REQUEST" } } } };
        await JsonSerializer.SerializeAsync(context.Response.Body, body, cancellationToken: ct);
    }
}
