using System.Collections.Concurrent;
using System.Net;
using Crm.Functions.Http;

namespace Crm.Functions.LiveQuery;

/// <summary>
/// How frames reach one client. Sending only queues (never waits on the client): a socket that falls too far behind
/// is closed by its transport, so one slow reader cannot hold up the events of anybody else.
/// </summary>
internal interface ILiveQueryTransport
{
    /// <summary>Queues a text frame; false when the client is gone or too far behind (it is then being closed).</summary>
    bool TrySend(string frame);

    /// <summary>Closes the socket after the frames already queued (an error frame sent just before is delivered first).</summary>
    void Close(string reason);

    /// <summary>
    /// The server ended one of the connection's subscriptions on its own (its filter failed on delivery): a transport
    /// that keeps subscriptions outside this process (Web PubSub's, in the store) forgets it there too.
    /// </summary>
    void Ended(LiveSubscription subscription)
    {
    }
}

/// <summary>
/// Whom a subscription reads as: the master key, nobody (anonymous), or a user — with the session it came with,
/// so that the subscription ends with that session.
/// </summary>
internal sealed record LiveCaller(bool IsMaster, string? UserId, string? SessionId, DateTimeOffset? Until)
{
    public static readonly LiveCaller Anonymous = new(false, null, null, null);
    public static readonly LiveCaller Master = new(true, null, null, null);

    /// <summary>Groups the subscriptions that are decided with the same caller.</summary>
    public string Key => IsMaster ? "master" : UserId ?? "anonymous";
}

/// <summary>One subscription of a socket: its client-chosen request id, its query as sent, and whom it reads as.</summary>
/// <param name="Id">Unique on this instance (a requestId is unique only per socket, and reused by "update").</param>
internal sealed record LiveSubscription(
    string Id, long RequestId, string ClassName, string? WhereJson, IReadOnlyList<string>? Keys, IReadOnlyList<string>? Watch, LiveCaller Caller);

/// <summary>One LiveQuery socket: its transport, address, what its <c>connect</c> established, and its subscriptions.</summary>
internal sealed class LiveQueryConnection(string id, ILiveQueryTransport transport, IPAddress? remoteIp)
{
    public string Id { get; } = id;
    public ILiveQueryTransport Transport { get; } = transport;
    public IPAddress? RemoteIp { get; } = remoteIp;

    /// <summary>Set by <c>connect</c>; null until then.</summary>
    public string? ClientId { get; set; }
    public string? InstallationId { get; set; }

    /// <summary>The keys the socket connected with: a subscription's own session token is checked with the same keys.</summary>
    public Credentials Credentials { get; set; }

    /// <summary>The caller of the socket (its connect session token), used by subscriptions without their own.</summary>
    public LiveCaller Caller { get; set; } = LiveCaller.Anonymous;

    public ConcurrentDictionary<long, LiveSubscription> Subscriptions { get; } = new();

    public bool IsConnected => ClientId is not null;
}
