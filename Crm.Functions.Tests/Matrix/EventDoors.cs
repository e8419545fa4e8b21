using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace Crm.Functions.Tests.Matrix;

/// <summary>
/// The events one hub connection (/negotiate, then the app's hub) receives that belong to one door: the dashboard
/// feed's targets, or the "event" target of this listener's own subscriptions.
/// </summary>
public sealed class HubListener(RealtimeClient live, Func<string, JsonObject, bool> belongs, Func<Task>? cleanup = null) : IEventListener
{
    public async Task<IReadOnlyList<MatrixEvent>> UntilAsync(string sentinelId)
    {
        var events = new List<MatrixEvent>();
        while (true)
        {
            var (target, payload) = await live.NextAsync("the sentinel's event, written after every other", 15_000);
            if (!belongs(target, payload)) continue;
            var e = new MatrixEvent(payload["op"]!.GetValue<string>(), payload["className"]!.GetValue<string>(),
                payload["objectId"]!.GetValue<string>(), payload["object"] as JsonObject);
            if (e.ClassName == MatrixFixture.SentinelClass && e.ObjectId == sentinelId) return events;
            events.Add(e);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (cleanup is not null) await cleanup();
        await live.DisposeAsync();
    }
}

/// <summary>The dashboard feed: every change of a feed class, to every connected user who may read it.</summary>
public sealed class SignalRFeedDoor(CrmServer server) : IEventDoor
{
    public string Name => "signalr feed";
    public bool Serves(Principal p) => p.Token is not null;

    public async Task<IEventListener> ListenAsync(Principal p, IReadOnlyList<string> classNames, JsonObject where)
    {
        var live = await RealtimeClient.ConnectAsync(server, p.Token!);
        return new HubListener(live, (target, payload) => target is "created" or "updated" or "deleted"
            && classNames.Contains(payload["className"]?.GetValue<string>() ?? ""));
    }
}

/// <summary>Subscriptions made with the hub method Subscribe(className, where); events arrive on target "event".</summary>
public sealed class HubSubscriptionDoor(CrmServer server) : IEventDoor
{
    public string Name => "signalr subscription";
    public bool Serves(Principal p) => p.Token is not null;

    public async Task<IEventListener> ListenAsync(Principal p, IReadOnlyList<string> classNames, JsonObject where)
    {
        var live = await RealtimeClient.ConnectAsync(server, p.Token!);
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var className in classNames)
        {
            try
            {
                ids.Add(await live.Connection.InvokeAsync<string>("Subscribe", className, where.ToJsonString()));
            }
            catch (HubException e) when (e.Message.Contains("\"code\":", StringComparison.Ordinal))
            {
                // A refused subscription (e.g. the CLP denies find) is a Parse error and simply brings no events.
            }
        }
        return new HubListener(live, (target, payload) => target == "event" && ids.Contains(payload["subscriptionId"]?.GetValue<string>() ?? ""));
    }
}

/// <summary>Subscriptions made over HTTP (/realtime/subscriptions), delivered to the user's hub connection on target "event".</summary>
public sealed class HttpSubscriptionDoor(CrmServer server) : IEventDoor
{
    public string Name => "http subscription";
    public bool Serves(Principal p) => p.Token is not null;

    public async Task<IEventListener> ListenAsync(Principal p, IReadOnlyList<string> classNames, JsonObject where)
    {
        var live = await RealtimeClient.ConnectAsync(server, p.Token!);
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var className in classNames)
        {
            var (status, json) = await CallAsync(p, HttpMethod.Post, "", new JsonObject { ["className"] = className, ["where"] = where.DeepClone() });
            if (status == HttpStatusCode.Created) ids.Add(json!["subscriptionId"]!.GetValue<string>());
            else MatrixDoors.EnsureParseRefusal(Name, status, json, json?.ToJsonString() ?? "");
        }
        // Stored subscriptions outlive the connection: remove them so later tests of this server do not carry them.
        return new HubListener(live, (target, payload) => target == "event" && ids.Contains(payload["subscriptionId"]?.GetValue<string>() ?? ""),
            async () =>
            {
                foreach (var id in ids) await CallAsync(p, HttpMethod.Delete, "/" + id, null);
            });
    }

    private Task<(HttpStatusCode Status, JsonNode? Json)> CallAsync(Principal p, HttpMethod method, string path, JsonObject? body) =>
        HttpSubscriptions.CallAsync(server, method, path, body?.ToJsonString(), ("X-Parse-Application-Id", CrmServer.AppId), ("X-Parse-Session-Token", p.Token!));
}
