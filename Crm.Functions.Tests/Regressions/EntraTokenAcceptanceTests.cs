using System.Net;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.Regressions;

/// <summary>
/// Issue 17 item 15: Entra ID tokens were linked to users by <c>oid</c> alone; any tenant's token was accepted by a
/// multi-tenant app; app-only tokens (a tenant's service principal) were given accounts; no scope or app role was
/// required; the unverified <c>email</c> claim was stored; and a deleted user's link stayed cached.
/// </summary>
public sealed class EntraTokenAcceptanceTests : IAsyncLifetime
{
    private const string Role = "Crm.User";
    private readonly string _secondTenant = Guid.NewGuid().ToString();
    private TestIdentityProvider _idp = null!;
    private CrmServer _server = null!;

    public Task InitializeAsync()
    {
        _idp = new TestIdentityProvider();
        // A multi-tenant registration ("organizations": any tenant's tokens validate), narrowed by the allow-list.
        var settings = _idp.Settings();
        settings["AzureAd:TenantId"] = "organizations";
        settings["Parse:Entra:AllowedTenants:0"] = _idp.TenantId;
        settings["Parse:Entra:AllowedTenants:1"] = _secondTenant;
        settings["Parse:Entra:RequiredScope"] = "access_as_user";
        settings["Parse:Entra:RequiredRole"] = Role;
        _server = new CrmServer(settings, _idp.TrustIn);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _server.Dispose();
        await _idp.DisposeAsync();
    }

    /// <summary>A user token of <paramref name="tenant"/> (the identity provider's own by default), holding the required role.</summary>
    private string Token(string oid, string? tenant = null, Dictionary<string, string?>? claims = null)
    {
        tenant ??= _idp.TenantId;
        var all = new Dictionary<string, string?> { ["tid"] = tenant, ["roles"] = Role };
        foreach (var (name, value) in claims ?? []) all[name] = value;
        return _idp.Token(oid, "user@contoso.example", issuer: $"{_idp.Instance}{tenant}/v2.0", claims: all);
    }

    private async Task<ParseResponse> MeAsync(string token)
    {
        using var client = _server.Client();
        return await client.SendAsync(HttpMethod.Get, "users/me", headers: new Dictionary<string, string> { ["Authorization"] = "Bearer " + token });
    }

    [Fact]
    public async Task a_token_from_a_tenant_that_is_not_allowed_is_refused()
    {
        (await MeAsync(Token(Guid.NewGuid().ToString()))).EnsureStatus(HttpStatusCode.OK);
        (await MeAsync(Token(Guid.NewGuid().ToString(), tenant: Guid.NewGuid().ToString()))).EnsureError(209);
    }

    [Fact]
    public async Task app_only_tokens_and_tokens_without_the_required_scope_or_role_are_refused()
    {
        (await MeAsync(Token(Guid.NewGuid().ToString(), claims: new() { ["scp"] = null }))).EnsureError(209);
        (await MeAsync(Token(Guid.NewGuid().ToString(), claims: new() { ["idtyp"] = "app" }))).EnsureError(209);
        (await MeAsync(Token(Guid.NewGuid().ToString(), claims: new() { ["scp"] = "User.Read" }))).EnsureError(209);
        (await MeAsync(Token(Guid.NewGuid().ToString(), claims: new() { ["roles"] = null }))).EnsureError(209);
    }

    [Fact]
    public async Task the_same_object_id_in_another_tenant_is_not_the_same_user()
    {
        var oid = Guid.NewGuid().ToString();
        var first = (await MeAsync(Token(oid))).EnsureStatus(HttpStatusCode.OK);
        var other = await MeAsync(Token(oid, tenant: _secondTenant));
        other.EnsureError(209);
        Assert.Equal(first.Json!["objectId"]!.GetValue<string>(), (await MeAsync(Token(oid))).EnsureStatus(HttpStatusCode.OK).Json!["objectId"]!.GetValue<string>());
    }

    [Fact]
    public async Task the_unverified_email_claim_is_not_stored()
    {
        var me = (await MeAsync(Token(Guid.NewGuid().ToString(), claims: new() { ["email"] = "ceo@victim.example" }))).EnsureStatus(HttpStatusCode.OK);
        Assert.Null(me.Json!["email"]);
    }

    [Fact]
    public async Task a_deleted_user_is_not_served_from_the_link_cache()
    {
        var token = Token(Guid.NewGuid().ToString());
        var first = (await MeAsync(token)).EnsureStatus(HttpStatusCode.OK).Json!["objectId"]!.GetValue<string>();
        using var master = _server.Client().AsMaster();
        (await master.DeleteAsync($"users/{first}")).EnsureStatus(HttpStatusCode.OK);
        var second = (await MeAsync(token)).EnsureStatus(HttpStatusCode.OK).Json!["objectId"]!.GetValue<string>();
        Assert.NotEqual(first, second);
    }
}
