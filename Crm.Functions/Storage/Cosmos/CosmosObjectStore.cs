using Crm.Functions.Core.Store;
using System.Collections.Concurrent;
using System.Net;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Azure.Identity;
using Crm.Functions.Core;
using Crm.Functions.Core.Query;
using Crm.Functions.Core.Requests;
using Crm.Functions.Core.Schema;
using Crm.Functions.Core.Telemetry;
using Microsoft.Azure.Cosmos;

namespace Crm.Functions.Storage.Cosmos;

/// <summary>
/// The production store on Azure Cosmos DB for NoSQL (design: docs/cosmos.md). One container per class,
/// partitioned by <c>/ownerId</c>; schemas, relations and unique-key reservations in their own containers.
/// Cosmos has no multi-container transactions, so each logical write is ordered to fail safe: unique keys are
/// reserved before the object is written and released after, and a reservation left behind by a crash is
/// recognised as stale and taken over. Read-modify-write is optimistic (ETag If-Match, retried on 412).
/// All item I/O uses the SDK's stream API with System.Text.Json: no Newtonsoft round trip that would turn
/// ISO date strings into DateTime values or reorder numbers.
/// </summary>
internal sealed partial class CosmosObjectStore : IObjectStore
{
    public const string SchemasContainer = "crm-schemas";
    public const string RelationsContainer = "crm-relations";
    public const string UniqueContainer = "crm-unique";
    /// <summary>The change feed's lease container (function.json <c>leaseContainerName</c>); a class may not take its name.</summary>
    public const string LeasesContainer = "leases";

    private const int MaxUpdateAttempts = 200;

    private readonly CosmosClient _client;
    private readonly string _databaseName;
    private readonly int _maxSubqueryResults;
    private readonly TimeSpan _reservationGrace;
    private readonly ConcurrentDictionary<string, ClassSchema> _schemas = new(StringComparer.Ordinal);
    private Database? _database;

    private readonly bool _replaceIndexingPolicy;
    private readonly bool _manageContainers;
    private readonly ClassDeclarations _declarations;

    /// <param name="manageContainers">
    /// False with managed identity: Entra data-plane roles cannot create databases or containers (control
    /// plane), so the infrastructure provisions them (infra/modules/cosmos.bicep) and the store only checks
    /// that they exist.
    /// </param>
    /// <param name="declarations">What the application declares about its classes: their composite indexes.</param>
    public CosmosObjectStore(CosmosClient client, string databaseName, int maxSubqueryResults, TimeSpan reservationGrace,
        bool replaceIndexingPolicy = true, bool manageContainers = true, ClassDeclarations? declarations = null)
    {
        _declarations = declarations ?? new ClassDeclarations();
        _replaceIndexingPolicy = replaceIndexingPolicy;
        _manageContainers = manageContainers;
        _client = client;
        _databaseName = databaseName;
        _maxSubqueryResults = maxSubqueryResults;
        _reservationGrace = reservationGrace;
    }

    public static CosmosObjectStore Create(CosmosSettings settings, CosmosClientHooks? hooks, ClassDeclarations? declarations = null)
    {
        var options = new CosmosClientOptions
        {
            ApplicationName = "crm-functions",
            ConnectionMode = settings.ConnectionMode == "Gateway" ? ConnectionMode.Gateway : ConnectionMode.Direct,
            // Query parameters (JsonNode lists, documents) are serialised with System.Text.Json like the items.
            UseSystemTextJsonSerializerWithOptions = new JsonSerializerOptions(),
            MaxRetryAttemptsOnRateLimitedRequests = 9,
            MaxRetryWaitTimeOnRateLimitedRequests = TimeSpan.FromSeconds(30),
        };
        options.CustomHandlers.Add(new CosmosChargeHandler());
        hooks?.Configure(options);
        var client = !string.IsNullOrWhiteSpace(settings.ConnectionString) ? new CosmosClient(settings.ConnectionString, options)
            : !string.IsNullOrWhiteSpace(settings.Key) ? new CosmosClient(settings.Endpoint, settings.Key, options)
            : new CosmosClient(settings.Endpoint, new DefaultAzureCredential(), options);
        var withKey = !string.IsNullOrWhiteSpace(settings.ConnectionString) || !string.IsNullOrWhiteSpace(settings.Key);
        return new CosmosObjectStore(client, settings.Database, settings.MaxSubqueryResults, TimeSpan.FromMinutes(1),
            hooks?.ReplaceIndexingPolicy ?? true, manageContainers: withKey, declarations);
    }

    public string Kind => "cosmos";

    public bool UnitsSpanClasses => false;

    private Database Db => _database ?? throw new InvalidOperationException("Store not initialized.");

    private Container Class(string className) => Db.GetContainer(className);

    public async Task InitializeAsync(CancellationToken ct)
    {
        if (!_manageContainers)
        {
            _database = _client.GetDatabase(_databaseName);
            foreach (var name in new[] { SchemasContainer, RelationsContainer, UniqueContainer })
                await EnsureProvisionedAsync(name, ct);
            return;
        }
        _database = (await _client.CreateDatabaseIfNotExistsAsync(_databaseName, cancellationToken: ct)).Database;
        await _database.CreateContainerIfNotExistsAsync(new ContainerProperties(SchemasContainer, "/id"), cancellationToken: ct);
        await _database.CreateContainerIfNotExistsAsync(new ContainerProperties(RelationsContainer, "/owner"), cancellationToken: ct);
        await _database.CreateContainerIfNotExistsAsync(new ContainerProperties(UniqueContainer, "/id"), cancellationToken: ct);
    }

    // ---- plumbing ------------------------------------------------------------------------------------

    private static MemoryStream ToStream(JsonNode node) => new(Encoding.UTF8.GetBytes(node.ToJsonString()));

    /// <summary>Streams the items of a query, page by page (continuation tokens), until the caller stops.</summary>
    private static async IAsyncEnumerable<JsonNode?> QueryAsync(Container container, QueryDefinition query, int pageSize,
        PartitionKey? partition, [EnumeratorCancellation] CancellationToken ct)
    {
        var options = new QueryRequestOptions { MaxItemCount = Math.Clamp(pageSize, 1, 1000) };
        if (partition is { } pk) options.PartitionKey = pk;
        for (var attempt = 0; ; attempt++)
        {
            using var iterator = container.GetItemQueryStreamIterator(query, null, options);
            var yielded = false;
            var again = false;
            while (iterator.HasMoreResults)
            {
                RequestBudget.Current?.ChargeStatement(); // each page is a round trip and its own RU charge
                using var response = await iterator.ReadNextAsync(ct);
                if (response.StatusCode == HttpStatusCode.NotFound)
                {
                    // A query answers 404 when its container is gone (dropped meanwhile: nothing to find), but also
                    // when the SDK could not resolve the container's partition key ranges, e.g. from a container id
                    // cached before another instance re-created the container; the SDK refreshes that cache, so
                    // the query runs once more. Read as "no results", such a 404 made a session just written look
                    // unknown (209) and an object just created look missing (101).
                    if (!await ContainerExistsAsync(container, ct)) yield break;
                    if (yielded || attempt > 0)
                        throw new ParseException(ParseError.ConnectionFailed, $"The database could not route a query on {container.Id}; try again.");
                    again = true;
                    break;
                }
                if (!response.IsSuccessStatusCode) throw Failure(response.StatusCode, response.ErrorMessage);
                var page = await JsonNode.ParseAsync(response.Content, cancellationToken: ct);
                if (page?["Documents"] is not JsonArray documents) continue;
                var items = documents.ToArray();
                documents.Clear(); // detach, so callers may re-parent the nodes
                foreach (var item in items)
                {
                    yielded = true;
                    yield return item;
                }
            }
            if (!again) yield break;
        }
    }

