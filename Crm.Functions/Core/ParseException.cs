namespace Crm.Functions.Core;

/// <summary>Parse error codes used by this server (the wire contract: SDKs switch on these numbers).</summary>
internal static class ParseError
{
    public const int InternalServerError = 1;
    public const int ConnectionFailed = 100;
    public const int ObjectNotFound = 101;
    public const int InvalidQuery = 102;
    public const int InvalidClassName = 103;
    public const int MissingObjectId = 104;
    public const int InvalidKeyName = 105;
    public const int InvalidPointer = 106;
    public const int InvalidJson = 107;
    public const int CommandUnavailable = 108;
    public const int IncorrectType = 111;
    public const int OperationForbidden = 119;
    public const int ObjectTooLarge = 116;
    public const int InvalidNestedKey = 121;
    public const int InvalidFileName = 122;
    public const int InvalidAcl = 123;
    public const int Timeout = 124;
    public const int InvalidEmailAddress = 125;
    public const int FileSaveError = 130;
    public const int MissingRequiredField = 135;
    public const int ChangedImmutableField = 136;
    public const int DuplicateValue = 137;
    public const int ScriptFailed = 141;
    public const int ValidationError = 142;
    /// <summary>Parse's code for hooks API errors (the SDK names it INVALID_IMAGE_DATA).</summary>
    public const int HookError = 143;
    public const int FileDeleteError = 153;
    public const int InvalidValue = 162;
    /// <summary>Parse's REQUEST_LIMIT_EXCEEDED: the caller has too much expensive work running at once.</summary>
    public const int RequestLimitExceeded = 155;
    public const int DuplicateRequest = 159;
    public const int UsernameMissing = 200;
    public const int PasswordMissing = 201;
    public const int UsernameTaken = 202;
    public const int EmailTaken = 203;
    public const int EmailMissing = 204;
    /// <summary>Parse's EMAIL_NOT_FOUND, also its answer to a log-in whose email is not verified yet.</summary>
    public const int EmailNotFound = 205;
    public const int OtherCause = -1;
    public const int SessionMissing = 206;
    public const int InvalidSessionToken = 209;
    public const int InvalidRoleName = 139;
    public const int InvalidSchemaOperation = 255;
}

/// <summary>A failure the client caused or may see; mapped to <c>{"code","error"}</c> by one place (ErrorResponses).</summary>
internal sealed class ParseException(int code, string message, int? httpStatus = null) : Exception(message)
{
    public int Code { get; } = code;

    /// <summary>Overrides the status the code implies; only rate limiting (429) and oversized bodies (413) need it.</summary>
    public int? HttpStatus { get; } = httpStatus;

    public static ParseException NotFound() => new(ParseError.ObjectNotFound, "Object not found.");
}

/// <summary>Failures Parse reports as bare 403 <c>{"error":"unauthorized"}</c> without a code (app id, client key, master key).</summary>
internal sealed class UnauthorizedException(string message = "unauthorized") : Exception(message);
