using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;
using static Crm.Functions.Tests.Realtime.RealtimeFixtures;

namespace Crm.Functions.Tests.Regressions;

/// <summary>
/// POST /realtime/subscriptions checked only Content-Length: a chunked body of any size was read and its where
/// stored, and every such where was evaluated on every change of its class.
/// </summary>
public sealed class SubscriptionChunkedBodyTests
{
    /// <summary>A body sent chunked: no Content-Length announces its size.</summary>
    private sealed class ChunkedContent(byte[] bytes) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => stream.WriteAsync(bytes).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = -1;
            return false;
        }
    }

    private static string BigWhere(int titleLength) =>
        new JsonObject { ["className"] = "Deal", ["where"] = new JsonObject { ["title"] = new string('x', titleLength) } }.ToJsonString();

    [Fact]
    public async Task a_chunked_subscription_body_over_the_limit_is_refused_with_a_parse_error_and_not_stored()
    {
        using var server = new CrmServer();
        await CreateDealClassAsync(server);
        var (_, _, token) = await server.UserAsync("alice");

        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, server.BaseUrl + "/realtime/subscriptions");
        request.Headers.Add("X-Parse-Application-Id", CrmServer.AppId);
        request.Headers.Add("X-Parse-Session-Token", token);
        request.Content = new ChunkedContent(Encoding.UTF8.GetBytes(BigWhere(200_000)));
        request.Content.Headers.ContentType = new("application/json");
        using var response = await http.SendAsync(request);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync());

        Assert.Null(request.Content.Headers.ContentLength);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal(116, body!["code"]!.GetValue<int>());
        var (status, list) = await HttpSubscriptions.CallAsync(server, HttpMethod.Get, "", null, ("X-Parse-Session-Token", token));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Empty(list!["results"]!.AsArray());
    }

    [Fact]
    public async Task a_where_larger_than_realtime_max_where_bytes_is_refused_on_both_doors()
    {
        using var server = new CrmServer(new Dictionary<string, string?> { ["Realtime:MaxWhereBytes"] = "1024" });
        await CreateDealClassAsync(server);
        var (_, _, token) = await server.UserAsync("alice");

        var (status, json) = await HttpSubscriptions.CallAsync(server, HttpMethod.Post, "", BigWhere(2000), ("X-Parse-Session-Token", token));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Equal(116, json!["code"]!.GetValue<int>());
        (status, json) = await HttpSubscriptions.CallAsync(server, HttpMethod.Post, "", BigWhere(500), ("X-Parse-Session-Token", token));
        Assert.Equal(HttpStatusCode.Created, status);

        await using var live = await RealtimeClient.ConnectAsync(server, token);
        var refusal = await Assert.ThrowsAsync<Microsoft.AspNetCore.SignalR.HubException>(() =>
            live.Connection.InvokeAsync<string>("Subscribe", "Deal", new JsonObject { ["title"] = new string('x', 2000) }.ToJsonString()));
        Assert.Contains("\"code\":116", refusal.Message);
    }
}
