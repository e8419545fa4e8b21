using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Crm.Functions.Core;
using Crm.Functions.Core.Json;
using Crm.Functions.Core.Query;
using Crm.Functions.Core.Schema;
using Crm.Functions.Core.Security;
using Crm.Functions.Hosting;
using Microsoft.Extensions.Options;

namespace Crm.Functions.Realtime;

/// <summary>A subscription of one connection: a class and a where filter already parsed for its user.</summary>
internal sealed record Subscription(string Id, string ClassName, QueryNode Filter);

/// <summary>The hub's connections (user and subscriptions); they live as long as the connection, like LiveQuery's.</summary>
internal sealed class Subscriptions(SchemaService schemas, IOptions<ParseSettings> parse, IOptions<RealtimeSettings> realtime)
{
    private static readonly JsonDocumentOptions JsonLimits = new() { MaxDepth = 64 };
    private readonly WhereParser _parser = new(parse.Value.Limits);
    private readonly ConcurrentDictionary<string, Connection> _connections = new(StringComparer.Ordinal);

    internal sealed class Connection(string userId)
    {
        public string UserId { get; } = userId;
        public ConcurrentDictionary<string, Subscription> Items { get; } = new(StringComparer.Ordinal);
    }

    public void Connected(string connectionId, string userId) => _connections[connectionId] = new Connection(userId);

    public void Disconnected(string connectionId) => _connections.TryRemove(connectionId, out _);

    /// <summary>Users with at least one open connection: the candidate readers on the local hub.</summary>
    public IEnumerable<string> ConnectedUsers => _connections.Values.Select(c => c.UserId).Distinct(StringComparer.Ordinal);

    public IEnumerable<(string ConnectionId, string UserId, Subscription Subscription)> For(string className) =>
        from c in _connections
        from s in c.Value.Items.Values
        where s.ClassName == className
        select (c.Key, c.Value.UserId, s);

    /// <summary>
    /// Validates and stores a subscription. Refused like a REST find by the same user would be (class
    /// missing or internal, CLP find denied, protected field in the filter: 119), so a subscription can
    /// neither probe hidden fields nor outlive a "no" the REST door gives.
    /// </summary>
    public Subscription Add(string connectionId, Auth auth, ClassSchema? schema, string className, string? whereJson)
    {
        if (!_connections.TryGetValue(connectionId, out var connection))
            throw new ParseException(ParseError.InvalidSessionToken, "The connection is not registered.");
        if (!Names.IsValidClass(className))
            throw new ParseException(ParseError.InvalidClassName, $"Invalid class name: {Names.Truncate(className)}");
        if (schema is null)
            throw new ParseException(ParseError.OperationForbidden, $"This user is not allowed to access non-existent class: {Names.Truncate(className)}");
        AccessPolicy.ReadRestriction(auth, schema, AccessPolicy.Find);
        if (connection.Items.Count >= realtime.Value.MaxSubscriptionsPerConnection)
            throw new ParseException(ParseError.InvalidQuery, $"At most {realtime.Value.MaxSubscriptionsPerConnection} subscriptions per connection.");

        JsonNode? where;
        try
        {
            where = string.IsNullOrWhiteSpace(whereJson) ? null : JsonNode.Parse(whereJson, null, JsonLimits);
        }
        catch (JsonException)
        {
            throw new ParseException(ParseError.InvalidJson, "where must be a JSON object");
        }
        var filter = _parser.Parse(where, schema, new Scope(auth, schemas));
        // Sub-queries and relation constraints would need the store on every event (and their results
        // change without this object changing): refused rather than silently approximated.
        if (QueryMatcher.NeedsStore(filter))
            throw new ParseException(ParseError.InvalidQuery, "$inQuery, $notInQuery, $select, $dontSelect, $relatedTo and relation constraints are not supported in subscriptions.");

        var subscription = new Subscription(ObjectIds.New(), className, filter);
        connection.Items[subscription.Id] = subscription;
        return subscription;
    }

    public bool Remove(string connectionId, string subscriptionId) =>
        _connections.TryGetValue(connectionId, out var c) && c.Items.TryRemove(subscriptionId, out _);

    private sealed class Scope(Auth auth, SchemaService schemas) : IQueryScope
    {
        public bool IsMaster => auth.IsMaster;
        public ClassSchema? Schema(string className) => schemas.Get(className);
        public QueryNode SubqueryRestriction(ClassSchema schema) => AccessPolicy.ReadRestriction(auth, schema, AccessPolicy.Find);
        public void EnsureQueryable(ClassSchema schema, string field) => AccessPolicy.EnsureQueryable(auth, schema, field);
    }
}
