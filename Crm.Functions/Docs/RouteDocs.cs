using System.Text.Json.Nodes;
using Crm.Functions.Crm;
using Crm.Functions.Http;

namespace Crm.Functions.Docs;

/// <summary>Who may call an operation, as the OpenAPI document tells it.</summary>
internal enum Caller
{
    /// <summary>A session token or the master key (the document's default).</summary>
    Session,

    /// <summary>The application id alone: sign-up, log-in, health.</summary>
    Anyone,
}

/// <summary>
/// The words of one Parse operation: its tag, summary, description, and the component schemas of its body and
/// answer (<c>null</c>: an object). The rest of the operation — path, parameters, master-key-only security — comes
/// from the route itself.
/// </summary>
internal sealed record RouteDoc(string Id, string Tag, string Summary, string? Description = null, Caller Caller = Caller.Session,
    string? Body = null, JsonObject? BodyExample = null, string? Response = null, string Status = "200");

/// <summary>
/// The documentation of every Parse route that is not a class's object route, keyed by the route's function name and
/// then by "METHOD template". Object routes (<c>/classes/{className}…</c> and the aliases <c>/users</c>, <c>/roles</c>,
/// …) are described per class from the live schema. A route added to <see cref="ParseRouter"/> without an entry here
/// is listed by <see cref="Missing"/>, and a test fails on it: a route cannot exist without its documentation.
/// </summary>
internal static class RouteDocs
{
    public static readonly Dictionary<string, Dictionary<string, RouteDoc>> ByFunction = new(StringComparer.Ordinal)
    {
        ["users"] = new(StringComparer.Ordinal)
        {
            ["GET /users/me"] = new("me", "Users", "The current user", "The user of the session token sent.", Response: "_User"),
            ["POST /users"] = new("signUp", "Users", "Sign up", "Creates a user and answers its session token.", Caller.Anyone,
                Body: "_UserInput", Response: "SignUpResponse", Status: "201"),
        },
        ["classes"] = new(StringComparer.Ordinal)
        {
            ["POST /classes/_User"] = new("signUpAsClass", "Users", "Sign up (as a _User create)", "The same as POST /users.", Caller.Anyone,
                Body: "_UserInput", Response: "SignUpResponse", Status: "201"),
        },
        ["login"] = new(StringComparer.Ordinal)
        {
            ["POST /login"] = new("logIn", "Users", "Log in", "Answers the user with a sessionToken: set it as the SessionToken credential. A user with two-factor sign-in sends authData.mfa.token too (code -1 without it, 141 for a wrong one).",
                Caller.Anyone, Body: "LogIn", BodyExample: new JsonObject { ["username"] = "alice", ["password"] = DemoData.Password }, Response: "SignUpResponse"),
            ["GET /login"] = new("logInByQuery", "Users", "Log in (query string)", "As POST /login, with username and password in the query string.",
                Caller.Anyone, Response: "SignUpResponse"),
        },
        ["verifyPassword"] = new(StringComparer.Ordinal)
        {
            ["POST /verifyPassword"] = new("verifyPassword", "Users", "Check a password", "Answers the user when the password is right, without a new session.",
                Caller.Anyone, Body: "LogIn", Response: "_User"),
            ["GET /verifyPassword"] = new("verifyPasswordByQuery", "Users", "Check a password (query string)", "As POST /verifyPassword, in the query string.",
                Caller.Anyone, Response: "_User"),
        },
        ["loginAs"] = new(StringComparer.Ordinal)
        {
            ["POST /loginAs"] = new("logInAs", "Users", "Log in as a user", "Opens a session for the user named by userId.", Body: null, Response: "SignUpResponse"),
        },
        ["logout"] = new(StringComparer.Ordinal)
        {
            ["POST /logout"] = new("logOut", "Users", "Log out", "Ends the session of the token sent."),
        },
        ["sessions"] = new(StringComparer.Ordinal)
        {
            ["GET /sessions/me"] = new("currentSession", "Sessions", "The current session", "The session of the token sent."),
            ["POST /sessions"] = new("createSession", "Sessions", "Create a session", "A session for the caller (or, with the master key, for the user named).", Status: "201"),
        },
        ["batch"] = new(StringComparer.Ordinal)
        {
            ["POST /batch"] = new("batch", "Server", "Run several requests", "requests: [{method, path, body}], each answered as {success} or {error}; with transaction: true all or none.",
                Body: "BatchRequest"),
        },
        ["health"] = new(StringComparer.Ordinal)
        {
            ["GET /health"] = new("health", "Server", "Readiness",
                "200 {\"status\":\"ok\"} when ready; 503 {\"status\":\"starting\"} with Retry-After while the server starts.", Caller: Caller.Anyone, Response: "Health"),
            ["POST /health"] = new("healthByPost", "Server", "Readiness (POST)", Caller: Caller.Anyone, Response: "Health"),
        },
        ["liveness"] = new(StringComparer.Ordinal)
        {
            ["GET /health/live"] = new("liveness", "Server", "Liveness",
                "200 {\"status\":\"alive\"} whenever the process serves, also while it starts.", Caller: Caller.Anyone, Response: "Health"),
        },
        ["serverInfo"] = new(StringComparer.Ordinal)
        {
            ["GET /serverInfo"] = new("serverInfo", "Server", "Server version and features", "Parse Dashboard's feature flags, and the process's memory."),
        },
        ["functions"] = new(StringComparer.Ordinal)
        {
            ["POST /functions/{name}"] = new("runFunction", "Functions", "Run a function", "Runs a server-side function by name; the body is its parameters."),
            ["GET /functions/{name}"] = new("runFunctionByQuery", "Functions", "Run a function (query string)", "As POST, with the parameters in the query string."),
        },
        ["schemas"] = new(StringComparer.Ordinal)
        {
            ["GET /schemas"] = new("schemas", "Schemas", "Every class's schema"),
            ["GET /schemas/{className}"] = new("schema", "Schemas", "A class's schema"),
            ["POST /schemas"] = new("createClass", "Schemas", "Create a class", "The body names className, fields, classLevelPermissions and indexes.", Body: "SchemaInput"),
            ["POST /schemas/{className}"] = new("createClassNamed", "Schemas", "Create the class named in the path", Body: "SchemaInput"),
            ["PUT /schemas/{className}"] = new("updateClass", "Schemas", "Change a class",
                "Adds fields and indexes, deletes them with {\"__op\":\"Delete\"}, replaces class-level permissions.", Body: "SchemaInput"),
            ["DELETE /schemas/{className}"] = new("deleteClass", "Schemas", "Delete an empty class"),
        },
        ["purge"] = new(StringComparer.Ordinal)
        {
            ["DELETE /purge/{className}"] = new("purgeClass", "Schemas", "Delete every object of a class"),
        },
        ["aggregate"] = new(StringComparer.Ordinal)
        {
            ["GET /aggregate/{className}"] = new("aggregate", "Objects", "Aggregate or distinct values",
                "pipeline=[…] with $match, $group (_id: null, \"$field\", a date part or an object of them; $sum, $avg, $min, $max, $count), $sort, $skip, $limit, $project, $count; "
                + "or distinct=field with an optional where. Field names as Parse writes them (_id, _created_at, _p_field) or plain. Master key only."),
        },
        ["config"] = new(StringComparer.Ordinal)
        {
            ["GET /config"] = new("config", "Config", "The global config",
                "Answers {params, masterKeyOnly}; parameters flagged master-key-only are left out for other callers.", Caller.Anyone),
            ["PUT /config"] = new("updateConfig", "Config", "Change the global config",
                "Merges params per key ({\"__op\":\"Delete\"} removes one) and sets masterKeyOnly flags; answers {\"result\":true}.",
                BodyExample: new JsonObject { ["params"] = new JsonObject { ["maxDiscount"] = 0.2 }, ["masterKeyOnly"] = new JsonObject { ["maxDiscount"] = true } }),
        },
        ["requestPasswordReset"] = new(StringComparer.Ordinal)
        {
            ["POST /requestPasswordReset"] = new("requestPasswordReset", "Users", "Mail a password reset link",
                "Body {email}. Always answers {} (whether or not an account has the address); the link works once, for Parse:Accounts:PasswordResetTokenMinutes. Code 108 when mail is not configured (Parse:Email:SmtpHost).",
                Caller.Anyone),
        },
        ["verificationEmailRequest"] = new(StringComparer.Ordinal)
        {
            ["POST /verificationEmailRequest"] = new("verificationEmailRequest", "Users", "Mail an email verification link again",
                "Body {email}. Always answers {}; a link is sent only to an unverified address of an account. Code 108 when mail is not configured.",
                Caller.Anyone),
        },
        ["signInOptions"] = new(StringComparer.Ordinal)
        {
            ["GET /signInOptions"] = new("signInOptions", "Users", "What a sign-in screen may offer",
                "Answers {mail, verifyUserEmails, entra?}: whether account mails go out, whether new addresses must be verified, and, when Entra ID tokens are accepted (AzureAd:ClientId), entra {clientId, authority, scopes} for MSAL in a browser (clientId is Parse:Entra:WebClientId when set). Exchange an Entra access token for a session with POST /sessions and the token as a bearer.",
                Caller.Anyone),
        },
        ["files"] = new(StringComparer.Ordinal)
        {
            ["POST /files"] = new("uploadFileWithoutName", "Files", "Upload a file without a name", "Refused with 122: a file needs a name."),
            ["POST /files/{filename}"] = new("uploadFile", "Files", "Upload a file",
                "The raw bytes with their Content-Type (or the JS SDK's JSON form {base64, _ContentType, fileData}); answers {url, name}, the name with a random prefix. "
                + "Who may upload, how large and which extensions: Parse:Files.", Status: "201"),
            ["GET /files/{appId}/{filename}"] = new("downloadFile", "Files", "Download a file",
                "Streams the file (Range, ETag); no credentials needed, but with Parse:Files:SignedUrls the URL's signature must be valid. "
                + "Served with nosniff, a sandboxing CSP, and as an attachment unless it is a plain image, text, audio or video.", Caller.Anyone),
            ["GET /files/{appId}/metadata/{filename}"] = new("fileMetadata", "Files", "A file's metadata", "Its metadata, tags, type and size; {} when there is no such file.", Caller.Anyone),
            ["DELETE /files/{filename}"] = new("deleteFile", "Files", "Delete a file", "Master key only; 153 when there is no such file."),
        },
        ["hooks"] = new(StringComparer.Ordinal)
        {
            ["GET /hooks/functions"] = new("hookFunctions", "Hooks", "Functions implemented by URLs", "A bare array of {functionName, url}."),
            ["GET /hooks/functions/{functionName}"] = new("hookFunction", "Hooks", "A function's URL", "{functionName, url}; 143 when none is registered."),
            ["POST /hooks/functions"] = new("createHookFunction", "Hooks", "Register a function URL",
                "POST /functions/{name} then forwards to the URL. The answer carries the hook's signing secret, shown only here.",
                BodyExample: new JsonObject { ["functionName"] = "quote", ["url"] = "https://billing.example.com/parse/quote" }),
            ["PUT /hooks/functions/{functionName}"] = new("updateHookFunction", "Hooks", "Change a function's URL", "{\"url\"}; {\"__op\":\"Delete\"} removes it."),
            ["DELETE /hooks/functions/{functionName}"] = new("deleteHookFunction", "Hooks", "Remove a function URL"),
        },
        ["hookTriggers"] = new(StringComparer.Ordinal)
        {
            ["GET /hooks/triggers"] = new("hookTriggers", "Hooks", "Trigger URLs", "A bare array of {className, triggerName, url}."),
            ["GET /hooks/triggers/{className}"] = new("hookTriggersOfClass", "Hooks", "A class's trigger URLs", "A bare array of {className, triggerName, url}."),
            ["GET /hooks/triggers/{className}/{triggerName}"] = new("hookTrigger", "Hooks", "A trigger's URL", "143 when none is registered."),
            ["POST /hooks/triggers"] = new("createHookTrigger", "Hooks", "Register an afterSave or afterDelete URL",
                "Every later change of the class is delivered to the URL, signed, at least once and in order per object (docs/webhooks.md). "
                + "The answer carries the hook's signing secret, shown only here.",
                BodyExample: new JsonObject { ["className"] = "Deal", ["triggerName"] = "afterSave", ["url"] = "https://billing.example.com/hooks/deal" }),
            ["PUT /hooks/triggers/{className}/{triggerName}"] = new("updateHookTrigger", "Hooks", "Change a trigger's URL", "{\"url\"}; {\"__op\":\"Delete\"} removes it."),
            ["DELETE /hooks/triggers/{className}/{triggerName}"] = new("deleteHookTrigger", "Hooks", "Remove a trigger URL"),
        },
        ["hookDeliveries"] = new(StringComparer.Ordinal)
        {
            ["GET /hooks/deliveries"] = new("hookDeliveries", "Hooks", "The webhook outbox",
                "{results: [...]}, newest first; ?status=pending|held|delivered|dead, ?limit= (100, at most 1000)."),
            ["GET /hooks/deliveries/{deliveryId}"] = new("hookDelivery", "Hooks", "One delivery", "As in the list; 101 when there is none."),
            ["POST /hooks/deliveries/{deliveryId}/{action}"] = new("retryHookDelivery", "Hooks", "Send a dead delivery again", "action retry: from its first attempt; 101 unless it is dead."),
        },
        ["history"] = new(StringComparer.Ordinal)
        {
            ["GET /classes/{className}/{objectId}/history"] = new("objectHistory", "History", "An object's history",
                "Its recorded creates, updates and deletes, newest first: {results: [{id, event, at, sequence, user, master, door, changes: [{field, old, new}]}]}; "
                + "?limit= (50, at most 1000), ?skip=. For whoever may read the object (of a deleted one: whoever could when it was deleted); "
                + "101 otherwise, as for an unknown object; 119 for a class whose history is not kept (docs/history.md)."),
        },
    };

