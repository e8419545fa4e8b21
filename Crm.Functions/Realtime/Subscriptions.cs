using System.Collections.Concurrent;
using Crm.Functions.Core;
using Crm.Functions.Core.Json;
using Crm.Functions.Core.Query;
using Crm.Functions.Core.Security;
using Microsoft.Extensions.Options;

namespace Crm.Functions.Realtime;

/// <summary>A subscription of one connection: a class and a where filter already parsed for its user.</summary>
internal sealed record Subscription(string Id, string ClassName, QueryNode Filter);

/// <summary>
/// The hub's connections (user and hub-method subscriptions). These subscriptions live as long as the
/// connection, like LiveQuery's, and exist only on the app's own hub; the HTTP door's are in <see cref="SubscriptionStore"/>.
/// </summary>
internal sealed class Subscriptions(SubscriptionFilter filters, IOptions<RealtimeSettings> realtime)
{
    private readonly ConcurrentDictionary<string, Connection> _connections = new(StringComparer.Ordinal);
    private readonly Lock _connecting = new();

    /// <summary>
    /// An open connection: its user, the session it was opened with (null for an Entra caller), when it must end
    /// at the latest (the session's or the Entra token's expiry) and how to close it.
    /// </summary>
    internal sealed class Connection(string userId, string? sessionId, DateTimeOffset? until, Action abort)
    {
        public string UserId { get; } = userId;
        public string? SessionId { get; } = sessionId;
        public DateTimeOffset? Until { get; } = until;
        public Action Abort { get; } = abort;
        public ConcurrentDictionary<string, Subscription> Items { get; } = new(StringComparer.Ordinal);
    }

    /// <summary>Registers a connection; false when its user already has <see cref="RealtimeSettings.MaxConnectionsPerUser"/>.</summary>
    public bool TryConnect(string connectionId, Connection connection)
    {
        lock (_connecting)
        {
            if (ConnectionCount(connection.UserId) >= realtime.Value.MaxConnectionsPerUser) return false;
            _connections[connectionId] = connection;
            RealtimeMetrics.Connected();
            return true;
        }
    }

    public int ConnectionCount(string userId) => _connections.Values.Count(c => c.UserId == userId);

    public void Disconnected(string connectionId)
    {
        if (_connections.TryRemove(connectionId, out var connection)) RealtimeMetrics.Disconnected(connection.Items.Count);
    }

    /// <summary>The open connections (for the session checks).</summary>
    public IEnumerable<Connection> Connections => _connections.Values;

    /// <summary>Closes every connection opened with this session; its hub-method subscriptions end with them.</summary>
    public void CloseSession(string sessionId)
    {
        foreach (var connection in _connections.Values.Where(c => c.SessionId == sessionId)) connection.Abort();
    }

    /// <summary>Users with at least one open connection: the candidate readers on the local hub.</summary>
    public IEnumerable<string> ConnectedUsers => _connections.Values.Select(c => c.UserId).Distinct(StringComparer.Ordinal);

    public IEnumerable<(string ConnectionId, string UserId, Subscription Subscription)> For(string className) =>
        from c in _connections
        from s in c.Value.Items.Values
        where s.ClassName == className
        select (c.Key, c.Value.UserId, s);

    /// <summary>Validates (<see cref="SubscriptionFilter"/>) and keeps a subscription of this connection.</summary>
    public Subscription Add(string connectionId, Auth auth, string className, string? whereJson)
    {
        if (!_connections.TryGetValue(connectionId, out var connection))
            throw new ParseException(ParseError.InvalidSessionToken, "The connection is not registered.");
        filters.EnsureSize(whereJson);
        var filter = filters.Parse(auth, className, SubscriptionFilter.ParseText(whereJson));
        if (connection.Items.Count >= realtime.Value.MaxSubscriptionsPerConnection)
            throw new ParseException(ParseError.InvalidQuery, $"At most {realtime.Value.MaxSubscriptionsPerConnection} subscriptions per connection.");
        var subscription = new Subscription(ObjectIds.New(), className, filter);
        connection.Items[subscription.Id] = subscription;
        RealtimeMetrics.Subscribed();
        return subscription;
    }

    public bool Remove(string connectionId, string subscriptionId)
    {
        if (!_connections.TryGetValue(connectionId, out var c) || !c.Items.TryRemove(subscriptionId, out _)) return false;
        RealtimeMetrics.Unsubscribed();
        return true;
    }
}
