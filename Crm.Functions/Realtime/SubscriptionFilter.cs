using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Crm.Functions.Core;
using Crm.Functions.Core.Json;
using Crm.Functions.Core.Query;
using Crm.Functions.Core.Schema;
using Crm.Functions.Core.Security;
using Microsoft.Extensions.Options;

namespace Crm.Functions.Realtime;

/// <summary>
/// The one validation of a subscription's class and where, for both doors (hub method and HTTP) and for
/// every delivery of a stored subscription (re-parsed with the subscriber's current roles). Refused like a
/// REST find by the same user would be (class missing or internal, CLP find denied, protected field in the
/// filter: 119), so a subscription can neither probe hidden fields nor outlive a "no" the REST door gives.
/// </summary>
internal sealed class SubscriptionFilter(SchemaService schemas, IOptions<ParseSettings> parse, IOptions<RealtimeSettings> realtime)
{
    private static readonly JsonDocumentOptions JsonLimits = new() { MaxDepth = 64 };
    private readonly WhereParser _parser = new(parse.Value.Limits);
    private readonly ConcurrentDictionary<string, Parsed> _parsed = new(StringComparer.Ordinal);

    /// <summary>A stored subscription's filter as parsed for one caller under one schema version, or why it was refused.</summary>
    private sealed record Parsed(string? Where, long SchemaVersion, string Caller, QueryNode? Filter, ParseException? Refusal);

    /// <summary>Refuses a where larger than <see cref="RealtimeSettings.MaxWhereBytes"/> (116): every change of its class evaluates it.</summary>
    public void EnsureSize(string? whereJson)
    {
        var max = realtime.Value.MaxWhereBytes;
        if (whereJson is not null && (whereJson.Length > max || Encoding.UTF8.GetByteCount(whereJson) > max))
            throw new ParseException(ParseError.ObjectTooLarge, $"A subscription's where may have at most {max} bytes (Realtime:MaxWhereBytes).", 413);
    }

    /// <summary>
    /// The filter of stored subscription <paramref name="id"/> for this caller, parsed once and reused while its where,
    /// the schema and the caller's roles stay the same (deliveries used to parse every where on every change).
    /// Throws the refusal a REST find would get, as <see cref="Parse"/>.
    /// </summary>
    public QueryNode Cached(string id, Auth auth, string className, string? whereJson)
    {
        var version = schemas.Version;
        var caller = auth.UserId + "|" + string.Join(',', auth.Roles.Order(StringComparer.Ordinal));
        if (!_parsed.TryGetValue(id, out var parsed) || parsed.SchemaVersion != version || parsed.Caller != caller
            || !string.Equals(parsed.Where, whereJson, StringComparison.Ordinal))
        {
            try
            {
                parsed = new Parsed(whereJson, version, caller, Parse(auth, className, whereJson is null ? null : JsonNode.Parse(whereJson, null, JsonLimits)), null);
            }
            catch (ParseException e)
            {
                parsed = new Parsed(whereJson, version, caller, null, e);
            }
            if (_parsed.Count >= 100_000) _parsed.Clear();
            _parsed[id] = parsed;
        }
        return parsed.Filter ?? throw parsed.Refusal!;
    }

    public void Forget(string id) => _parsed.TryRemove(id, out _);

    /// <summary>A where given as JSON text (the hub method's argument); null or blank = everything.</summary>
    public static JsonNode? ParseText(string? whereJson)
    {
        try
        {
            return string.IsNullOrWhiteSpace(whereJson) ? null : JsonNode.Parse(whereJson, null, JsonLimits);
        }
        catch (JsonException)
        {
            throw new ParseException(ParseError.InvalidJson, "where must be a JSON object");
        }
    }

    /// <summary>The filter for this user, or a <see cref="ParseException"/> with the code a REST find would get.</summary>
    public QueryNode Parse(Auth auth, string className, JsonNode? where)
    {
        if (!Names.IsValidClass(className))
            throw new ParseException(ParseError.InvalidClassName, $"Invalid class name: {Names.Truncate(className)}");
        if (schemas.Get(className) is not { } schema)
            throw new ParseException(ParseError.OperationForbidden, $"This user is not allowed to access non-existent class: {Names.Truncate(className)}");
        AccessPolicy.ReadRestriction(auth, schema, AccessPolicy.Find);
        var filter = _parser.Parse(where, schema, new Scope(auth, schemas));
        // Sub-queries, relation constraints and full-text search (its index lives in the store) would need the store on every event (and their results
        // change without this object changing): refused rather than silently approximated.
        if (QueryMatcher.NeedsStore(filter))
            throw new ParseException(ParseError.InvalidQuery, "$inQuery, $notInQuery, $select, $dontSelect, $relatedTo, $text and relation constraints are not supported in subscriptions.");
        return filter;
    }

    private sealed class Scope(Auth auth, SchemaService schemas) : IQueryScope
    {
        public bool IsMaster => auth.IsMaster;
        public ClassSchema? Schema(string className) => schemas.Get(className);
        public QueryNode SubqueryRestriction(ClassSchema schema) => AccessPolicy.ReadRestriction(auth, schema, AccessPolicy.Find);
        public void EnsureQueryable(ClassSchema schema, string field) => AccessPolicy.EnsureQueryable(auth, schema, field);
    }
}
