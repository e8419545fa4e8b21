using System.Text.Json;
using System.Text.Json.Nodes;
using Crm.Functions.Core;

namespace Crm.Functions.Http;

/// <summary>
/// The one mapper from failures to Parse's wire errors, for every door: REST, batch items, GraphQL (which wraps the
/// same status and code in its <c>errors[].extensions</c>), the real-time doors and the last-resort edge. The status
/// follows the code, not the meaning (101 → 404, 1 → 500, every other code → 400), because SDKs branch on it;
/// app-id, client-key and master-key failures are 403s with code 119. Parse's format, not ProblemDetails, which the
/// SDKs cannot read.
/// </summary>
internal static class ErrorResponses
{
    public static int StatusFor(int code) => code switch
    {
        ParseError.ObjectNotFound => 404,
        ParseError.InternalServerError => 500,
        _ => 400,
    };

    public static JsonObject Body(int code, string message) => new() { ["code"] = code, ["error"] = message };

    public static ApiResult From(ParseException e) => new(e.HttpStatus ?? StatusFor(e.Code), Body(e.Code, e.Message));

    /// <summary>Parse's 403 message, with code 119 so every error body has the same {code, error} shape.</summary>
    public static ApiResult Unauthorized(string message) => new(403, Body(ParseError.OperationForbidden, message));

    /// <summary>The answer for an unexpected failure: nothing of it leaves the server but this.</summary>
    public static ApiResult Internal() => new(500, Body(ParseError.InternalServerError, "Internal server error."));

    /// <summary>The answer for an expected failure (a Parse error, a refused caller, malformed HTTP); false for anything else.</summary>
    public static bool TryMap(Exception exception, out ApiResult result)
    {
        result = exception switch
        {
            ParseException e => From(e),
            UnauthorizedException e => Unauthorized(e.Message),
            RouteNotFoundException e => new ApiResult(404, Body(ParseError.InvalidJson, e.Message)),
            BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } =>
                new ApiResult(413, Body(ParseError.ObjectTooLarge, "The request body is too large (Parse:Limits:MaxBodyBytes).")),
            BadHttpRequestException e => new ApiResult(400, Body(ParseError.InvalidJson, e.Message)),
            _ => null!,
        };
        return result is not null;
    }

    /// <summary>
    /// True when the request's body stopped short of its declared length: the client closed its connection mid-upload
    /// (a page navigating away). Kestrel notices the closed connection (RequestAborted) only later, and its exception's
    /// reason is not public, so its fixed message is what tells this 400 from a malformed body.
    /// </summary>
    private static bool BodyEndedEarly(Exception exception) =>
        exception is BadHttpRequestException { StatusCode: StatusCodes.Status400BadRequest } e
        && e.Message.StartsWith("Unexpected end of request content", StringComparison.Ordinal);

    /// <summary>
    /// The answer for any failure of a request; null when the client went away (nobody to answer). Unexpected
    /// failures are logged here, once, and answered 500 code 1 without details.
    /// </summary>
    public static ApiResult? For(Exception exception, HttpContext context, ILogger log)
    {
        if (exception is OperationCanceledException && context.RequestAborted.IsCancellationRequested) return null;
        if (BodyEndedEarly(exception)) RequestTelemetry.Abandon(context);
        if (TryMap(exception, out var result)) return result;
        log.LogError(exception, "Unhandled failure on {Method} {Path}", context.Request.Method, context.Request.Path.Value);
        return Internal();
    }

    /// <summary>Writes an answer as JSON, unless the response has already started.</summary>
    public static async Task WriteAsync(HttpContext context, ApiResult result)
    {
        if (context.Response.HasStarted) return;
        context.Response.StatusCode = result.Status;
        context.Response.ContentType = "application/json; charset=utf-8";
        if (result.Status >= 400 && result.Body["code"] is JsonValue code && code.TryGetValue<int>(out var parseCode))
            RequestTelemetry.Refused(context, parseCode);
        if (result.Location is not null) context.Response.Headers.Location = result.Location;
        await using var writer = new Utf8JsonWriter(context.Response.BodyWriter);
        result.Body.WriteTo(writer);
        await writer.FlushAsync();
    }

    /// <summary>A Parse error in GraphQL's shape: the same status, <c>{"errors":[{"message", "extensions":{"code"}}]}</c>.</summary>
    public static ApiResult AsGraphQL(ApiResult error) => error with
    {
        Body = new JsonObject
        {
            ["errors"] = new JsonArray(new JsonObject
            {
                ["message"] = error.Body["error"]?.DeepClone(),
                ["extensions"] = new JsonObject { ["code"] = error.Body["code"]?.DeepClone() },
            }),
        },
    };
}
