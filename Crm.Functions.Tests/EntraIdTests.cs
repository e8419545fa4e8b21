using System.Net;
using System.Security.Cryptography;
using Crm.Functions.Tests.Infrastructure;
using Microsoft.IdentityModel.Tokens;

namespace Crm.Functions.Tests;

public sealed class EntraIdTests : IAsyncLifetime
{
    private TestIdentityProvider _idp = null!;
    private CrmServer _server = null!;

    public Task InitializeAsync()
    {
        _idp = new TestIdentityProvider();
        _server = new CrmServer(_idp.Settings(), _idp.TrustIn);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _server.Dispose();
        await _idp.DisposeAsync();
    }

    private async Task<ParseResponse> MeAsync(string token)
    {
        using var client = _server.Client();
        return await client.SendAsync(HttpMethod.Get, "users/me", headers: new Dictionary<string, string> { ["Authorization"] = "Bearer " + token });
    }

    [Fact]
    public async Task first_call_with_a_valid_token_creates_the_user_and_later_calls_reuse_it()
    {
        var oid = Guid.NewGuid().ToString();
        var first = (await MeAsync(_idp.Token(oid, "dana@contoso.example"))).EnsureStatus(HttpStatusCode.OK);
        Assert.Equal("dana@contoso.example", first.Json!["username"]!.GetValue<string>());
        Assert.Equal(oid, first.Json["authData"]!["entra"]!["id"]!.GetValue<string>());
        Assert.Null(first.Json["password"]);

        var second = (await MeAsync(_idp.Token(oid, "renamed@contoso.example"))).EnsureStatus(HttpStatusCode.OK);
        Assert.Equal(first.Json["objectId"]!.GetValue<string>(), second.Json!["objectId"]!.GetValue<string>());
    }

    [Fact]
    public async Task an_entra_user_behaves_like_a_session_user_for_acls()
    {
        var oid = Guid.NewGuid().ToString();
        var token = _idp.Token(oid, "erin@contoso.example");
        var me = (await MeAsync(token)).Json!["objectId"]!.GetValue<string>();
        var bearer = new Dictionary<string, string> { ["Authorization"] = "Bearer " + token };

        using var master = _server.Client().AsMaster();
        var created = await master.PostAsync("classes/Memo", new Dictionary<string, object>
        {
            ["text"] = "private", ["ACL"] = new Dictionary<string, object> { [me] = new { read = true, write = true } },
        });
        var id = created.EnsureStatus(HttpStatusCode.Created).Json!["objectId"]!.GetValue<string>();

        using var asEntra = _server.Client();
        (await asEntra.SendAsync(HttpMethod.Get, $"classes/Memo/{id}", headers: bearer)).EnsureStatus(HttpStatusCode.OK);
        using var anonymous = _server.Client();
        (await anonymous.GetAsync($"classes/Memo/{id}")).EnsureError(101);
    }

    [Fact]
    public async Task tokens_for_another_audience_issuer_or_key_or_expired_are_rejected_with_209()
    {
        var oid = Guid.NewGuid().ToString();
        using var otherKey = RSA.Create(2048);
        (await MeAsync(_idp.Token(oid, audience: Guid.NewGuid().ToString()))).EnsureError(209);
        (await MeAsync(_idp.Token(oid, issuer: $"{_idp.Instance}{Guid.NewGuid()}/v2.0"))).EnsureError(209);
        (await MeAsync(_idp.Token(oid, key: new RsaSecurityKey(otherKey) { KeyId = "test-key-1" }))).EnsureError(209);
        (await MeAsync(_idp.Token(oid, expires: DateTime.UtcNow.AddHours(-1)))).EnsureError(209);
        (await MeAsync("not-a-jwt")).EnsureError(209);
    }
}
