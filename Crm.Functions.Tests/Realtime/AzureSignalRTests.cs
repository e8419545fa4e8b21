using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using static Crm.Functions.Tests.Realtime.RealtimeFixtures;

namespace Crm.Functions.Tests.Realtime;

/// <summary>
/// The Azure SignalR Service path against a local fake of its REST API: client tokens from /negotiate and
/// pushes to POST /api/v1/hubs/{hub}/users/{userId}, each JWT validated with the access key.
/// </summary>
public sealed class AzureSignalRTests
{
    private const string AccessKey = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq=";

    private sealed record Recorded(string Url, string? Authorization, string Body);

    /// <summary>A fake Azure SignalR REST endpoint that records every request and answers 202.</summary>
    private sealed class FakeService : IDisposable
    {
        private readonly HttpListener _listener = new();

        public FakeService()
        {
            using var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            var port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            Endpoint = $"http://127.0.0.1:{port}";
            _listener.Prefixes.Add(Endpoint + "/");
            _listener.Start();
            _ = Task.Run(LoopAsync);
        }

        public string Endpoint { get; }
        public BlockingCollection<Recorded> Requests { get; } = [];

        private async Task LoopAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try { context = await _listener.GetContextAsync(); }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException) { return; }
                using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
                Requests.Add(new Recorded(context.Request.Url!.GetLeftPart(UriPartial.Path), context.Request.Headers["Authorization"], await reader.ReadToEndAsync()));
                context.Response.StatusCode = 202;
                context.Response.Close();
            }
        }

        public void Dispose() => _listener.Close();
    }

    private static async Task<JsonWebToken> ValidAsync(string token, string audience)
    {
        var result = await new JsonWebTokenHandler().ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidateIssuer = false,
            ValidAudience = audience,
            IssuerSigningKey = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(AccessKey)),
            ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
        });
        Assert.True(result.IsValid, result.Exception?.Message);
        return (JsonWebToken)result.SecurityToken;
    }

    [Fact]
    public async Task Negotiate_issues_service_tokens_and_writes_are_pushed_through_the_rest_api_signed_with_the_access_key()
    {
        using var fake = new FakeService();
        using var server = new CrmServer(new Dictionary<string, string?>
        {
            ["Azure:SignalR:ConnectionString"] = $"Endpoint={fake.Endpoint};AccessKey={AccessKey};Version=1.0;",
            ["Realtime:PushFromWrites"] = "true",
        });
        await CreateDealClassAsync(server);
        var (a, aId, aToken) = await UserAsync(server, "alice");
        var (_, bId, _) = await UserAsync(server, "bob");

        using var http = new HttpClient();
        using var negotiate = new HttpRequestMessage(HttpMethod.Post, server.BaseUrl + "/negotiate");
        negotiate.Headers.Add("X-Parse-Session-Token", aToken);
        using var response = await http.SendAsync(negotiate);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        var clientUrl = json["url"]!.GetValue<string>();
        Assert.Equal($"{fake.Endpoint}/client/?hub=crm", clientUrl);
        var clientToken = await ValidAsync(json["accessToken"]!.GetValue<string>(), clientUrl);
        Assert.Equal(aId, clientToken.GetClaim("nameid").Value);
        Assert.True(clientToken.ValidTo > DateTime.UtcNow);

        await CreateDealAsync(a, new JsonObject { ["title"] = "Wayne", ["ACL"] = Acl((aId, true)) });
        Assert.True(fake.Requests.TryTake(out var push, TimeSpan.FromSeconds(5)), "no push reached the fake service");
        var expectedUrl = $"{fake.Endpoint}/api/v1/hubs/crm/users/{aId}";
        Assert.Equal(expectedUrl, push.Url);
        Assert.StartsWith("Bearer ", push.Authorization, StringComparison.Ordinal);
        await ValidAsync(push.Authorization![7..], expectedUrl);
        var body = JsonNode.Parse(push.Body)!;
        Assert.Equal("created", body["target"]!.GetValue<string>());
        Assert.Equal("Wayne", body["arguments"]![0]!["object"]!["title"]!.GetValue<string>());
        // Bob cannot read the deal: no request was made for him.
        Assert.False(fake.Requests.TryTake(out var extra, TimeSpan.FromMilliseconds(500)), $"unexpected push to {extra?.Url} (bob is {bId})");
    }
}
