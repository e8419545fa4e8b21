using System.Text.Json.Nodes;
using Crm.Functions.Core;
using Crm.Functions.Core.Users;

namespace Crm.Functions.Http;

/// <summary>Sign-up, log-in/out, the current user, and sessions (Parse REST §12–13).</summary>
internal static class UsersApi
{
    public static void Map(ParseRouter router, DataService data, UserService users, SessionService sessions, AuthRateLimiter limiter)
    {
        router.Add("users", "GET", "/users/me", async (call, ct) =>
        {
            if (call.Auth.UserId is null) throw new ParseException(ParseError.InvalidSessionToken, "Invalid session token");
            return ApiResult.Ok(await users.MeAsync(call.Auth.UserId, call.Auth.SessionToken, ct));
        });
        // Sign-up is a create of _User; UserRules charges the sign-up limit, hashes the password and adds the session token.
        ParseHandler signUp = (call, ct) => ObjectsApi.Create(data, call, "_User", ct);
        router.Add("users", "POST", "/users", signUp);
        router.Add("classes", "POST", "/classes/_User", signUp);

        router.Add("login", "GET,POST", "/login", async (call, ct) =>
        {
            limiter.Check(call.Auth);
            return ApiResult.Ok(await users.LogInAsync(Text(call.Body, "username"), Text(call.Body, "email"), Text(call.Body, "password"), call.InstallationId, true, ct,
                AuthData(call.Body)));
        });
        router.Add("verifyPassword", "GET,POST", "/verifyPassword", async (call, ct) =>
        {
            limiter.Check(call.Auth);
            return ApiResult.Ok(await users.LogInAsync(Text(call.Body, "username"), Text(call.Body, "email"), Text(call.Body, "password"), call.InstallationId, false, ct));
        });
        router.Add("loginAs", "POST", "/loginAs", async (call, ct) =>
            ApiResult.Ok(await users.LogInAsAsync(Text(call.Body, "userId"), call.InstallationId, ct)), masterOnly: true);
        router.Add("logout", "POST", "/logout", async (call, ct) =>
        {
            if (call.Auth.SessionToken is { } token)
            {
                if (await sessions.ResolveAsync(token, ct) is null) throw new ParseException(ParseError.InvalidSessionToken, "Invalid session token");
                await sessions.RevokeAsync(token, ct);
            }
            return ApiResult.Empty();
        });

        router.Add("sessions", "GET", "/sessions/me", async (call, ct) =>
        {
            var token = call.RawSessionToken ?? throw new ParseException(ParseError.InvalidSessionToken, "Session token required.");
            var session = await sessions.ResolveAsync(token, ct) ?? throw new ParseException(ParseError.InvalidSessionToken, "Session token not found.");
            var auth = await users.AuthForUserAsync(session.UserId, token, call.InstallationId, ct);
            var json = await data.GetAsync(auth, "_Session", session.ObjectId, null, ct);
            return ApiResult.Ok(json);
        });
        router.Add("sessions", "POST", "/sessions", async (call, ct) =>
        {
            if (call.Auth.IsMaster) return await ObjectsApi.Create(data, call, "_Session", ct);
            var userId = call.Auth.UserId ?? throw new ParseException(ParseError.InvalidSessionToken, "Session token required.");
            if (call.Body.ContainsKey("ACL")) throw new ParseException(ParseError.InvalidKeyName, "Cannot set ACL on a Session.");
            var session = await sessions.CreateAsync(userId, call.InstallationId, "create", "password", ct);
            var auth = await users.AuthForUserAsync(userId, session.Token, call.InstallationId, ct);
            var json = await data.GetAsync(auth, "_Session", session.ObjectId, null, ct);
            return ApiResult.Created(json, $"{call.ServerUrl}/sessions/{session.ObjectId}");
        });
    }

    /// <summary>authData of a log-in: an object in a JSON body, or JSON text in a GET's query string.</summary>
    private static JsonObject? AuthData(JsonObject body)
    {
        switch (body["authData"])
        {
            case null: return null;
            case JsonObject authData: return authData;
            case JsonValue v when v.TryGetValue(out string? text):
                try
                {
                    return JsonNode.Parse(text) as JsonObject ?? throw TwoFactor.InvalidData();
                }
                catch (System.Text.Json.JsonException)
                {
                    throw TwoFactor.InvalidData();
                }
            default: throw TwoFactor.InvalidData();
        }
    }

    private static string? Text(JsonObject body, string key) =>
        body[key] is JsonValue v && v.TryGetValue(out string? s) ? s : body[key] is null ? null
            : throw new ParseException(ParseError.ObjectNotFound, "Invalid username/password.");
}
