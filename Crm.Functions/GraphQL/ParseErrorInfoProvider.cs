using Crm.Functions.Http;
using GraphQL;
using GraphQL.Execution;
using GraphQL.Validation;

namespace Crm.Functions.GraphQL;

/// <summary>
/// GraphQL errors in Parse's terms: <c>extensions.code</c> is the Parse error code (a number) that
/// <see cref="ErrorResponses"/> gives the failure at every door, <c>1 Internal server error</c> for anything
/// unexpected (details stay in the log), and a string code for problems with the query itself.
/// </summary>
internal sealed class ParseErrorInfoProvider : ErrorInfoProvider
{
    public override ErrorInfo GetInfo(ExecutionError executionError)
    {
        for (Exception? e = executionError; e is not null; e = e.InnerException)
            if (ErrorResponses.TryMap(e, out var mapped)) return Info(mapped);
        if (executionError is UnhandledError) return Info(ErrorResponses.Internal());
        var info = base.GetInfo(executionError);
        var code = executionError switch
        {
            SyntaxError => "GRAPHQL_PARSE_FAILED",
            ValidationError => "GRAPHQL_VALIDATION_FAILED",
            _ => executionError.Code ?? "BAD_REQUEST",
        };
        return new ErrorInfo { Message = info.Message, Extensions = new Dictionary<string, object?> { ["code"] = code } };
    }

    private static ErrorInfo Info(ApiResult error) => new()
    {
        Message = error.Body["error"]!.GetValue<string>(),
        Extensions = new Dictionary<string, object?> { ["code"] = error.Body["code"]!.GetValue<int>() },
    };
}