    private static async Task<bool> ContainerExistsAsync(Container container, CancellationToken ct)
    {
        using var response = await container.ReadContainerStreamAsync(cancellationToken: ct);
        return response.StatusCode != HttpStatusCode.NotFound;
    }

    private static async Task<List<JsonNode?>> QueryListAsync(Container container, QueryDefinition query, int max, PartitionKey? partition, CancellationToken ct)
    {
        var list = new List<JsonNode?>();
        await foreach (var item in QueryAsync(container, query, max, partition, ct))
        {
            list.Add(item);
            if (list.Count >= max) break;
        }
        return list;
    }

    /// <summary>
    /// Bad requests (e.g. an ORDER BY on several fields without a matching composite index) are the caller's
    /// query: a Parse 102, not a server fault. Throttling that outlived the SDK's retries is reported as
    /// "try again" rather than a 500.
    /// </summary>
    private static Exception Failure(HttpStatusCode status, string? message)
    {
        // The SDK's message wraps the service's reason in diagnostics; keep the reason, on one line, bounded.
        var text = string.Join(' ', (message ?? "").Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        var reason = text.IndexOf("Reason:", StringComparison.Ordinal);
        var first = reason >= 0 ? text[(reason + 7)..].Trim() : text;
        if (first.Length > 300) first = first[..300];
        if (status == HttpStatusCode.BadRequest && first.Contains("composite index", StringComparison.OrdinalIgnoreCase))
            return new MissingCompositeIndexException(first);
        return status switch
        {
            HttpStatusCode.BadRequest => new ParseException(ParseError.InvalidQuery, $"The query cannot run on this store: {first}"),
            HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable or HttpStatusCode.RequestTimeout =>
                new ParseException(ParseError.ConnectionFailed, "The database is busy; try again."),
            _ => new InvalidOperationException($"Cosmos DB answered {(int)status}: {first}"),
        };
    }

    private static void EnsureSuccess(ResponseMessage response)
    {
        if (!response.IsSuccessStatusCode) throw Failure(response.StatusCode, response.ErrorMessage);
    }

    private JsonObject ToItem(StoredObject obj)
    {
        var item = ToPlainItem(obj);
        if (_schemas.TryGetValue(obj.ClassName, out var schema) && SearchCopy(schema, obj.Data) is { } search) item[CosmosQueryTranslator.SearchProperty] = search;
        return item;
    }

    /// <summary>The fields of a class that have a text index (made by the first $text on them, or declared).</summary>
    private static List<string> TextFields(ClassSchema schema) => [.. schema.Indexes.Values.Where(i => i.Text).Select(i => i.Keys[0].Field)];

    /// <summary>
    /// The searchable form of the text-indexed fields (<see cref="TextSearch.Normalized"/>), kept beside the data in every
    /// write: Cosmos's own full-text search needs a full-text policy and FullTextContains, which the local Cosmos API
    /// server lacks, while CONTAINS on this copy works everywhere and matches exactly as the SQLite store's FTS5 does.
    /// </summary>
    private static JsonObject? SearchCopy(ClassSchema schema, JsonObject data)
    {
        JsonObject? search = null;
        foreach (var field in TextFields(schema))
            if (data[field] is JsonValue v && v.TryGetValue(out string? text)) (search ??= [])[field] = TextSearch.Normalized(text);
        return search;
    }

    private static JsonObject ToPlainItem(StoredObject obj)
    {
        var item = new JsonObject
        {
            ["id"] = obj.ObjectId,
            ["ownerId"] = obj.OwnerId,
            ["createdAt"] = obj.CreatedAt,
            ["updatedAt"] = obj.UpdatedAt,
        };
        // rperm/wperm are flat copies of the ACL that the query's ACL filter reads; absent = public, as in Parse.
        if (obj.Acl is not null)
        {
            item["acl"] = obj.Acl.DeepClone();
            item["rperm"] = new JsonArray(obj.ReadPermissions!.Select(p => (JsonNode)p).ToArray());
            item["wperm"] = new JsonArray(obj.WritePermissions!.Select(p => (JsonNode)p).ToArray());
        }
        item["data"] = obj.Data.DeepClone();
        return item;
    }

    private static StoredObject FromItem(string className, JsonObject item) => new()
    {
        ClassName = className,
        ObjectId = item["id"]!.GetValue<string>(),
        OwnerId = item["ownerId"]?.GetValue<string>() ?? "",
        CreatedAt = item["createdAt"]!.GetValue<string>(),
        UpdatedAt = item["updatedAt"]!.GetValue<string>(),
        Acl = item["acl"]?.DeepClone() as JsonObject,
        Data = item["data"]?.DeepClone() as JsonObject ?? [],
        ETag = item["_etag"]?.GetValue<string>(),
    };

    // ---- schema -------------------------------------------------------------------------------------

    public async Task<IReadOnlyList<ClassSchema>> LoadSchemasAsync(CancellationToken ct)
    {
        var list = new List<ClassSchema>();
        await foreach (var item in QueryAsync(Db.GetContainer(SchemasContainer), new QueryDefinition("SELECT * FROM s"), 1000, null, ct))
        {
            var schema = SchemaJson.Deserialize(item!["json"]!.GetValue<string>());
            _schemas[schema.ClassName] = schema;
            list.Add(schema);
        }
        return list;
    }

    public async Task SaveSchemaAsync(ClassSchema schema, CancellationToken ct)
    {
        if (schema.ClassName == LeasesContainer)
            throw new ParseException(ParseError.InvalidClassName, $"Class name {LeasesContainer} is reserved (the change feed's lease container).");
        var properties = new ContainerProperties(schema.ClassName, "/ownerId") { IndexingPolicy = CosmosIndexing.For(schema, _declarations.Of(schema.ClassName)) };
        if (!_manageContainers)
        {
            await EnsureProvisionedAsync(schema.ClassName, ct);
        }
        else if (await Db.CreateContainerIfNotExistsAsync(properties, cancellationToken: ct) is var created
                 && _replaceIndexingPolicy && created.StatusCode == HttpStatusCode.OK && !SameComposites(created.Resource?.IndexingPolicy, properties.IndexingPolicy))
        {
            // A new multi-field index: Cosmos re-indexes online; queries keep working meanwhile.
            created.Resource!.IndexingPolicy = properties.IndexingPolicy;
            await created.Container.ReplaceContainerAsync(created.Resource, cancellationToken: ct);
        }
        var item = new JsonObject { ["id"] = schema.ClassName, ["json"] = SchemaJson.Serialize(schema) };
        using var response = await Db.GetContainer(SchemasContainer).UpsertItemStreamAsync(ToStream(item), new PartitionKey(schema.ClassName), NoContent, ct);
        EnsureSuccess(response);
        var before = _schemas.TryGetValue(schema.ClassName, out var previous) ? TextFields(previous) : [];
        // From here on every write keeps the search copy of a new text index; the items already there get theirs now.
        _schemas[schema.ClassName] = schema;
        foreach (var field in TextFields(schema).Except(before, StringComparer.Ordinal)) await BackfillSearchAsync(schema, field, ct);
    }

    /// <summary>
    /// Gives every item of the class its search copy of a newly indexed field (and drops a stale copy left by an
    /// earlier field of that name). Each item is replaced only if unchanged since read (If-Match), so a concurrent
    /// write, which makes its own copy, is never overwritten; a lost race re-reads the item.
    /// </summary>
    private async Task BackfillSearchAsync(ClassSchema schema, string field, CancellationToken ct)
    {
        var container = Class(schema.ClassName);
        var data = CosmosQueryTranslator.Prop("c", "data", field);
        var copy = CosmosQueryTranslator.Prop("c", CosmosQueryTranslator.SearchProperty, field);
        var ids = new List<(string Id, string Owner)>();
        await foreach (var row in QueryAsync(container, new QueryDefinition($"SELECT c[\"id\"], c[\"ownerId\"] FROM c WHERE IS_STRING({data}) OR IS_DEFINED({copy})"), 1000, null, ct))
            ids.Add((row!["id"]!.GetValue<string>(), row["ownerId"]!.GetValue<string>()));
        foreach (var (id, owner) in ids)
        {
            for (var attempt = 0; attempt < MaxUpdateAttempts; attempt++)
            {
                using var read = await container.ReadItemStreamAsync(id, new PartitionKey(owner), cancellationToken: ct);
                if (read.StatusCode == HttpStatusCode.NotFound) break;
                EnsureSuccess(read);
                var item = (JsonObject)(await JsonNode.ParseAsync(read.Content, cancellationToken: ct))!;
                var search = item[CosmosQueryTranslator.SearchProperty] as JsonObject ?? [];
                search.Remove(field);
                if (item["data"]?[field] is JsonValue v && v.TryGetValue(out string? text)) search[field] = TextSearch.Normalized(text);
                if (search.Count > 0) item[CosmosQueryTranslator.SearchProperty] = search;
                else item.Remove(CosmosQueryTranslator.SearchProperty);
                var options = new ItemRequestOptions { IfMatchEtag = read.Headers.ETag, EnableContentResponseOnWrite = false };
                using var replaced = await container.ReplaceItemStreamAsync(ToStream(item), id, new PartitionKey(owner), options, ct);
                if (replaced.StatusCode == HttpStatusCode.PreconditionFailed) continue;
                if (replaced.StatusCode != HttpStatusCode.NotFound) EnsureSuccess(replaced);
                break;
            }
        }
    }

    private static readonly ItemRequestOptions NoContent = new() { EnableContentResponseOnWrite = false };

    private async Task EnsureProvisionedAsync(string container, CancellationToken ct)
    {
        try
        {
            await Db.GetContainer(container).ReadContainerAsync(cancellationToken: ct);
        }
        catch (CosmosException e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            throw new ParseException(ParseError.InvalidSchemaOperation,
                $"Cosmos container '{container}' does not exist in database '{_databaseName}'. With managed identity the store cannot create containers: add it to classContainers in infra/modules/cosmos.bicep and redeploy.");
        }
    }

    private static bool SameComposites(IndexingPolicy? a, IndexingPolicy b)
    {
        static string Key(IndexingPolicy? p) => p is null ? "" : string.Join(";", p.CompositeIndexes.Select(c => string.Join(",", c.Select(x => x.Path + " " + x.Order))));
        return a is not null && Key(a) == Key(b);
    }

    public async Task DropClassAsync(string className, CancellationToken ct)
    {
        RefuseInUnit("Deleting a class");
        using (var response = await Class(className).DeleteContainerStreamAsync(cancellationToken: ct))
            if (response.StatusCode != HttpStatusCode.NotFound) EnsureSuccess(response);
        await DeleteWhereAsync(Db.GetContainer(RelationsContainer), "r", "r[\"className\"] = @c", className, "owner", ct);
        await DeleteWhereAsync(Db.GetContainer(UniqueContainer), "u", "u[\"className\"] = @c", className, "id", ct);
        using (var response = await Db.GetContainer(SchemasContainer).DeleteItemStreamAsync(className, new PartitionKey(className), cancellationToken: ct))
            if (response.StatusCode != HttpStatusCode.NotFound) EnsureSuccess(response);
        _schemas.TryRemove(className, out _);
    }

    /// <summary>Deletes every item matching a one-parameter filter; <paramref name="partitionProperty"/> names the item's partition key.</summary>
    private static async Task DeleteWhereAsync(Container container, string alias, string filter, string? value, string partitionProperty, CancellationToken ct)
    {
        var query = new QueryDefinition($"SELECT {alias}[\"id\"], {alias}[\"{partitionProperty}\"] AS pk FROM {alias} WHERE {filter}");
        if (value is not null) query = query.WithParameter("@c", value);
        var items = new List<(string Id, string Pk)>();
        await foreach (var item in QueryAsync(container, query, 1000, null, ct))
            items.Add((item!["id"]!.GetValue<string>(), item["pk"]!.GetValue<string>()));
        await Parallel.ForEachAsync(items, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (entry, token) =>
        {
            using var response = await container.DeleteItemStreamAsync(entry.Id, new PartitionKey(entry.Pk), cancellationToken: token);
            if (response.StatusCode != HttpStatusCode.NotFound) EnsureSuccess(response);
        });
    }

    public async Task DeleteFieldAsync(string className, string field, bool isRelation, CancellationToken ct)
    {
        RefuseInUnit("Deleting a field");
        if (isRelation)
        {
            var relations = Db.GetContainer(RelationsContainer);
            var query = new QueryDefinition("SELECT r[\"id\"], r[\"owner\"] FROM r WHERE r[\"className\"] = @c AND r[\"field\"] = @f")
                .WithParameter("@c", className).WithParameter("@f", field);
            await foreach (var item in QueryAsync(relations, query, 1000, null, ct))
            {
                using var response = await relations.DeleteItemStreamAsync(item!["id"]!.GetValue<string>(), new PartitionKey(item["owner"]!.GetValue<string>()), cancellationToken: ct);
                if (response.StatusCode != HttpStatusCode.NotFound) EnsureSuccess(response);
            }
            return;
        }
        // A partial-document patch removes only this field, so it cannot overwrite a concurrent update of another field.
        var container = Class(className);
        await RemoveEverywhereAsync(container, CosmosQueryTranslator.Prop("c", CosmosQueryTranslator.SearchProperty, field),
            "/" + CosmosQueryTranslator.SearchProperty + "/" + field, ct);
        await RemoveEverywhereAsync(container, CosmosQueryTranslator.Prop("c", "data", field), "/data/" + field, ct);
    }

    /// <summary>Removes one property from every item that has it, by partial-document patches.</summary>
    private static async Task RemoveEverywhereAsync(Container container, string property, string patchPath, CancellationToken ct)
    {
        var targets = new List<(string Id, string Owner)>();
        await foreach (var item in QueryAsync(container, new QueryDefinition($"SELECT c[\"id\"], c[\"ownerId\"] FROM c WHERE IS_DEFINED({property})"), 1000, null, ct))
            targets.Add((item!["id"]!.GetValue<string>(), item["ownerId"]!.GetValue<string>()));
        foreach (var (id, owner) in targets)
        {
            using var response = await container.PatchItemStreamAsync(id, new PartitionKey(owner), [PatchOperation.Remove(patchPath)], cancellationToken: ct);
            // Deleted meanwhile (404) or field already removed by a concurrent write (400 "path not found"): nothing left to do.
            if (response.StatusCode is not (HttpStatusCode.NotFound or HttpStatusCode.BadRequest)) EnsureSuccess(response);
        }
    }

    // ---- reads --------------------------------------------------------------------------------------

    public async Task<IReadOnlyList<StoredObject>> FindAsync(StoreQuery query, CancellationToken ct)
    {
        using var operation = CrmTelemetry.Store(Kind, "find", query.ClassName);
        if (!_schemas.ContainsKey(query.ClassName) || query.Limit <= 0) return [];
        var where = await ResolveAsync(query.Where, query.ClassName, ct);
        if (where is ConstNode { Value: false }) return [];
        var ranking = TextSearch.Ranking(query.Where);
        if (ranking.Count > 0 && query.Order.Any(k => k.Field.IsScore)) return await RankInMemoryAsync(query, where, ranking, ct);
        query = query with { Order = [.. query.Order.Where(k => !k.Field.IsScore)] };
        try
        {
            var list = new List<StoredObject>();
            var skip = query.Skip;
            // The parts are disjoint and follow each other in the requested order, so paging runs through them in
            // turn: each part drains past what is left of `skip` and stops once `limit` objects are in. Cosmos has no
            // efficient OFFSET: skip is served by draining pages (continuation tokens), under TOP skip+limit so the
            // engine never produces more than needed; a part after the page is full is never queried.
            foreach (var (partWhere, partOrder) in OrderedParts(where, query.Order))
            {
                if (list.Count >= query.Limit) break;
                if (partWhere is ConstNode { Value: false }) continue;
                var t = new CosmosQueryTranslator();
                var top = skip + query.Limit - list.Count;
                var sql = $"SELECT TOP {t.Param(top)} * FROM c WHERE {t.Where(partWhere)}{CosmosQueryTranslator.OrderBy(partOrder)}";
                await foreach (var item in QueryAsync(Class(query.ClassName), t.Build(sql), top, null, ct))
                {
                    if (skip > 0)
                    {
                        skip--;
                        continue;
                    }
                    list.Add(Scored(FromItem(query.ClassName, (JsonObject)item!), ranking));
                    if (list.Count >= query.Limit) break;
                }
            }
            RequestBudget.Current?.ChargeObjects(list.Count);
            return list;
        }
        catch (MissingCompositeIndexException e)
        {
            return await SortInMemoryAsync(query, where, e.Message, ct);
        }
    }

    /// <summary>
    /// Splits an ordered find into queries whose results, concatenated, are the whole ordered result — every
    /// matching object, those lacking the first sort field (or holding null there) sorted as null, as Parse (Mongo)
    /// and the SQLite store do: first ascending, last descending. Whether a Cosmos ORDER BY returns items without
    /// the property depends on the engine (the local API server drops them from single-key orderings; Cosmos did
    /// unless the path was indexed a certain way) and it orders undefined before null, where Mongo ties them. So
    /// the first key's objects with a value are ordered by all keys, and those without it — which all tie on that
    /// key — by the remaining keys, split the same way. At most one more query per key, and none once the page is
    /// full; system columns are never missing, so an ordering that starts with one is not split.
    /// </summary>
    internal static IEnumerable<(QueryNode Where, IReadOnlyList<SortKey> Order)> OrderedParts(QueryNode where, IReadOnlyList<SortKey> order)
    {
        if (order.Count == 0 || order[0].Field.IsSystemColumn)
        {
            yield return (where, order);
            yield break;
        }
        // "= null" is Mongo's "null or missing" (see the translator); its negation is a strict boolean.
        var isNull = new CompareNode(order[0].Field, CompareOp.Eq, NullValue.Instance);
        var present = (QueryNode.And(where, new NotNode(isNull)), order);
        if (order[0].Descending) yield return present;
        foreach (var part in OrderedParts(QueryNode.And(where, isNull), order.Skip(1).ToList())) yield return part;
        if (!order[0].Descending) yield return present;
    }

    /// <summary>
    /// An ad-hoc ORDER BY on several keys that no composite index serves (Cosmos refuses those): when the
    /// filtered result is small, fetch it unordered and sort here with Cosmos's own type order (undefined, null,
    /// booleans, numbers, strings, then arrays/objects); otherwise a clear 102 asking for an index.
    /// </summary>
    private async Task<IReadOnlyList<StoredObject>> SortInMemoryAsync(StoreQuery query, QueryNode where, string reason, CancellationToken ct)
    {
        var t = new CosmosQueryTranslator();
        var sql = $"SELECT TOP {t.Param(InMemorySortLimit + 1)} * FROM c WHERE {t.Where(where)}";
        var items = await QueryListAsync(Class(query.ClassName), t.Build(sql), InMemorySortLimit + 1, null, ct);
        if (items.Count > InMemorySortLimit)
            throw new ParseException(ParseError.InvalidQuery,
                $"Ordering {query.ClassName} by {string.Join(", ", query.Order.Select(k => k.Field.Dotted))} matches more than {InMemorySortLimit} objects and needs a composite index "
                + $"(declare one with the schema's indexes): {reason}");
        IOrderedEnumerable<JsonObject>? sorted = null;
        foreach (var key in query.Order)
        {
            Func<JsonObject, JsonNode?> value = item => SortValue(item, key.Field);
            sorted = sorted is null
                ? (key.Descending ? items.Cast<JsonObject>().OrderByDescending(value, SortComparer.Instance) : items.Cast<JsonObject>().OrderBy(value, SortComparer.Instance))
                : (key.Descending ? sorted.ThenByDescending(value, SortComparer.Instance) : sorted.ThenBy(value, SortComparer.Instance));
        }
        var ranking = TextSearch.Ranking(query.Where);
        return (sorted ?? items.Cast<JsonObject>()).Skip(query.Skip).Take(query.Limit).Select(i => Scored(FromItem(query.ClassName, i), ranking)).ToList();
    }

    /// <summary>The object with its relevance for the query's $text (the same computation as the SQLite store's crm_text_score).</summary>
    private static StoredObject Scored(StoredObject obj, IReadOnlyList<TextNode> ranking)
    {
        if (ranking.Count > 0) obj.Score = TextSearch.Score(ranking, field => obj.Data[field] is JsonValue v && v.TryGetValue(out string? s) ? s : null);
        return obj;
    }

    /// <summary>
    /// order=$score: Cosmos cannot order by a computed relevance, so the matches are ranked here, most relevant first
    /// and then by the other keys, when there are at most <see cref="InMemorySortLimit"/> of them; a broader search
    /// is refused (102) with a request to narrow it, rather than ranked on a sample.
    /// </summary>
    private async Task<IReadOnlyList<StoredObject>> RankInMemoryAsync(StoreQuery query, QueryNode where, IReadOnlyList<TextNode> ranking, CancellationToken ct)
    {
        var t = new CosmosQueryTranslator();
        var sql = $"SELECT TOP {t.Param(InMemorySortLimit + 1)} * FROM c WHERE {t.Where(where)}";
        var items = await QueryListAsync(Class(query.ClassName), t.Build(sql), InMemorySortLimit + 1, null, ct);
        if (items.Count > InMemorySortLimit)
            throw new ParseException(ParseError.InvalidQuery,
                $"The search matches more than {InMemorySortLimit} {query.ClassName} objects, too many to order by $score on this store; narrow it with more words or other constraints.");
        var scored = items.Cast<JsonObject>().Select(i => Scored(FromItem(query.ClassName, i), ranking)).ToList();
        IOrderedEnumerable<StoredObject> sorted = scored.OrderByDescending(o => o.Score);
        foreach (var key in query.Order.Where(k => !k.Field.IsScore))
        {
            Func<StoredObject, JsonNode?> value = o => SortValue(ToPlainItem(o), key.Field);
            sorted = key.Descending ? sorted.ThenByDescending(value, SortComparer.Instance) : sorted.ThenBy(value, SortComparer.Instance);
        }
        var page = sorted.Skip(query.Skip).Take(query.Limit).ToList();
        RequestBudget.Current?.ChargeObjects(page.Count);
        return page;
    }

    private const int InMemorySortLimit = 5000;

    private static JsonNode? SortValue(JsonObject item, FieldRef field)
    {
        if (field.IsObjectId) return item["id"];
        if (field.IsCreatedAt) return item["createdAt"];
        if (field.IsUpdatedAt) return item["updatedAt"];
        JsonNode? node = item["data"]?[field.Name];
        foreach (var segment in field.Path) node = node is JsonObject o ? o[segment] : null;
        if (field.Path.Count == 0 && node is JsonObject typed)
            node = field.Definition?.Type switch { FieldType.Date => typed["iso"], FieldType.Pointer => typed["objectId"], _ => node };
        return node;
    }

    /// <summary>Cosmos's ORDER BY type order; missing and null sort first ascending, as Parse (Mongo) does.</summary>
    internal sealed class SortComparer : IComparer<JsonNode?>
    {
        public static readonly SortComparer Instance = new();

        private static int Rank(JsonNode? node) => node switch
        {
            null => 1,
            JsonValue v => v.GetValueKind() switch
            {
                JsonValueKind.True or JsonValueKind.False => 2,
                JsonValueKind.Number => 3,
                JsonValueKind.String => 4,
                _ => 1,
            },
            JsonArray => 5,
            _ => 6,
        };

        public int Compare(JsonNode? x, JsonNode? y)
        {
            var (rx, ry) = (Rank(x), Rank(y));
            if (rx != ry) return rx.CompareTo(ry);
            return rx switch
            {
                2 => x!.GetValue<bool>().CompareTo(y!.GetValue<bool>()),
                3 => x!.GetValue<double>().CompareTo(y!.GetValue<double>()),
                4 => string.CompareOrdinal(x!.GetValue<string>(), y!.GetValue<string>()),
                5 or 6 => string.CompareOrdinal(x!.ToJsonString(), y!.ToJsonString()),
                _ => 0,
            };
        }
    }

    public async Task<long> CountAsync(string className, QueryNode where, CancellationToken ct)
    {
        using var operation = CrmTelemetry.Store(Kind, "count", className);
        if (!_schemas.ContainsKey(className)) return 0;
        var resolved = await ResolveAsync(where, className, ct);
        if (resolved is ConstNode { Value: false }) return 0;
        var t = new CosmosQueryTranslator();
        var sql = $"SELECT VALUE COUNT(1) FROM c WHERE {t.Where(resolved)}";
        long count = 0;
        // Partial counts (one per partition range, should a plan hand them back) add up to the total.
        await foreach (var item in QueryAsync(Class(className), t.Build(sql), 1000, null, ct))
            count += item?.GetValue<long>() ?? 0;
        return count;
    }

    public async Task<IReadOnlyList<AggregateRow>> AggregateAsync(AggregateQuery query, CancellationToken ct)
    {
        using var operation = CrmTelemetry.Store(Kind, "aggregate", query.ClassName);
        if (!_schemas.ContainsKey(query.ClassName) || query.Limit <= 0) return [];
        var aggregate = new CosmosAggregate(query);
        var where = await ResolveAsync(query.Where, query.ClassName, ct);
        if (where is not ConstNode { Value: false })
        {
            var t = new CosmosQueryTranslator();
            var sql = $"SELECT {aggregate.Projection} FROM c WHERE {t.Where(where)}";
            await foreach (var item in QueryAsync(Class(query.ClassName), t.Build(sql), 1000, null, ct)) aggregate.Add(item);
        }
        var rows = aggregate.Rows();
        RequestBudget.Current?.ChargeObjects(rows.Count);
        return rows;
    }

    private async Task<StoredObject?> ReadOneAsync(string className, string objectId, QueryNode restriction, CancellationToken ct)
    {
        var where = await ResolveAsync(QueryNode.And(new CompareNode(FieldRef.Of("objectId"), CompareOp.Eq, new StringValue(objectId)), restriction), className, ct);
        if (where is ConstNode { Value: false }) return null;
        var t = new CosmosQueryTranslator();
        var items = await QueryListAsync(Class(className), t.Build($"SELECT * FROM c WHERE {t.Where(where)}"), 1, null, ct);
        return items.Count == 0 ? null : FromItem(className, (JsonObject)items[0]!);
    }

    /// <summary>
    /// Replaces the nodes Cosmos cannot evaluate inside one container's query (sub-queries on other classes,
    /// relations) by id/value lists, running each sub-query first. Sub-queries already carry their own
    /// security restriction, so only readable objects contribute ids. Lists are bounded: an unbounded list
    /// would make the statement grow past Cosmos's query size limit and its RU cost with it.
    /// </summary>
    private async Task<QueryNode> ResolveAsync(QueryNode node, string className, CancellationToken ct)
    {
        switch (node)
        {
            case AndNode and:
            {
                var children = new List<QueryNode>();
                foreach (var child in and.Children) children.Add(await ResolveAsync(child, className, ct));
                return QueryNode.And(children);
            }
            case OrNode or:
            {
                var children = new List<QueryNode>();
                foreach (var child in or.Children) children.Add(await ResolveAsync(child, className, ct));
                return QueryNode.Or(children);
            }
            case NotNode not:
                return new NotNode(await ResolveAsync(not.Child, className, ct));
            case InQueryNode q when q.Field.IsRelation:
            {
                // A relation's members live in the relations container, not in the item: resolve the sub-query
                // to ids, then the owners whose relation holds one of them (none of them when negated).
                var ids = await SubqueryAsync(q.ClassName, q.Where, null, q.Negate ? "$notInQuery" : "$inQuery", ct);
                return await ResolveAsync(new RelationContainsNode(q.Field, ids.Select(i => i!.GetValue<string>()).ToList(), q.Negate), className, ct);
            }
            case InQueryNode q:
            {
                var ids = await SubqueryAsync(q.ClassName, q.Where, null, q.Negate ? "$notInQuery" : "$inQuery", ct);
                return new IdListNode(q.Field, q.ClassName, ids.Select(i => i!.GetValue<string>()).ToList(), q.Negate);
            }
            case SelectNode s:
            {
                var values = await SubqueryAsync(s.ClassName, s.Where, s.Key, s.Negate ? "$dontSelect" : "$select", ct);
                return new InNode(s.Field, values.Select(ToQueryValue).Distinct().ToList(), s.Negate);
            }
            case RelatedToNode r:
            {
                // The caller must be able to read the owner (OwnerWhere is its read restriction), or the relation is empty.
                if (r.OwnerWhere is not null && (await SubqueryAsync(r.OwnerClass, r.OwnerWhere, null, "$relatedTo", ct)).Count == 0)
                    return QueryNode.False;
                var t = new CosmosQueryTranslator();
                var owner = RelationOwner(r.OwnerClass, r.OwnerId);
                var sql = $"SELECT TOP {t.Param(_maxSubqueryResults + 1)} VALUE r[\"relatedId\"] FROM r WHERE r[\"owner\"] = {t.Param(owner)} AND r[\"field\"] = {t.Param(r.Key)}";
                var ids = await QueryListAsync(Db.GetContainer(RelationsContainer), t.Build(sql), _maxSubqueryResults + 1, new PartitionKey(owner), ct);
                CheckBound(ids.Count, "$relatedTo", r.OwnerClass);
                return new IdListNode(FieldRef.Of("objectId"), null, ids.Select(i => i!.GetValue<string>()).ToList(), false);
            }
            case RelationContainsNode r:
            {
                if (r.Ids.Count == 0) return r.Negate ? QueryNode.True : QueryNode.False;
                var t = new CosmosQueryTranslator();
                var sql = $"SELECT TOP {t.Param(_maxSubqueryResults + 1)} VALUE r[\"objectId\"] FROM r WHERE r[\"className\"] = {t.Param(className)} AND r[\"field\"] = {t.Param(r.Field.Name)} AND r[\"relatedId\"] IN ({string.Join(", ", r.Ids.Select(id => t.Param(id)))})";
                var owners = await QueryListAsync(Db.GetContainer(RelationsContainer), t.Build(sql), _maxSubqueryResults + 1, null, ct);
                CheckBound(owners.Count, r.Field.Name, className);
                return new IdListNode(FieldRef.Of("objectId"), null, owners.Select(i => i!.GetValue<string>()).Distinct(StringComparer.Ordinal).ToList(), r.Negate);
            }
            default:
                return node;
        }
    }

    private async Task<List<JsonNode?>> SubqueryAsync(string className, QueryNode where, FieldRef? key, string op, CancellationToken ct)
    {
        if (!_schemas.ContainsKey(className)) return [];
        var resolved = await ResolveAsync(where, className, ct);
        if (resolved is ConstNode { Value: false }) return [];
        var t = new CosmosQueryTranslator();
        var select = key is null ? CosmosQueryTranslator.Prop("c", "id") : CosmosQueryTranslator.Expr(key);
        var defined = key is null ? "" : $"IS_DEFINED({select}) AND ";
        var sql = $"SELECT TOP {t.Param(_maxSubqueryResults + 1)} VALUE {select} FROM c WHERE {defined}{t.Where(resolved)}";
        var values = await QueryListAsync(Class(className), t.Build(sql), _maxSubqueryResults + 1, null, ct);
        CheckBound(values.Count, op, className);
        return values;
    }

    private void CheckBound(int count, string op, string className)
    {
        if (count > _maxSubqueryResults)
            throw new ParseException(ParseError.InvalidQuery,
                $"{op} on {className} matches more than {_maxSubqueryResults} objects; this store resolves sub-queries and relations to id lists of at most {_maxSubqueryResults}. Narrow the sub-query.");
    }

    private static QueryValue ToQueryValue(JsonNode? node)
    {
        switch (node)
        {
            case null: return NullValue.Instance;
            case JsonValue v when v.GetValueKind() == JsonValueKind.String: return new StringValue(v.GetValue<string>());
            case JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False: return new BoolValue(v.GetValue<bool>());
            case JsonValue v when v.GetValueKind() == JsonValueKind.Number: return new NumberValue(v.GetValue<double>());
            case JsonObject o when o["__type"]?.ToString() == "Date" && o["iso"] is JsonValue iso: return new DateValue(iso.ToString());
            case JsonObject o when WhereParser.TryPointer(o, out var pointer): return pointer;
            default: return new DocumentValue(node.DeepClone());
        }
    }

    // ---- unique keys --------------------------------------------------------------------------------

    private sealed record UniqueKey(string Id, string ClassName, string Index);

    /// <summary>
    /// One reservation per unique index with a value. The id is a hash of the (lower-cased when the index
    /// ignores case) value: fixed length, and free of the characters Cosmos forbids in ids ('/', '\', '?', '#'),
    /// which usernames may contain. Missing or null values reserve nothing: like SQL NULLs they never collide.
    /// </summary>
    private List<UniqueKey> UniqueKeys(string className, JsonObject data)
    {
        var keys = new List<UniqueKey>();
        if (!_schemas.TryGetValue(className, out var schema)) return keys;
        foreach (var (name, index) in schema.Indexes)
        {
            if (!index.Unique) continue;
            var parts = new List<string>();
            foreach (var (field, _) in index.Keys)
            {
                var value = data[field];
                if (value is null) { parts = null; break; }
                var text = value is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : value.ToJsonString();
                parts.Add(index.IgnoreCase ? text.ToLowerInvariant() : text);
            }
            if (parts is null) continue;
            var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\u001f', parts))));
            keys.Add(new UniqueKey($"{className}:{name}:{hash}", className, name));
        }
        return keys;
    }

    /// <summary>Creates the reservation (a create, so two racing writers cannot both win); 409 means the key is taken.</summary>
    private async Task ReserveAsync(UniqueKey key, string holder, CancellationToken ct)
    {
        var unique = Db.GetContainer(UniqueContainer);
        var item = new JsonObject { ["id"] = key.Id, ["className"] = key.ClassName, ["index"] = key.Index, ["holder"] = holder };
        for (var attempt = 0; attempt < 3; attempt++)
        {
            using (var created = await unique.CreateItemStreamAsync(ToStream(item), new PartitionKey(key.Id), NoContent, ct))
            {
                if (created.IsSuccessStatusCode) return;
                if (created.StatusCode != HttpStatusCode.Conflict) EnsureSuccess(created);
            }
            var existing = await QueryListAsync(unique, new QueryDefinition("SELECT * FROM u WHERE u[\"id\"] = @id").WithParameter("@id", key.Id), 1, new PartitionKey(key.Id), ct);
            if (existing.Count == 0) continue; // released meanwhile: try again
            var current = (JsonObject)existing[0]!;
            var currentHolder = current["holder"]?.GetValue<string>();
            if (currentHolder == holder) return;
            if (!await IsStaleAsync(key, current, currentHolder, ct)) throw new DuplicateKeyException(key.Index);
            // Left over by a write that failed between its steps: take it over, unless someone else just did.
            var options = new ItemRequestOptions { IfMatchEtag = current["_etag"]?.GetValue<string>(), EnableContentResponseOnWrite = false };
            using var replaced = await unique.ReplaceItemStreamAsync(ToStream(item), key.Id, new PartitionKey(key.Id), options, ct);
            if (replaced.IsSuccessStatusCode) return;
            if (replaced.StatusCode is not (HttpStatusCode.PreconditionFailed or HttpStatusCode.NotFound)) EnsureSuccess(replaced);
        }
        throw new DuplicateKeyException(key.Index);
    }

    /// <summary>
    /// A reservation is stale when its holder no longer exists or no longer has the value. Young reservations
    /// are never stale: their holder may be between "reserve" and "write the object" right now.
    /// </summary>
    private async Task<bool> IsStaleAsync(UniqueKey key, JsonObject reservation, string? holder, CancellationToken ct)
    {
        var written = DateTimeOffset.FromUnixTimeSeconds(reservation["_ts"]?.GetValue<long>() ?? 0);
        if (DateTimeOffset.UtcNow - written < _reservationGrace) return false;
        if (holder is null) return true;
        var items = await QueryListAsync(Class(key.ClassName),
            new QueryDefinition("SELECT * FROM c WHERE c[\"id\"] = @id").WithParameter("@id", holder), 1, null, ct);
        if (items.Count == 0) return true;
        var data = (items[0] as JsonObject)?["data"] as JsonObject ?? [];
        return !UniqueKeys(key.ClassName, data).Any(k => k.Id == key.Id);
    }

    private async Task ReleaseAsync(IEnumerable<UniqueKey> keys, string holder)
    {
        var unique = Db.GetContainer(UniqueContainer);
        foreach (var key in keys)
        {
            // Only the holder's own reservation: never free a key that another object has taken over since.
            var existing = await QueryListAsync(unique, new QueryDefinition("SELECT * FROM u WHERE u[\"id\"] = @id AND u[\"holder\"] = @h")
                .WithParameter("@id", key.Id).WithParameter("@h", holder), 1, new PartitionKey(key.Id), CancellationToken.None);
            if (existing.Count == 0) continue;
            var options = new ItemRequestOptions { IfMatchEtag = existing[0]!["_etag"]?.GetValue<string>() };
            using var response = await unique.DeleteItemStreamAsync(key.Id, new PartitionKey(key.Id), options, CancellationToken.None);
        }
    }

    // ---- writes -------------------------------------------------------------------------------------

    public async Task InsertAsync(StoredObject obj, IReadOnlyList<RelationChange> relations, CancellationToken ct)
    {
        using var operation = CrmTelemetry.Store(Kind, "insert", obj.ClassName);
        if (_unit.Value is { } unit)
        {
            await InsertInUnitAsync(unit, obj, relations, ct);
            return;
        }
        var keys = UniqueKeys(obj.ClassName, obj.Data);
        var reserved = new List<UniqueKey>();
        try
        {
            foreach (var key in keys)
            {
                await ReserveAsync(key, obj.ObjectId, ct);
                reserved.Add(key);
            }
            RequestBudget.Current?.ChargeStatement();
            using var response = await Class(obj.ClassName).CreateItemStreamAsync(ToStream(ToItem(obj)), new PartitionKey(obj.OwnerId), NoContent, ct);
            if (response.StatusCode == HttpStatusCode.Conflict) throw new DuplicateKeyException("objectId");
            EnsureSuccess(response);
            obj.ETag = response.Headers.ETag;
        }
        catch
        {
            await ReleaseAsync(reserved, obj.ObjectId);
            throw;
        }
        await ApplyRelationsAsync(obj.ClassName, obj.ObjectId, relations, ct);
    }

    public async Task<StoredObject?> UpdateAsync(string className, string objectId, QueryNode restriction,
        Func<StoredObject, ValueTask<ObjectWrite?>> mutate, CancellationToken ct)
    {
        using var operation = CrmTelemetry.Store(Kind, "update", className);
        if (!_schemas.ContainsKey(className)) return null;
        if (_unit.Value is { } unit) return await UpdateInUnitAsync(unit, className, objectId, restriction, mutate, ct);
        var container = Class(className);
        for (var attempt = 0; attempt < MaxUpdateAttempts; attempt++)
        {
            // Read (restriction included), compute, and write only if nobody wrote in between (If-Match):
            // the restriction checked on this version still holds for the version replaced.
            var current = await ReadOneAsync(className, objectId, restriction, ct);
            if (current is null) return null;
            var write = await mutate(current.Clone());
            if (write is null) return null;
            var next = write.Object;

            var before = UniqueKeys(className, current.Data);
            var after = UniqueKeys(className, next.Data);
            var added = after.Where(k => before.All(b => b.Id != k.Id)).ToList();
            var removed = before.Where(k => after.All(a => a.Id != k.Id)).ToList();
            var reserved = new List<UniqueKey>();
            try
            {
                foreach (var key in added)
                {
                    await ReserveAsync(key, objectId, ct);
                    reserved.Add(key);
                }
                var item = ToItem(next);
                item["ownerId"] = current.OwnerId; // the partition never changes
                var options = new ItemRequestOptions { IfMatchEtag = current.ETag, EnableContentResponseOnWrite = false };
                RequestBudget.Current?.ChargeStatement();
                using var response = await container.ReplaceItemStreamAsync(ToStream(item), objectId, new PartitionKey(current.OwnerId), options, ct);
                if (response.StatusCode is HttpStatusCode.PreconditionFailed or HttpStatusCode.NotFound)
                {
                    await ReleaseAsync(reserved, objectId);
                    if (response.StatusCode == HttpStatusCode.NotFound) return null;
                    // Lost the race: back off a little (jittered, growing) so contenders spread out, then retry.
                    await Task.Delay(Random.Shared.Next(0, Math.Min(2 + attempt, 25)), ct);
                    continue;
                }
                EnsureSuccess(response);
                next.ETag = response.Headers.ETag;
            }
            catch
            {
                await ReleaseAsync(reserved, objectId);
                throw;
            }
            await ReleaseAsync(removed, objectId);
            await ApplyRelationsAsync(className, objectId, write.Relations, ct);
            return next;
        }
        throw new ParseException(ParseError.Timeout, $"Object {objectId} is being updated by too many requests at once; try again.");
    }

    public async Task<StoredObject?> DeleteAsync(string className, string objectId, QueryNode restriction, CancellationToken ct)
    {
        using var operation = CrmTelemetry.Store(Kind, "delete", className);
        if (!_schemas.ContainsKey(className)) return null;
        if (_unit.Value is { } unit) return await DeleteInUnitAsync(unit, className, objectId, restriction, ct);
        for (var attempt = 0; attempt < MaxUpdateAttempts; attempt++)
        {
            var current = await ReadOneAsync(className, objectId, restriction, ct);
            if (current is null) return null;
            var options = new ItemRequestOptions { IfMatchEtag = current.ETag };
            RequestBudget.Current?.ChargeStatement();
            using var response = await Class(className).DeleteItemStreamAsync(objectId, new PartitionKey(current.OwnerId), options, ct);
            if (response.StatusCode == HttpStatusCode.NotFound) return null;
            if (response.StatusCode == HttpStatusCode.PreconditionFailed) continue; // changed since read: re-check the restriction
            EnsureSuccess(response);
            await ReleaseAsync(UniqueKeys(className, current.Data), objectId);
            await DeleteWhereAsync(Db.GetContainer(RelationsContainer), "r", "r[\"owner\"] = @c", RelationOwner(className, objectId), "owner", ct);
            return current;
        }
        throw new ParseException(ParseError.Timeout, $"Object {objectId} is being updated by too many requests at once; try again.");
    }

    // ---- relations ----------------------------------------------------------------------------------

    /// <summary>Relation rows are partitioned by their owning object, so "members of this relation" is a single-partition query.</summary>
    private static string RelationOwner(string className, string objectId) => className + ":" + objectId;

    private async Task ApplyRelationsAsync(string className, string objectId, IReadOnlyList<RelationChange> relations, CancellationToken ct)
    {
        var container = Db.GetContainer(RelationsContainer);
        var owner = RelationOwner(className, objectId);
        foreach (var change in relations)
        {
            foreach (var id in change.Ids)
            {
                var itemId = change.Field + ":" + id;
                if (change.Add)
                {
                    var item = new JsonObject
                    {
                        ["id"] = itemId, ["owner"] = owner, ["className"] = className, ["objectId"] = objectId,
                        ["field"] = change.Field, ["relatedId"] = id,
                    };
                    using var response = await container.UpsertItemStreamAsync(ToStream(item), new PartitionKey(owner), NoContent, ct);
                    EnsureSuccess(response);
                }
                else
                {
                    using var response = await container.DeleteItemStreamAsync(itemId, new PartitionKey(owner), cancellationToken: ct);
                    if (response.StatusCode != HttpStatusCode.NotFound) EnsureSuccess(response);
                }
            }
        }
    }

    public async Task<IReadOnlyList<string>> RelatedIdsAsync(string ownerClass, string ownerId, string field, CancellationToken ct)
    {
        using var operation = CrmTelemetry.Store(Kind, "related", ownerClass);
        var owner = RelationOwner(ownerClass, ownerId);
        // The owner is in the WHERE clause as well as the partition key: the query is then correct on any
        // engine, and single-partition (cheapest) on Cosmos.
        var query = new QueryDefinition("SELECT VALUE r[\"relatedId\"] FROM r WHERE r[\"owner\"] = @o AND r[\"field\"] = @f")
            .WithParameter("@o", owner).WithParameter("@f", field);
        var ids = new List<string>();
        await foreach (var item in QueryAsync(Db.GetContainer(RelationsContainer), query, 1000, new PartitionKey(owner), ct))
            ids.Add(item!.GetValue<string>());
        return ids;
    }

    public async Task PurgeAsync(string className, CancellationToken ct)
    {
        RefuseInUnit("Purging a class");
        if (!_schemas.ContainsKey(className)) return;
        // Item by item rather than dropping the container: a dropped container would orphan the change feed's
        // leases and lose the container's throughput and indexing settings.
        await DeleteWhereAsync(Class(className), "c", "true", null, "ownerId", ct);
        await DeleteWhereAsync(Db.GetContainer(RelationsContainer), "r", "r[\"className\"] = @c", className, "owner", ct);
        await DeleteWhereAsync(Db.GetContainer(UniqueContainer), "u", "u[\"className\"] = @c", className, "id", ct);
    }

    public ValueTask DisposeAsync()
    {
        _client.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>Cosmos refused an ORDER BY that no composite index serves.</summary>
internal sealed class MissingCompositeIndexException(string message) : Exception(message);
