using Crm.Functions.Core;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Crm.Functions.Realtime;
using Crm.Functions.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Options;

namespace Crm.Functions.Tests.Realtime;

/// <summary>POST /negotiate ({url, accessToken}) and the hub's refusal of tokens it did not issue.</summary>
public sealed class NegotiateTests
{
    private static async Task<(HttpStatusCode Status, JsonNode? Json)> NegotiateAsync(CrmServer server, IDictionary<string, string> headers)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, server.BaseUrl + "/negotiate");
        // The application id is sent unless a test names it; an empty value leaves it out.
        if (!headers.ContainsKey("X-Parse-Application-Id")) request.Headers.Add("X-Parse-Application-Id", CrmServer.AppId);
        foreach (var (k, v) in headers)
            if (v.Length > 0) request.Headers.TryAddWithoutValidation(k, v);
        request.Content = new StringContent("", Encoding.UTF8, "text/plain");
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    [Fact]
    public async Task negotiate_refuses_callers_without_a_user_like_rest_and_returns_url_and_token_for_a_session()
    {
        using var server = new CrmServer();
        var (_, _, token) = await server.UserAsync("alice");

        // No user (no credentials, or the master key only) and an unknown session are REST's 400 / 209.
        var (status, json) = await NegotiateAsync(server, new Dictionary<string, string>());
        Assert.Equal((HttpStatusCode.BadRequest, 209), (status, json!["code"]!.GetValue<int>()));

        (status, json) = await NegotiateAsync(server, new Dictionary<string, string> { ["X-Parse-Session-Token"] = "r:not-a-session" });
        Assert.Equal((HttpStatusCode.BadRequest, 209), (status, json!["code"]!.GetValue<int>()));

        (status, json) = await NegotiateAsync(server, new Dictionary<string, string> { ["X-Parse-Master-Key"] = CrmServer.MasterKey });
        Assert.Equal((HttpStatusCode.BadRequest, 209), (status, json!["code"]!.GetValue<int>()));

        // A wrong or missing application id is REST's 403 / 119, even with a valid session.
        (status, json) = await NegotiateAsync(server, new Dictionary<string, string> { ["X-Parse-Session-Token"] = token, ["X-Parse-Application-Id"] = "other" });
        Assert.Equal((HttpStatusCode.Forbidden, 119), (status, json!["code"]!.GetValue<int>()));
        (status, json) = await NegotiateAsync(server, new Dictionary<string, string> { ["X-Parse-Session-Token"] = token, ["X-Parse-Application-Id"] = "" });
        Assert.Equal((HttpStatusCode.Forbidden, 119), (status, json!["code"]!.GetValue<int>()));

        foreach (var headers in new[]
                 {
                     new Dictionary<string, string> { ["X-Parse-Session-Token"] = token, ["X-Parse-Application-Id"] = CrmServer.AppId },
                     new Dictionary<string, string> { ["Authorization"] = "Bearer " + token },
                 })
        {
            (status, json) = await NegotiateAsync(server, headers);
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal(server.BaseUrl + "/hubs/crm", json!["url"]!.GetValue<string>());
            Assert.False(string.IsNullOrEmpty(json["accessToken"]!.GetValue<string>()));
        }
    }

    [Fact]
    public async Task the_hub_accepts_its_own_tokens_and_refuses_forged_expired_and_missing_ones()
    {
        using var server = new CrmServer();
        var (_, userId, token) = await server.UserAsync("alice");
        var (_, json) = await NegotiateAsync(server, new Dictionary<string, string> { ["X-Parse-Session-Token"] = token });
        var url = json!["url"]!.GetValue<string>();

        async Task<HubConnection> Connect(string? accessToken)
        {
            var connection = new HubConnectionBuilder()
                .WithUrl(url, o => o.AccessTokenProvider = () => Task.FromResult(accessToken))
                .Build();
            await connection.StartAsync();
            return connection;
        }

        await using (var ok = await Connect(json["accessToken"]!.GetValue<string>()))
            Assert.Equal(HubConnectionState.Connected, ok.State);

        var forger = new HubTokens(Options.Create(new ParseSettings { MasterKey = "someone-elses-master-key" }), TimeProvider.System);
        var expired = new HubTokens(Options.Create(new ParseSettings { MasterKey = CrmServer.MasterKey }), new HourAgo()).Issue(userId, TimeSpan.FromMinutes(15));
        foreach (var bad in new[] { forger.Issue(userId, TimeSpan.FromMinutes(5)), expired, token, "not.a.jwt", null })
        {
            // The answer every door gives a bad token: 400 (code 209).
            var e = await Assert.ThrowsAsync<HttpRequestException>(() => Connect(bad));
            Assert.Equal(HttpStatusCode.BadRequest, e.StatusCode);
        }
    }
}

/// <summary>A clock one hour behind: tokens it issues for 15 minutes are long expired.</summary>
internal sealed class HourAgo : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => DateTimeOffset.UtcNow.AddHours(-1);
}
