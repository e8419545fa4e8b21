using System.Net.Sockets;
using System.Text;
using Crm.Functions.Tests.Infrastructure;
using Crm.Functions.Tests.Reliability;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Crm.Functions.Tests.Regressions;

/// <summary>
/// Found by the Parse Dashboard browser test failing now and then with "the server refused: POST /parse/config 400": the
/// page navigated while its config save was still uploading, the browser dropped the connection, and the handler's
/// failure to finish reading the body was logged (and counted in telemetry) as a 400 the server answered — an answer
/// nobody received, indistinguishable in the access log from a real refusal. An abandoned request is now logged as
/// abandoned (and counted as 499); a refusal's line carries its Parse error code.
/// </summary>
public sealed class AbandonedUploadLoggedAsRefusalTests
{
    [Fact]
    public async Task a_client_that_drops_its_upload_is_logged_as_abandoned_not_as_a_refusal()
    {
        var logs = new CapturingLoggerProvider();
        using var server = new CrmServer(new Dictionary<string, string?>
        {
            [$"Logging:LogLevel:{typeof(global::Crm.Functions.Http.WebEdgeMiddleware).FullName}"] = "Debug",
        }, services => services.AddSingleton<ILoggerProvider>(logs));
        var address = new Uri(server.BaseUrl);

        // Half of a declared body, then the connection is closed, as a browser does when the page navigates away.
        using (var socket = new TcpClient())
        {
            await socket.ConnectAsync(address.Host, address.Port);
            var stream = socket.GetStream();
            var part = "{\"_method\":\"PUT\",\"params\":{\"welcomeMessage\":\"Hello";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(
                $"POST /parse/config HTTP/1.1\r\nHost: {address.Authority}\r\nContent-Type: text/plain\r\nContent-Length: 200\r\n\r\n{part}"));
            await stream.FlushAsync();
            await Task.Delay(200); // the server is reading the body when the client goes away
        }

        var line = await AccessLogLineAsync(logs, "POST /parse/config");
        Assert.Contains("abandoned by the client", line, StringComparison.Ordinal);
        Assert.DoesNotContain("answered", line, StringComparison.Ordinal);

        // A real refusal still says what it was, with its Parse error code.
        using var client = server.Client();
        var refused = await client.PutAsync("config", new System.Text.Json.Nodes.JsonObject { ["params"] = new System.Text.Json.Nodes.JsonObject() });
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, refused.Status);
        var refusal = await AccessLogLineAsync(logs, "PUT /parse/config answered");
        Assert.Contains($"answered 403 (Parse error {refused.Code})", refusal, StringComparison.Ordinal);
    }

    /// <summary>The access-log line of a request, once written (the server writes it when the request ends).</summary>
    private static async Task<string> AccessLogLineAsync(CapturingLoggerProvider logs, string start)
    {
        for (var waited = 0; waited < 200; waited++)
        {
            var found = logs.Text.Split('\n').FirstOrDefault(l => l.Contains(start, StringComparison.Ordinal));
            if (found is not null) return found;
            await Task.Delay(50);
        }
        throw new Xunit.Sdk.XunitException($"no access-log line for {start}:\n{logs.Text}");
    }
}
