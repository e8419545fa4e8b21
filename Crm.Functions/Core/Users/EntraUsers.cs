using System.Collections.Concurrent;
using System.Security.Claims;
using System.Text.Json.Nodes;
using Crm.Functions.Core.Query;
using Crm.Functions.Core.Security;
using Crm.Functions.Core.Store;

namespace Crm.Functions.Core.Users;

/// <summary>
/// Maps a validated Microsoft Entra ID token to a _User. Users are linked only by the token's immutable
/// object id (never by email: an email claim from another tenant must not take over an existing account);
/// the first call creates the user through the core, so the usual _User rules apply.
/// </summary>
internal sealed class EntraUsers(DataService data)
{
    public const string Provider = "entra";
    private readonly ConcurrentDictionary<string, string> _userIds = new(StringComparer.Ordinal);

    public async Task<string> UserIdForAsync(ClaimsPrincipal principal, CancellationToken ct)
    {
        var oid = principal.FindFirstValue("oid") ?? principal.FindFirstValue("http://schemas.microsoft.com/identity/claims/objectidentifier")
                  ?? throw new ParseException(ParseError.InvalidSessionToken, "The bearer token has no object id (oid) claim.");
        if (_userIds.TryGetValue(oid, out var cached)) return cached;

        var userId = await FindAsync(oid, ct) ?? await CreateAsync(principal, oid, ct);
        if (_userIds.Count > 100_000) _userIds.Clear();
        _userIds[oid] = userId;
        return userId;
    }

    private async Task<string?> FindAsync(string oid, CancellationToken ct)
    {
        var field = new FieldRef("authData", [Provider, "id"], data.Schemas.Get("_User")?.Field("authData"));
        var found = await data.Store.FindAsync(new StoreQuery("_User", new CompareNode(field, CompareOp.Eq, new StringValue(oid)), [], 0, 1), ct);
        return found.Count > 0 ? found[0].ObjectId : null;
    }

    private async Task<string> CreateAsync(ClaimsPrincipal principal, string oid, CancellationToken ct)
    {
        var preferred = principal.FindFirstValue("preferred_username") ?? principal.FindFirstValue(ClaimTypes.Upn);
        var email = principal.FindFirstValue("email") ?? principal.FindFirstValue(ClaimTypes.Email) ?? (preferred?.Contains('@') == true ? preferred : null);
        var authData = new JsonObject { [Provider] = new JsonObject { ["id"] = oid, ["tid"] = principal.FindFirstValue("tid") } };
        // Try the friendly username first; a clash (another account owns it) falls back to one derived from the oid.
        foreach (var (username, withEmail) in new[] { (preferred ?? $"entra-{oid}", true), ($"entra-{oid}", true), ($"entra-{oid}", false) })
        {
            var body = new JsonObject { ["username"] = username, ["authData"] = authData.DeepClone() };
            if (withEmail && email is not null) body["email"] = email;
            try
            {
                var created = await data.CreateAsync(Auth.Master, "_User", body, ct);
                return created.Object.ObjectId;
            }
            catch (ParseException e) when (e.Code is ParseError.UsernameTaken or ParseError.EmailTaken)
            {
                // A concurrent first call for the same oid may have won the race.
                if (await FindAsync(oid, ct) is { } existing) return existing;
            }
        }
        throw new ParseException(ParseError.UsernameTaken, "Could not create an account for this Entra ID user.");
    }
}