    /// <summary>Whether a route is a class's object route (find, create, get, update, delete), documented per class.</summary>
    public static string? ObjectRouteClass(ParseRoute route)
    {
        if (route.Function == "classes") return route.Template.StartsWith("/classes/{className}", StringComparison.Ordinal) ? "{className}" : null;
        return ObjectsApi.Aliases.TryGetValue(route.Function, out var className)
               && (route.Template == "/" + route.Function || route.Template == $"/{route.Function}/{{objectId}}") ? className : null;
    }

    public static RouteDoc? For(ParseRoute route, string method) =>
        ByFunction.GetValueOrDefault(route.Function)?.GetValueOrDefault($"{method.ToUpperInvariant()} {route.Template}");

    /// <summary>"METHOD template" of every route with neither a table entry nor a class to describe it.</summary>
    public static IEnumerable<string> Missing(IEnumerable<ParseRoute> routes) =>
        from route in routes
        from method in route.Methods
        where ObjectRouteClass(route) is null && For(route, method) is null
        select $"{route.Function}: {method} {route.Template}";

    /// <summary>Table entries no route has (a route removed or renamed without its documentation).</summary>
    public static IEnumerable<string> Stale(IEnumerable<ParseRoute> routes)
    {
        var existing = routes.SelectMany(r => r.Methods.Select(m => $"{r.Function}: {m.ToUpperInvariant()} {r.Template}")).ToHashSet(StringComparer.Ordinal);
        return ByFunction.SelectMany(f => f.Value.Keys.Select(k => $"{f.Key}: {k}")).Where(k => !existing.Contains(k));
    }
}
