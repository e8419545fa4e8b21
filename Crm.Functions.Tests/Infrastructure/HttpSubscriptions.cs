using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Crm.Functions.Tests.Infrastructure;

/// <summary>Raw calls to /realtime/subscriptions, the HTTP door of real-time subscriptions.</summary>
public static class HttpSubscriptions
{
    /// <summary>One call to the subscriptions door with the given credentials header(s).</summary>
    public static async Task<(HttpStatusCode Status, JsonNode? Json)> CallAsync(CrmServer server, HttpMethod method, string path, string? body,
        params (string Name, string Value)[] headers)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(method, server.BaseUrl + "/realtime/subscriptions" + path);
        // The application id is sent unless a test names it; an empty value leaves it out.
        if (!headers.Any(h => h.Name == "X-Parse-Application-Id")) request.Headers.Add("X-Parse-Application-Id", CrmServer.AppId);
        foreach (var (name, value) in headers)
            if (value.Length > 0) request.Headers.TryAddWithoutValidation(name, value);
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    public static async Task<string> SubscribeAsync(CrmServer server, string token, string className, string? where)
    {
        var body = new JsonObject { ["className"] = className };
        if (where is not null) body["where"] = JsonNode.Parse(where);
        var (status, json) = await CallAsync(server, HttpMethod.Post, "", body.ToJsonString(), ("X-Parse-Session-Token", token));
        Assert.True(status == HttpStatusCode.Created, $"subscribe answered {(int)status}: {json?.ToJsonString()}");
        return json!["subscriptionId"]!.GetValue<string>();
    }
}
