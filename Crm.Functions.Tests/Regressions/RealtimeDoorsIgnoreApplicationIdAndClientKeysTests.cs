using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.Regressions;

/// <summary>
/// The real-time doors read the Parse headers themselves: the application id was optional and client keys were never
/// checked, so a caller REST refuses with 403 got a hub token from /negotiate and subscriptions over HTTP.
/// </summary>
public sealed class RealtimeDoorsIgnoreApplicationIdAndClientKeysTests
{
    [Theory]
    [InlineData("/negotiate", "")]
    [InlineData("/realtime/subscriptions", """{"className":"_User"}""")]
    public async Task a_session_without_the_application_id_or_with_a_wrong_client_key_is_refused_403_119(string path, string body)
    {
        using var server = new CrmServer(TestSettings.Fast(("Parse:RestApiKey", "realtime-client-key")));
        using var client = server.Client();
        client.Http.DefaultRequestHeaders.Add("X-Parse-REST-API-Key", "realtime-client-key");
        var (_, token) = await client.SignUpAsync(Wire.Unique("rt"));

        var withoutAppId = await PostAsync(server, path, body, ("X-Parse-REST-API-Key", "realtime-client-key"), ("X-Parse-Session-Token", token));
        var wrongClientKey = await PostAsync(server, path, body, ("X-Parse-Application-Id", CrmServer.AppId), ("X-Parse-REST-API-Key", "wrong"), ("X-Parse-Session-Token", token));

        Assert.Equal((HttpStatusCode.Forbidden, 119), withoutAppId);
        Assert.Equal((HttpStatusCode.Forbidden, 119), wrongClientKey);
    }

    private static async Task<(HttpStatusCode, int?)> PostAsync(CrmServer server, string path, string body, params (string Name, string Value)[] headers)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, server.BaseUrl + path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        foreach (var (name, value) in headers) request.Headers.Add(name, value);
        using var response = await http.SendAsync(request);
        var json = JsonNode.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, json?["code"]?.GetValue<int>());
    }
}
