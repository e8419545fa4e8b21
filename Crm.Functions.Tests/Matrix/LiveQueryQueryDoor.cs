using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.Matrix;

/// <summary>
/// LiveQuery's <c>query</c> op (the JS SDK's <c>subscription.find()</c>): on one socket per principal, a subscription
/// with the where, then the current matches as a <c>result</c> frame. A read is a find by objectId. A refused
/// subscription or query (an error frame) shows nothing.
/// </summary>
public sealed class LiveQueryQueryDoor(CrmServer server) : IQueryDoor
{
    private readonly ConcurrentDictionary<string, Task<LiveQuerySocket>> _sockets = new(StringComparer.Ordinal);
    private int _requestId;

    public string Name => "livequery-query";
    public bool Serves(Principal p) => true;

    public async Task<JsonObject?> ReadAsync(Principal p, string className, string objectId) =>
        (await FindAsync(p, className, new JsonObject { ["objectId"] = objectId })).SingleOrDefault();

    public async Task<IReadOnlyList<JsonObject>> FindAsync(Principal p, string className, JsonObject where)
    {
        var socket = await _sockets.GetOrAdd(p.Name, _ => LiveQuerySocket.ConnectAsync(server, p.Token, p.Master));
        var requestId = Interlocked.Increment(ref _requestId);
        await socket.SendAsync(LiveQuerySocket.Subscribe(requestId, className, where.DeepClone().AsObject()));
        if (Refused(await socket.NextAsync(), "subscribed")) return [];
        await socket.SendTextAsync($$"""{"op":"query","requestId":{{requestId}}}""");
        var answer = await socket.NextAsync();
        await socket.SendTextAsync($$"""{"op":"unsubscribe","requestId":{{requestId}}}""");
        Refused(await socket.NextAsync(), "unsubscribed");
        if (Refused(answer, "result")) return [];
        Assert.Equal(requestId, answer["requestId"]!.GetValue<int>());
        return answer["results"]!.AsArray().Select(o => o!.AsObject()).ToList();
    }

    async Task<IReadOnlyList<JsonObject>?> IQueryDoor.FindAsync(Principal p, string className, JsonObject where) => await FindAsync(p, className, where);

    /// <summary>False for the expected op; true for a Parse error frame; anything else fails the matrix.</summary>
    private bool Refused(JsonObject frame, string expectedOp)
    {
        var op = frame["op"]?.GetValue<string>();
        if (op == expectedOp) return false;
        if (op == "error" && frame["code"] is JsonValue code && code.TryGetValue(out int _)) return true;
        throw new Xunit.Sdk.XunitException($"{Name}: expected {expectedOp} or an error frame, got {frame.ToJsonString()}");
    }
}
