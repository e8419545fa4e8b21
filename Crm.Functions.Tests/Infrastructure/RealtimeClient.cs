using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.AspNetCore.SignalR.Client;

namespace Crm.Functions.Tests.Infrastructure;

/// <summary>
/// A dashboard as a real client would be: the .NET SignalR client pointed at the server's root with the
/// Parse session token as its access token. The client itself posts /negotiate and follows the
/// {url, accessToken} redirect to the hub, exactly as against Azure SignalR Service.
/// </summary>
public sealed class RealtimeClient : IAsyncDisposable
{
    private readonly Channel<(string Target, JsonObject Payload)> _events = Channel.CreateUnbounded<(string, JsonObject)>();

    private RealtimeClient(HubConnection connection)
    {
        Connection = connection;
        foreach (var target in new[] { "created", "updated", "deleted", "event" })
            connection.On<JsonObject>(target, payload => _events.Writer.TryWrite((target, payload)));
    }

    public HubConnection Connection { get; }

    public static async Task<RealtimeClient> ConnectAsync(CrmServer server, string sessionToken)
    {
        var connection = new HubConnectionBuilder()
            .WithUrl(server.BaseUrl, options =>
            {
                // negotiate is a Parse door: it needs the application id like every other.
                options.Headers["X-Parse-Application-Id"] = CrmServer.AppId;
                options.AccessTokenProvider = () => Task.FromResult<string?>(sessionToken);
            })
            .Build();
        await connection.StartAsync();
        // A first invocation runs after the server's OnConnectedAsync: from here on no event can be missed.
        await connection.InvokeAsync<bool>("Unsubscribe", "warm-up");
        return new RealtimeClient(connection);
    }

    /// <summary>The next event, or a failure naming what was expected.</summary>
    public async Task<(string Target, JsonObject Payload)> NextAsync(string because, int timeoutMs = 5000)
    {
        using var cts = new CancellationTokenSource(timeoutMs);
        try
        {
            return await _events.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new Xunit.Sdk.XunitException($"No real-time event within {timeoutMs} ms: expected {because}.");
        }
    }

    /// <summary>The next event with this target, skipping others (e.g. feed events while testing subscriptions).</summary>
    public async Task<JsonObject> NextAsync(string target, string because, int timeoutMs = 5000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (true)
        {
            var left = (int)(deadline - DateTime.UtcNow).TotalMilliseconds;
            if (left <= 0) throw new Xunit.Sdk.XunitException($"No '{target}' event within {timeoutMs} ms: expected {because}.");
            var (t, payload) = await NextAsync(because, left);
            if (t == target) return payload;
        }
    }

    /// <summary>Drops events received so far.</summary>
    public void Clear()
    {
        while (_events.Reader.TryRead(out _)) { }
    }

    /// <summary>Asserts that nothing arrives for a while (events that should not exist).</summary>
    public async Task ExpectNothingAsync(int waitMs = 500)
    {
        await Task.Delay(waitMs);
        if (_events.Reader.TryRead(out var unexpected))
            throw new Xunit.Sdk.XunitException($"Unexpected real-time event {unexpected.Target}: {unexpected.Payload.ToJsonString()}");
    }

    public async ValueTask DisposeAsync() => await Connection.DisposeAsync();
}
