using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;
using Crm.Functions.Tests.LiveQuery;

namespace Crm.Functions.Tests.Matrix;

/// <summary>
/// Parse LiveQuery through Azure Web PubSub (the stand-in): the same frames as <see cref="LiveQueryDoor"/>, but each
/// socket is the service's and every frame and event goes through the upstream endpoint and the REST API. The master
/// key is refused there (the client's address is unknown, and the master key is restricted to Parse:MasterKeyIps).
/// </summary>
public sealed class WebPubSubDoor(WebPubSubRig rig) : IEventDoor
{
    public string Name => "livequery web pubsub";
    public bool Serves(Principal p) => !p.Master;

    public async Task<IEventListener> ListenAsync(Principal p, IReadOnlyList<string> classNames, JsonObject where)
    {
        var socket = await LiveQuerySocket.OpenAsync(rig.Service.ClientUrl);
        var connect = new JsonObject { ["op"] = "connect", ["applicationId"] = CrmServer.AppId };
        if (p.Token is not null) connect["sessionToken"] = p.Token;
        await socket.SendAsync(connect);
        var connected = await socket.NextAsync();
        Assert.True(connected["op"]?.GetValue<string>() == "connected", $"web pubsub: expected connected, got {connected.ToJsonString()}");
        return await LiveQueryDoor.SubscribeAsync(socket, classNames, where);
    }
}
