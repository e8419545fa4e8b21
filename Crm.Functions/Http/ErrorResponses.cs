using System.Text.Json.Nodes;
using Crm.Functions.Core;

namespace Crm.Functions.Http;

/// <summary>
/// The one mapper from failures to Parse's wire errors. The status follows the code, not the meaning
/// (101 → 404, 1 → 500, every other code → 400), because SDKs branch on it; app-id and master-key
/// failures are bare 403s. Parse's format, not ProblemDetails, which the SDKs cannot read.
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
}
