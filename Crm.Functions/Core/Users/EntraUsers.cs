using System.Collections.Concurrent;
using System.Security.Claims;
using System.Text.Json.Nodes;
using Crm.Functions.Core.Query;
using Crm.Functions.Core.Security;
using Crm.Functions.Core.Store;
using Microsoft.Extensions.Options;

namespace Crm.Functions.Core.Users;

/// <summary>
/// Maps a validated Microsoft Entra ID token to a _User. Only delegated tokens (a person signed in to a client app)
/// from allowed tenants, with the required scope and role, are accepted. Users are linked only by the token's
/// tenant and immutable object id together (never by email: the <c>email</c> claim is not verified by Entra, and an
/// object id is unique only within its tenant); the first call creates the user through the core, so the usual
/// _User rules apply.
/// </summary>
internal sealed class EntraUsers
{
    public const string Provider = "entra";
    private const string ClaimsNamespace = "http://schemas.microsoft.com/identity/claims/";
    // Other instances may delete a user: a cached link is trusted only this long (this instance's deletes clear it at once).
    private static readonly TimeSpan CacheFor = TimeSpan.FromMinutes(1);

    private readonly DataService _data;
    private readonly EntraSettings _settings;
    private readonly IReadOnlySet<string> _allowedTenants;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, (string UserId, DateTimeOffset Until)> _userIds = new(StringComparer.Ordinal);

    public EntraUsers(DataService data, IOptions<ParseSettings> options, IConfiguration configuration, TimeProvider time)
    {
        _data = data;
        _settings = options.Value.Entra;
        _time = time;
        var configured = configuration["AzureAd:TenantId"];
        _allowedTenants = _settings.AllowedTenants.Any(t => !string.IsNullOrWhiteSpace(t))
            ? _settings.AllowedTenants.Where(t => !string.IsNullOrWhiteSpace(t)).Select(t => t.Trim()).ToHashSet(StringComparer.OrdinalIgnoreCase)
            : Guid.TryParse(configured, out _) ? new HashSet<string>(StringComparer.OrdinalIgnoreCase) { configured! } : new HashSet<string>();
        // A deleted user's link must not outlive it: the next token of that person makes a new account.
        data.Changed += change =>
        {
            if (change is { Kind: "deleted", ClassName: "_User", Before: { } user })
                foreach (var (key, entry) in _userIds)
                    if (entry.UserId == user.ObjectId) _userIds.TryRemove(key, out _);
        };
    }

    public async Task<string> UserIdForAsync(ClaimsPrincipal principal, CancellationToken ct)
    {
        var oid = Claim(principal, "oid", ClaimsNamespace + "objectidentifier") ?? throw Refused("The bearer token has no object id (oid) claim.");
        var tid = Claim(principal, "tid", ClaimsNamespace + "tenantid") ?? throw Refused("The bearer token has no tenant id (tid) claim.");
        if (!_allowedTenants.Contains(tid)) throw Refused("The bearer token's tenant is not allowed.");
        var scopes = (Claim(principal, "scp", ClaimsNamespace + "scope") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        // App-only tokens (client credentials) carry no scp, and idtyp "app" when the optional claim is configured.
        if (!_settings.AllowAppTokens && (scopes.Length == 0 || principal.FindFirstValue("idtyp") == "app"))
            throw Refused("App-only bearer tokens are not accepted: sign in as a user.");
        if (!string.IsNullOrWhiteSpace(_settings.RequiredScope) && !scopes.Contains(_settings.RequiredScope.Trim(), StringComparer.Ordinal))
            throw Refused($"The bearer token lacks the scope {_settings.RequiredScope.Trim()}.");
        if (!string.IsNullOrWhiteSpace(_settings.RequiredRole)
            && !principal.Claims.Any(c => c.Type is "roles" or ClaimTypes.Role && c.Value == _settings.RequiredRole.Trim()))
            throw Refused($"The bearer token lacks the app role {_settings.RequiredRole.Trim()}.");

        var key = tid + "/" + oid;
        var now = _time.GetUtcNow();
        if (_userIds.TryGetValue(key, out var cached) && cached.Until > now) return cached.UserId;

        var userId = await FindAsync(tid, oid, ct) ?? await CreateAsync(principal, tid, oid, ct);
        if (_userIds.Count > 100_000) _userIds.Clear();
        _userIds[key] = (userId, now + CacheFor);
        return userId;
    }

    private static string? Claim(ClaimsPrincipal principal, string name, string mapped) =>
        principal.FindFirstValue(name) ?? principal.FindFirstValue(mapped);

    private static ParseException Refused(string message) => new(ParseError.InvalidSessionToken, message);

    /// <summary>The user linked to this tenant's object id; with no tenant, the user linked to the object id in any tenant.</summary>
    private async Task<string?> FindAsync(string? tid, string oid, CancellationToken ct)
    {
        var definition = _data.Schemas.Get("_User")?.Field("authData");
        QueryNode where = new CompareNode(new FieldRef("authData", [Provider, "id"], definition), CompareOp.Eq, new StringValue(oid));
        if (tid is not null)
            where = QueryNode.And(where, new CompareNode(new FieldRef("authData", [Provider, "tid"], definition), CompareOp.Eq, new StringValue(tid)));
        var found = await _data.Store.FindAsync(new StoreQuery("_User", where, [], 0, 1), ct);
        return found.Count > 0 ? found[0].ObjectId : null;
    }

    private async Task<string> CreateAsync(ClaimsPrincipal principal, string tid, string oid, CancellationToken ct)
    {
        // Checked before creating, not only by the unique index: the Cosmos store enforces unique values of top-level
        // fields only, and authData.entra.id is nested.
        // (A link found here in the same tenant was made by a concurrent first call: it is this user's.)
        if (await FindAsync(null, oid, ct) is not null)
            return await FindAsync(tid, oid, ct) ?? throw Refused("This Entra ID object id belongs to an account of another tenant.");
        // preferred_username is only a display name here (Entra does not verify it either): it never becomes the
        // account's email, which password resets and log-in by email would trust.
        var preferred = principal.FindFirstValue("preferred_username") ?? principal.FindFirstValue(ClaimTypes.Upn);
        var authData = new JsonObject { [Provider] = new JsonObject { ["id"] = oid, ["tid"] = tid } };
        // Try the friendly username first; a clash (another account owns it) falls back to one derived from the oid.
        foreach (var username in new[] { preferred ?? $"entra-{oid}", $"entra-{oid}" })
        {
            var body = new JsonObject { ["username"] = username, ["authData"] = authData.DeepClone() };
            try
            {
                var created = await _data.CreateAsync(Auth.Master, "_User", body, ct);
                return created.Object.ObjectId;
            }
            catch (ParseException e) when (e.Code is ParseError.UsernameTaken)
            {
                // A concurrent first call for the same user may have won the race.
                if (await FindAsync(tid, oid, ct) is { } existing) return existing;
            }
            catch (ParseException e) when (e.Code is ParseError.DuplicateValue)
            {
                // The object id is unique across accounts (its index): linked to another tenant's user, it is refused, not shared.
                if (await FindAsync(tid, oid, ct) is { } existing) return existing;
                throw Refused("This Entra ID object id belongs to an account of another tenant.");
            }
        }
        throw new ParseException(ParseError.UsernameTaken, "Could not create an account for this Entra ID user.");
    }
}
