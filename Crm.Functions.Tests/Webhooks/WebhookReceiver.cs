using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Crm.Functions.Tests.Webhooks;

/// <summary>One request a receiver got: its path, raw body, signature headers and when it arrived.</summary>
public sealed record ReceivedRequest(string Path, string Body, string? Signature, string? Timestamp, DateTimeOffset At)
{
    public JsonObject Json => JsonNode.Parse(Body)!.AsObject();

    /// <summary>Verifies the signature as a receiver would: HMAC-SHA256 (hex) of timestamp + "." + raw body, with the hook's secret.</summary>
    public bool Verifies(string secret) =>
        Signature is not null && Timestamp is not null
        && CryptographicOperations.FixedTimeEquals(
            Encoding.ASCII.GetBytes(Signature),
            Encoding.ASCII.GetBytes(Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(Timestamp + "." + Body)))));
}

/// <summary>
/// A real HTTP server on loopback receiving webhooks (Kestrel, plain http on a free port). Every request is recorded; the
/// answer is decided by <see cref="Respond"/> (default: 200 with an empty object), which may also delay it.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReceivedRequest> _received = new();

    /// <summary>Answers a request: status and body (JSON), given the request and how many came before it on its path.</summary>
    public Func<ReceivedRequest, int, Task<(int Status, string Body, string? Location)>> Respond { get; set; } =
        (_, _) => Task.FromResult((200, "{}", (string?)null));

    public WebhookReceiver()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        _app = builder.Build();
        var counts = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        _app.Run(async context =>
        {
            using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
            var body = await reader.ReadToEndAsync();
            var request = new ReceivedRequest(context.Request.Path.Value ?? "", body,
                context.Request.Headers["X-Crm-Webhook-Signature"].ToString() is { Length: > 0 } s ? s : null,
                context.Request.Headers["X-Crm-Webhook-Timestamp"].ToString() is { Length: > 0 } t ? t : null,
                DateTimeOffset.UtcNow);
            var before = counts.AddOrUpdate(request.Path, 1, (_, n) => n + 1) - 1;
            _received.Enqueue(request);
            var (status, answer, location) = await Respond(request, before);
            context.Response.StatusCode = status;
            if (location is not null) context.Response.Headers.Location = location;
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(answer);
        });
        _app.StartAsync().GetAwaiter().GetResult();
        var address = _app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Port = new Uri(address).Port;
    }

    public int Port { get; }

    public string Url(string path) => $"http://127.0.0.1:{Port}{path}";

    public IReadOnlyList<ReceivedRequest> Received => [.. _received];

    public IReadOnlyList<ReceivedRequest> On(string path) => [.. _received.Where(r => r.Path == path)];

    /// <summary>Waits (bounded) until <paramref name="done"/> holds for what was received; fails the test with what arrived otherwise.</summary>
    public async Task<IReadOnlyList<ReceivedRequest>> WaitForAsync(Func<IReadOnlyList<ReceivedRequest>, bool> done, TimeSpan? bound = null)
    {
        var deadline = DateTime.UtcNow + (bound ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            var received = Received;
            if (done(received)) return received;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"The receiver did not get what was expected; it got {received.Count} requests: "
                    + string.Join(" | ", received.TakeLast(5).Select(r => r.Path + " " + r.Body[..Math.Min(200, r.Body.Length)])));
            await Task.Delay(25);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
