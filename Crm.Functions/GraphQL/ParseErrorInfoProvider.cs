using Crm.Functions.Core;
using GraphQL;
using GraphQL.Execution;
using GraphQL.Validation;

namespace Crm.Functions.GraphQL;

/// <summary>
/// GraphQL errors in Parse's terms: <c>extensions.code</c> is the Parse error code (a number) for failures of the
/// core, <c>1 Internal server error</c> for anything unexpected (details stay in the log), and a string code
/// for problems with the query itself.
/// </summary>
internal sealed class ParseErrorInfoProvider : ErrorInfoProvider
{
    public override ErrorInfo GetInfo(ExecutionError executionError)
    {
        for (Exception? e = executionError; e is not null; e = e.InnerException)
        {
            if (e is ParseException parse) return Info(parse.Message, parse.Code);
            if (e is UnauthorizedException) return Info("unauthorized: master key is required", ParseError.OperationForbidden);
        }
        if (executionError is UnhandledError) return Info("Internal server error.", ParseError.InternalServerError);
        var info = base.GetInfo(executionError);
        var code = executionError switch
        {
            SyntaxError => "GRAPHQL_PARSE_FAILED",
            ValidationError => "GRAPHQL_VALIDATION_FAILED",
            _ => executionError.Code ?? "BAD_REQUEST",
        };
        return new ErrorInfo { Message = info.Message, Extensions = new Dictionary<string, object?> { ["code"] = code } };
    }

    private static ErrorInfo Info(string message, int code) =>
        new() { Message = message, Extensions = new Dictionary<string, object?> { ["code"] = code } };
}
