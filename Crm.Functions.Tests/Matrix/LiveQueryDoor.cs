using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.Matrix;

/// <summary>
/// Parse LiveQuery over the WebSocket at the mount path: one socket per principal (anonymous and master included, as
/// the Parse SDKs allow), one subscription per class; a refused subscription (an error frame) simply brings no events.
/// </summary>
public sealed class LiveQueryDoor(CrmServer server) : IEventDoor
{
    public string Name => "livequery";
    public bool Serves(Principal p) => true;

    public async Task<IEventListener> ListenAsync(Principal p, IReadOnlyList<string> classNames, JsonObject where)
    {
        var socket = await LiveQuerySocket.ConnectAsync(server, p.Token, p.Master);
        return await SubscribeAsync(socket, classNames, where);
    }

    /// <summary>One subscription per class on a connected socket; a refused one (an error frame) brings no events.</summary>
    internal static async Task<IEventListener> SubscribeAsync(LiveQuerySocket socket, IReadOnlyList<string> classNames, JsonObject where)
    {
        var classOf = new Dictionary<int, string>();
        for (var i = 0; i < classNames.Count; i++)
        {
            await socket.SendAsync(LiveQuerySocket.Subscribe(i + 1, classNames[i], where.DeepClone().AsObject()));
            var answer = await socket.NextAsync();
            var op = answer["op"]!.GetValue<string>();
            if (op == "subscribed") classOf[i + 1] = classNames[i];
            else if (op != "error" || answer["code"] is null) throw new Xunit.Sdk.XunitException($"livequery: unexpected answer {answer.ToJsonString()}");
        }
        return new Listener(socket, classOf);
    }

    private sealed class Listener(LiveQuerySocket socket, Dictionary<int, string> classOf) : IEventListener
    {
        public async Task<IReadOnlyList<MatrixEvent>> UntilAsync(string sentinelId)
        {
            var events = new List<MatrixEvent>();
            while (true)
            {
                var frame = await socket.NextAsync();
                if (frame["op"]!.GetValue<string>() == "error") throw new Xunit.Sdk.XunitException($"livequery: {frame.ToJsonString()}");
                var obj = frame["object"]!.AsObject();
                var className = classOf[frame["requestId"]!.GetValue<int>()];
                Assert.Equal(className, obj["className"]!.GetValue<string>());
                var e = new MatrixEvent(frame["op"]!.GetValue<string>(), className, obj["objectId"]!.GetValue<string>(), obj);
                if (e.ClassName == MatrixFixture.SentinelClass && e.ObjectId == sentinelId) return events;
                events.Add(e);
            }
        }

        public ValueTask DisposeAsync() => socket.DisposeAsync();
    }
}
