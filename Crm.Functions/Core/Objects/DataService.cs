using System.Text.Json.Nodes;
using Crm.Functions.Core.Json;
using Crm.Functions.Core.Query;
using Crm.Functions.Core.Requests;
using Crm.Functions.Core.Schema;
using Crm.Functions.Core.Security;
using Crm.Functions.Core.Triggers;
using Crm.Functions.Core.Store;
using Microsoft.Extensions.Options;

namespace Crm.Functions.Core;

/// <summary>
/// The one core data API. REST objects and queries, batch, GraphQL, cloud functions, the CRM template and
/// the real-time fan-out all read and write through these methods, so schema rules, hooks and
/// <see cref="AccessPolicy"/> apply identically everywhere.
/// </summary>
internal sealed partial class DataService(
    IObjectStore store,
    SchemaService schemas,
    TriggerRegistry triggers,
    IOptions<ParseSettings> options,
    TimeProvider time,
    IOptions<ClassDeclarations>? declarations = null,
    Files.FileUrls? fileUrls = null,
    IEnumerable<IChangeJournal>? journals = null)
{
    private readonly IChangeJournal[] _journals = journals?.ToArray() ?? [];
    private readonly ParseSettings _settings = options.Value;
    private readonly ClassDeclarations _declarations = declarations?.Value ?? new ClassDeclarations();
    private readonly WhereParser _parser = new(options.Value.Limits);
    private readonly ObjectEncoder _encoder = new(options.Value, fileUrls ?? new Files.FileUrls(options.Value, time));

    /// <summary>Raised after every committed create, update and delete.</summary>
    public event Action<ObjectChange>? Changed;

    public IObjectStore Store => store;
    public SchemaService Schemas => schemas;

    // ---- reads ---------------------------------------------------------------------------------------

    public async Task<FindResult> FindAsync(Auth auth, string className, FindRequest request, CancellationToken ct)
    {
        Names.EnsureValidClass(className);
        var schema = schemas.Get(className);
        if (request.RedirectClassNameForKey is { } redirect)
        {
            var relation = schema?.Field(redirect);
            if (relation?.Type == FieldType.Relation && relation.TargetClass is { } target)
            {
                var redirected = await FindAsync(auth, target, request with { RedirectClassNameForKey = null }, ct);
                return redirected with { ClassName = target };
            }
        }
        if (schema is null)
        {
            AccessPolicy.CheckClassAccess(auth, className, AccessPolicy.Find);
            if (auth.IsMaster || _settings.AllowClientClassCreation) return new FindResult([], request.Count ? 0 : null);
            throw NonExistentClass(className);
        }

        var limit = Math.Min(request.Limit ?? _settings.Limits.DefaultLimit, _settings.Limits.MaxLimit);
        if (limit < 0 || request.Skip < 0) throw new ParseException(ParseError.InvalidQuery, "limit and skip must not be negative");
        if (request.Skip > _settings.Limits.MaxSkip) throw new ParseException(ParseError.InvalidQuery, $"skip must not exceed {_settings.Limits.MaxSkip}");

        // The rows and the count are separate operations with their own CLP decision: counting with the find
        // restriction would let a caller whose count is limited by pointer permissions count every object.
        // A count-only request (limit 0) is a count alone; count with rows must pass both.
        var op = IsGetById(request.Where) ? AccessPolicy.Get : AccessPolicy.Find;
        var findRestriction = !request.Count || limit > 0 ? AccessPolicy.ReadRestriction(auth, schema, op) : null;
        var countRestriction = request.Count ? AccessPolicy.ReadRestriction(auth, schema, AccessPolicy.Count) : null;
        var parsed = _parser.Parse(request.Where, schema, new Scope(auth, schemas));
        await EnsureTextIndexesAsync(parsed, className, ct);
        var ranked = TextSearch.Ranking(parsed).Count > 0;
        var order = ParseOrder(auth, request.Order, schema, ranked);

        IReadOnlyList<StoredObject> stored;
        long? count;
        // A $regex scans rows at a cost the caller chooses: one caller runs only a few such queries at once.
        using (QueryCost.HasRegex(parsed) ? await RequestBudget.ExpensiveAsync(ct) : default)
        {
            stored = findRestriction is null || limit == 0 ? []
                : await store.FindAsync(new StoreQuery(className, QueryNode.And(parsed, findRestriction), order, request.Skip, limit), ct);
            count = countRestriction is null ? null : await store.CountAsync(className, QueryNode.And(parsed, countRestriction), ct);
        }

        var found = new FoundObjects(_encoder, auth, schema, stored, AccessPolicy.ProtectedFields(auth, schema));
        if (request.Include is not { Count: > 0 } && request.Keys is not { Count: > 0 } && request.ExcludeKeys is not { Count: > 0 })
            return new FindResult(found, count);
        var results = found.ToList();
        var keys = request.Keys;
        if (keys is { Count: > 0 } && keys.Contains(TextSearch.ScoreKey))
        {
            // keys=$score asks for the relevance as the result's "score" (Parse on MongoDB projects textScore so).
            if (ranked) for (var i = 0; i < results.Count; i++) results[i][TextSearch.ScoreField] = stored[i].Score ?? 0;
            keys = [.. keys.Select(k => k == TextSearch.ScoreKey ? TextSearch.ScoreField : k)];
        }
        await ShapeAsync(auth, schema, results, request.Include, keys, request.ExcludeKeys, ct);
        return new FindResult(results, count);
    }

    /// <summary>
    /// Makes the text index each <c>$text</c> of the query needs (on first use; see <see cref="SchemaService.EnsureTextIndexAsync"/>),
    /// for the queried class and the classes of its sub-queries, before the store runs it.
    /// </summary>
    public async Task EnsureTextIndexesAsync(QueryNode where, string className, CancellationToken ct)
    {
        foreach (var (target, node) in TextSearch.Find(where, className))
            await schemas.EnsureTextIndexAsync(target, node.Field.Name, ct);
    }

    /// <summary>A where in Parse's syntax as a query tree, with the caller's sub-query scope (for aggregate and distinct).</summary>
    public async Task<QueryNode> ParseWhereAsync(Auth auth, ClassSchema schema, JsonNode? where, CancellationToken ct)
    {
        var parsed = _parser.Parse(where, schema, new Scope(auth, schemas));
        await EnsureTextIndexesAsync(parsed, schema.ClassName, ct);
        return parsed;
    }

    public async Task<JsonObject> GetAsync(Auth auth, string className, string objectId, FindRequest? shape, CancellationToken ct) =>
        (await GetOneAsync(auth, className, objectId, shape, ct))[0];

    /// <summary>
    /// The object with this id as a one-element result: <see cref="FoundObjects"/> when unshaped, so REST can write it
    /// straight from the stored text as <see cref="FindAsync"/>'s pages are. 101 when absent or unreadable.
    /// </summary>
    public async Task<IReadOnlyList<JsonObject>> GetOneAsync(Auth auth, string className, string objectId, FindRequest? shape, CancellationToken ct)
    {
        var request = (shape ?? new FindRequest()) with
        {
            Where = new JsonObject { ["objectId"] = objectId }, Limit = 1, Skip = 0, Count = false, Order = null,
        };
        var result = await FindAsync(auth, className, request, ct);
        return result.Results.Count == 1 ? result.Results : throw ParseException.NotFound();
    }

    private static bool IsGetById(JsonNode? where) =>
        where is JsonObject o && o.Count == 1 && o["objectId"] is JsonValue v && v.TryGetValue(out string? _);

    private static ParseException NonExistentClass(string className) =>
        new(ParseError.OperationForbidden, $"This user is not allowed to access non-existent class: {className}");

    private static List<SortKey> ParseOrder(Auth auth, string? order, ClassSchema schema, bool ranked = false)
    {
        var keys = new List<SortKey>();
        if (string.IsNullOrWhiteSpace(order)) return keys;
        foreach (var raw in order.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Take(8))
        {
            var descending = raw.StartsWith('-');
            var name = descending ? raw[1..] : raw;
            // Relevance: most relevant first whichever the sign (MongoDB's textScore sort has no direction); without a
            // $text there is no relevance, and the key is ignored.
            if (name is TextSearch.ScoreKey or "-" + TextSearch.ScoreKey)
            {
                if (ranked && !keys.Any(k => k.Field.IsScore)) keys.Add(new SortKey(FieldRef.Of(TextSearch.ScoreKey), Descending: true));
                continue;
            }
            if (!name.Split('.').All(Names.IsValidField) || name.Length > 256)
                throw new ParseException(ParseError.InvalidKeyName, $"Invalid field name: {Names.Truncate(name)}.");
            var field = WhereParser.ResolveField(name, schema);
            // Parse drops sorts on fields the schema does not know; system fields are always known.
            if (!field.IsSystemColumn && field.Definition is null) continue;
            if (field.Definition?.Type == FieldType.Relation) continue;
            // Sorting by a field reveals it as surely as filtering on it (a binary search on "order=email"
            // recovers the value one character at a time), so it is refused alike.
            AccessPolicy.EnsureQueryable(auth, schema, field.Name);
            keys.Add(new SortKey(field, descending));
        }
        return keys;
    }

    /// <summary>A stored object as the caller sees it, as a tree (see <see cref="ObjectEncoder"/>).</summary>
    public JsonObject Encode(Auth auth, ClassSchema schema, StoredObject obj, HashSet<string> protectedFields, EncodeOptions options = default) =>
        _encoder.Encode(auth, schema, obj, protectedFields, options);

    // ---- include and projection ----------------------------------------------------------------------

    private async Task ShapeAsync(Auth auth, ClassSchema schema, List<JsonObject> results, IReadOnlyList<string>? include,
        IReadOnlyList<string>? keys, IReadOnlyList<string>? excludeKeys, CancellationToken ct)
    {
        var includeTree = new IncludeTree();
        foreach (var path in include ?? [])
        {
            // "*" means every Pointer and Array field, as parse-server's includeAll (arrays may hold pointers).
            if (path == "*") { foreach (var (name, f) in schema.Fields) if (f.Type is FieldType.Pointer or FieldType.Array) includeTree.Add([name]); continue; }
            includeTree.Add(path.Split('.'));
        }
        // A dotted key ("company.name") implies including its parents.
        foreach (var key in keys ?? [])
        {
            var parts = key.Split('.');
            if (parts.Length > 1) includeTree.Add(parts[..^1]);
        }
        if (includeTree.Depth > _settings.Limits.MaxIncludeDepth)
            throw new ParseException(ParseError.InvalidQuery, $"include is nested deeper than {_settings.Limits.MaxIncludeDepth} levels.");
        if (includeTree.Children.Count > 0) await IncludeAsync(auth, results, includeTree, ct);

        if (keys is { Count: > 0 }) foreach (var result in results) Project(result, keys.Select(k => k.Split('.')).ToList());
        if (excludeKeys is { Count: > 0 })
            foreach (var result in results)
                foreach (var key in excludeKeys)
                    if (!Names.DefaultFields.Contains(key)) result.Remove(key);
    }

    private sealed class IncludeTree
    {
        public Dictionary<string, IncludeTree> Children { get; } = new(StringComparer.Ordinal);
        public int Depth => Children.Count == 0 ? 0 : 1 + Children.Values.Max(c => c.Depth);

        public void Add(IEnumerable<string> path)
        {
            var node = this;
            foreach (var part in path)
            {
                if (!node.Children.TryGetValue(part, out var child)) node.Children[part] = child = new IncludeTree();
                node = child;
            }
        }
    }

    /// <summary>Replaces pointers by objects, one batched query per class and level (no N+1); unreadable targets vanish.</summary>
    private async Task IncludeAsync(Auth auth, List<JsonObject> objects, IncludeTree tree, CancellationToken ct)
    {
        foreach (var (field, subtree) in tree.Children)
        {
            var wanted = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
            foreach (var obj in objects)
                foreach (var pointer in Pointers(obj[field]))
                {
                    if (!wanted.TryGetValue(pointer.ClassName, out var ids)) wanted[pointer.ClassName] = ids = new(StringComparer.Ordinal);
                    ids.Add(pointer.ObjectId);
                }
            var fetched = new Dictionary<(string, string), JsonObject>();
            foreach (var (className, ids) in wanted)
                foreach (var item in await FetchForIncludeAsync(auth, className, ids, ct))
                    fetched[(className, item["objectId"]!.ToString())] = item;

            var included = new List<JsonObject>();
            foreach (var obj in objects)
            {
                switch (obj[field])
                {
                    case JsonObject p when WhereParser.TryPointer(p, out var ptr):
                        if (fetched.TryGetValue((ptr.ClassName, ptr.ObjectId), out var target))
                        {
                            var copy = (JsonObject)target.DeepClone();
                            obj[field] = copy;
                            included.Add(copy);
                        }
                        else obj.Remove(field);
                        break;
                    case JsonArray array:
                        var replaced = new JsonArray();
                        foreach (var item in array)
                        {
                            if (WhereParser.TryPointer(item, out var ap) && item is JsonObject { } io && io["__type"]?.ToString() == "Pointer")
                            {
                                if (!fetched.TryGetValue((ap.ClassName, ap.ObjectId), out var t)) continue;
                                var copy = (JsonObject)t.DeepClone();
                                replaced.Add(copy);
                                included.Add(copy);
                            }
                            else replaced.Add(item?.DeepClone());
                        }
                        obj[field] = replaced;
                        break;
                }
            }
            if (subtree.Children.Count > 0 && included.Count > 0) await IncludeAsync(auth, included, subtree, ct);
        }
    }

    private static IEnumerable<PointerValue> Pointers(JsonNode? node)
    {
        if (node is JsonObject o && o["__type"]?.ToString() == "Pointer" && WhereParser.TryPointer(o, out var p)) yield return p;
        if (node is JsonArray a)
            foreach (var item in a)
                if (item is JsonObject io && io["__type"]?.ToString() == "Pointer" && WhereParser.TryPointer(io, out var ap)) yield return ap;
    }

    private async Task<List<JsonObject>> FetchForIncludeAsync(Auth auth, string className, HashSet<string> ids, CancellationToken ct)
    {
        var schema = schemas.Get(className);
        if (schema is null || Names.MasterOnlyClasses.Contains(className)) return [];
        // Included objects are "get"s for CLP purposes; a refused get fails the whole query, as in Parse.
        var restriction = AccessPolicy.ReadRestriction(auth, schema, AccessPolicy.Get);
        var where = QueryNode.And(new InNode(FieldRef.Of("objectId"), ids.Select(id => (QueryValue)new StringValue(id)).ToList(), false), restriction);
        var stored = await store.FindAsync(new StoreQuery(className, where, [], 0, ids.Count), ct);
        var protectedFields = AccessPolicy.ProtectedFields(auth, schema);
        return [.. stored.Select(o => Encode(auth, schema, o, protectedFields, new EncodeOptions(AsIncluded: true)))];
    }

    private static void Project(JsonObject obj, List<string[]> keys)
    {
        var keep = keys.Select(k => k[0]).ToHashSet(StringComparer.Ordinal);
        foreach (var name in obj.Select(kv => kv.Key).ToList())
        {
            if (Names.DefaultFields.Contains(name) || name is "__type" or "className" || keep.Contains(name)) continue;
            obj.Remove(name);
        }
        foreach (var group in keys.Where(k => k.Length > 1).GroupBy(k => k[0]))
        {
            // "company" alone keeps the whole included object; "company.name" projects inside it.
            if (keys.Any(k => k.Length == 1 && k[0] == group.Key)) continue;
            var inner = group.Select(k => k[1..]).ToList();
            if (obj[group.Key] is JsonObject child) Project(child, inner);
            else if (obj[group.Key] is JsonArray items)
                foreach (var item in items.OfType<JsonObject>().Where(i => i["__type"]?.ToString() == "Object")) Project(item, inner);
        }
    }

    // ---- writes --------------------------------------------------------------------------------------

    public async Task<WriteResult> CreateAsync(Auth auth, string className, JsonObject body, CancellationToken ct)
    {
        Names.EnsureValidClass(className);
        AccessPolicy.CheckClassAccess(auth, className, AccessPolicy.Create);
        AccessPolicy.CheckRoleWrite(auth, className, AccessPolicy.Create, _settings.AllowClientRoleWrites);
        var schema = schemas.Get(className);
        var mayCreateClass = auth.IsMaster || _settings.AllowClientClassCreation;
        if (schema is null && !mayCreateClass) throw NonExistentClass(className);
        if (schema is not null && AccessPolicy.CheckClassLevel(auth, schema, AccessPolicy.Create).Count > 0)
            throw new ParseException(ParseError.OperationForbidden, $"Permission denied for action create on class {className}.");

        var ops = WriteOperations.Parse(body, schema, className, isCreate: true);
        var data = new JsonObject();
        var echo = ops.Apply(data);
        var now = ParseDates.Format(time.GetUtcNow());
        var objectId = ObjectIds.New();
        var obj = new StoredObject
        {
            ClassName = className,
            ObjectId = objectId,
            OwnerId = OwnerOf(className, objectId, data, auth),
            CreatedAt = now,
            UpdatedAt = now,
            Acl = ops.HasAcl ? ops.Acl : DefaultAcl(className, auth),
            Data = data,
        };

        // A new class exists in memory only until the write is known to be valid: a refused create creates no class.
        var createClass = schema is null;
        schema ??= ClassSchema.Create(className);
        var e = new SaveEvent { Auth = auth, Schema = schema, Object = obj, ChangedFields = ops.ChangedFields };
        await triggers.RunBeforeSaveAsync(e, ct);

        // Required fields are checked before the schema grows, so a refused create adds no fields.
        ApplyDefaultsAndRequired(schema, obj.Data);
        schema = await EvolveSchemaAsync(auth, schema, obj.Data, ops.NewFields, ops.Relations, createClass, ct);

        try
        {
            if (JournalsFor(className, JournalChange.Create) is not { } journals) await store.InsertAsync(obj, ops.Relations, ct);
            else
            {
                var records = await PrepareRecordsAsync(journals, JournalChange.Create, auth, schema, null, obj, null, ct);
                await JournaledAsync(async () => { await store.InsertAsync(obj, ops.Relations, ct); return obj; }, () => records, ct);
            }
        }
        catch (DuplicateKeyException dup)
        {
            throw DuplicateError(className, dup.IndexName);
        }

        var response = new JsonObject { ["objectId"] = objectId, ["createdAt"] = now };
        AddReadableEcho(response, echo, auth, schema, obj);
        await AfterCommitAsync(async () =>
        {
            await triggers.RunAfterSaveAsync(e, ct);
            Changed?.Invoke(new ObjectChange("created", className, null, obj));
            foreach (var (k, v) in e.Response) response[k] = v?.DeepClone();
        });
        return new WriteResult(response, obj);
    }

    public async Task<WriteResult> UpdateAsync(Auth auth, string className, string objectId, JsonObject body, CancellationToken ct)
    {
        Names.EnsureValidClass(className);
        var schema = schemas.Get(className);
        if (schema is null)
        {
            AccessPolicy.CheckClassAccess(auth, className, AccessPolicy.Update);
            throw auth.IsMaster ? ParseException.NotFound() : NonExistentClass(className);
        }
        AccessPolicy.CheckRoleWrite(auth, className, AccessPolicy.Update, _settings.AllowClientRoleWrites);
        var restriction = AccessPolicy.WriteRestriction(auth, schema, AccessPolicy.Update);
        var ops = WriteOperations.Parse(body, schema, className, isCreate: false);
        // Fields are added to the schema before the atomic update: schema writes must not run inside it. So that
        // a caller cannot grow the schema through an object it may not write (or that does not exist), check first.
        if (ops.NewFields.Count > 0 || ops.Relations.Any(r => schema.Field(r.Field) is null))
        {
            var where = QueryNode.And(new CompareNode(FieldRef.Of("objectId"), CompareOp.Eq, new StringValue(objectId)), restriction);
            if ((await store.FindAsync(new StoreQuery(className, where, [], 0, 1), ct)).Count == 0) throw NotUpdatable(auth, className, objectId);
        }
        schema = await EvolveSchemaAsync(auth, schema, null, ops.NewFields, ops.Relations, createClass: false, ct);

        JsonObject echo = [];
        SaveEvent? saved = null;
        StoredObject? updated;
        var journals = JournalsFor(className, JournalChange.Update);
        List<StoredObject>? records = null;
        try
        {
            updated = await JournaledOrPlainAsync(journals, () => store.UpdateAsync(className, objectId, restriction, async current =>
            {
                var next = current.Clone();
                echo = ops.Apply(next.Data);
                if (ops.HasAcl) next.Acl = ops.Acl;
                next.UpdatedAt = ParseDates.Format(time.GetUtcNow());
                var e = new SaveEvent { Auth = auth, Schema = schema, Original = current, Object = next, ChangedFields = ops.ChangedFields };
                await triggers.RunBeforeSaveAsync(e, ct);
                CheckTypes(schema, next.Data);
                CheckRequiredOnUpdate(schema, next.Data, ops.ChangedFields);
                saved = e;
                if (journals is not null) records = await PrepareRecordsAsync(journals, JournalChange.Update, auth, schema, current, next, records, ct);
                return new ObjectWrite(next, ops.Relations);
            }, ct), () => records, ct);
        }
        catch (DuplicateKeyException dup)
        {
            // Renaming onto a taken username/email (or any unique value) is the client's error, not a 500.
            throw DuplicateError(className, dup.IndexName);
        }

        if (updated is null || saved is null) throw NotUpdatable(auth, className, objectId);

        var response = new JsonObject { ["updatedAt"] = updated.UpdatedAt };
        AddReadableEcho(response, echo, auth, schema, updated);
        await AfterCommitAsync(async () =>
        {
            await triggers.RunAfterSaveAsync(saved, ct);
            Changed?.Invoke(new ObjectChange("updated", className, saved.Original, updated));
            foreach (var (k, v) in saved.Response) response[k] = v?.DeepClone();
        });
        return new WriteResult(response, updated);
    }

    /// <summary>
    /// Adds the operators' results (an Increment's new value, the array after Add or Remove) to a write answer where a
    /// read would show them: only to a caller who may get the object, and never for a field hidden from it. They are
    /// stored values, so echoing them to a write-only caller (ACL write without read) let it read the object through an
    /// Increment by 0 or an Add of nothing. For a field the answer leaves out, the JS SDK applies the operation to nothing
    /// (an Increment's amount), which is all a caller who cannot read the object could know anyway. Files in them (an Add
    /// of an attachment) get their URLs as in a read: the SDK keeps the echoed value as the field's.
    /// </summary>
    private void AddReadableEcho(JsonObject response, JsonObject echo, Auth auth, ClassSchema schema, StoredObject obj)
    {
        if (echo.Count == 0 || !AccessPolicy.CanRead(auth, schema, obj, AccessPolicy.Get)) return;
        var hidden = AccessPolicy.HiddenFields(auth, schema, obj.ObjectId, name => obj.Data[name], AccessPolicy.ProtectedFields(auth, schema));
        foreach (var (path, value) in echo)
            if (!hidden.Contains(path.Split('.')[0])) response[path] = _encoder.WithFileUrls(value, null);
    }

    public async Task DeleteAsync(Auth auth, string className, string objectId, CancellationToken ct)
    {
        Names.EnsureValidClass(className);
        var schema = schemas.Get(className);
        if (schema is null)
        {
            AccessPolicy.CheckClassAccess(auth, className, AccessPolicy.Delete);
            throw auth.IsMaster ? ParseException.NotFound() : NonExistentClass(className);
        }
        AccessPolicy.CheckRoleWrite(auth, className, AccessPolicy.Delete, _settings.AllowClientRoleWrites);
        var restriction = AccessPolicy.WriteRestriction(auth, schema, AccessPolicy.Delete);
        var where = QueryNode.And(new CompareNode(FieldRef.Of("objectId"), CompareOp.Eq, new StringValue(objectId)), restriction);
        var found = await store.FindAsync(new StoreQuery(className, where, [], 0, 1), ct);
        var existing = found.Count > 0 ? found[0] : null;
        if (existing is null) throw NotWritable(auth, className);

        var e = new DeleteEvent { Auth = auth, Schema = schema, Object = existing };
        await triggers.RunBeforeDeleteAsync(e, ct);
        var journals = JournalsFor(className, JournalChange.Delete);
        List<StoredObject>? records = null;
        // Held records must exist before the delete; in a unit they are made from the state the delete removed.
        if (journals is not null && !store.UnitsSpanClasses)
            records = await PrepareRecordsAsync(journals, JournalChange.Delete, auth, schema, existing, null, null, ct);
        var deleted = await JournaledOrPlainAsync(journals, async () =>
        {
            var gone = await store.DeleteAsync(className, objectId, restriction, ct);
            if (gone is not null && journals is not null && store.UnitsSpanClasses)
                records = await PrepareRecordsAsync(journals, JournalChange.Delete, auth, schema, gone, null, null, ct);
            return gone;
        }, () => records, ct) ?? throw NotWritable(auth, className);
        await AfterCommitAsync(async () =>
        {
            await triggers.RunAfterDeleteAsync(e, ct);
            Changed?.Invoke(new ObjectChange("deleted", className, deleted, null, JournaledWrites.ChangeIdOf(records)));
        });
    }

    // ---- transactions ----------------------------------------------------------------------------------

    /// <summary>What the writes of the running unit cause beyond the store, waiting for its commit.</summary>
    private readonly AsyncLocal<List<Func<Task>>?> _afterCommit = new();

    /// <summary>
    /// Runs <paramref name="work"/> as one all-or-nothing unit of the store (a transactional <c>/batch</c>). What its
    /// writes cause beyond the store — after-save and after-delete hooks (sessions, mails, caches), change events (real
    /// time) and the hooks' additions to the answers — happens once the unit is committed, in order, and never for a
    /// unit rolled back. Schema changes are serialised with the unit, so on SQLite a rolled-back unit takes the fields
    /// and classes it added with it and the cached schema is read again; on Cosmos they stay (docs/cosmos.md).
    /// </summary>
    public async Task<T> TransactionAsync<T>(Func<CancellationToken, Task<T>> work, CancellationToken ct)
    {
        if (_afterCommit.Value is not null) return await work(ct);
        List<Func<Task>> effects = [];
        var result = await schemas.HoldingAsync(async () =>
        {
            var version = schemas.Version;
            try
            {
                return await store.TransactionAsync(async attempt =>
                {
                    // A store may run the unit again (Cosmos: a commit that lost a race): only the last run's effects count.
                    effects = [];
                    _afterCommit.Value = effects;
                    return await work(attempt);
                }, ct);
            }
            catch
            {
                if (schemas.Version != version) await schemas.ReloadAsync(CancellationToken.None);
                throw;
            }
        }, ct);
        foreach (var effect in effects) await RunCommittedAsync(effect);
        return result;
    }

    private async Task AfterCommitAsync(Func<Task> effect)
    {
        if (_afterCommit.Value is { } pending) pending.Add(effect);
        else await RunCommittedAsync(effect);
    }

    /// <summary>
    /// Runs what a committed write causes (the server's own after-save and after-delete rules: a sign-up's session, a
    /// password change's revocations) outside the request's budget: refusing it there would answer an error for a write
    /// that is stored, which the client would then make again.
    /// </summary>
    private static async Task RunCommittedAsync(Func<Task> effect)
    {
        using var outsideBudget = RequestBudget.Suspend();
        await effect();
    }

    private static ParseException NotUpdatable(Auth auth, string className, string objectId) =>
        className == "_User" && !auth.IsMaster
            ? new ParseException(ParseError.SessionMissing, auth.IsAuthenticated ? $"Cannot modify user {objectId}." : "Insufficient auth.")
            : ParseException.NotFound();

    private static ParseException NotWritable(Auth auth, string className) =>
        className == "_User" && !auth.IsMaster
            ? new ParseException(ParseError.SessionMissing, auth.IsAuthenticated ? "Insufficient auth to delete user" : "Insufficient auth.")
            : ParseException.NotFound();

    /// <summary>The configured default ACL of a class, with "$owner" bound to the caller (dropped when there is none).</summary>
    private JsonObject? DefaultAcl(string className, Auth auth)
    {
        if (!_settings.DefaultAcls.TryGetValue(className, out var template)) return null;
        var acl = WriteOperations.ParseAcl(JsonNode.Parse(template.Replace("$owner", "OwnerPlaceholder1", StringComparison.Ordinal)));
        if (acl["OwnerPlaceholder1"] is { } owner)
        {
            acl.Remove("OwnerPlaceholder1");
            if (auth.UserId is not null) acl[auth.UserId] = owner.DeepClone();
        }
        return acl;
    }

    /// <summary>
    /// The partition owner (Cosmos partition key): the user itself for _User, else the user named by the first
    /// owner field the class declares (<see cref="ClassDeclaration.OwnerFields"/>), else the caller. Fixed at
    /// creation so an object never moves between partitions.
    /// </summary>
    private string OwnerOf(string className, string objectId, JsonObject data, Auth auth)
    {
        if (className == "_User") return objectId;
        // A client's session belongs to the client (UserRules overwrites its "user"), whatever the body named.
        if (className == "_Session" && !auth.IsMaster && auth.UserId is not null) return auth.UserId;
        foreach (var field in _declarations.Of(className)?.OwnerFields ?? [])
            if (data[field] is JsonObject p && p["className"]?.ToString() == "_User" && p["objectId"]?.ToString() is { } id) return id;
        return auth.UserId ?? "_shared";
    }

    private async Task<ClassSchema> EvolveSchemaAsync(Auth auth, ClassSchema schema, JsonObject? data,
        Dictionary<string, FieldDefinition> opFields, List<RelationChange> relations, bool createClass, CancellationToken ct)
    {
        var newFields = new Dictionary<string, FieldDefinition>(opFields, StringComparer.Ordinal);
        if (data is not null)
        {
            // Values set by hooks count too; validate every top-level value against the schema.
            foreach (var (key, value) in data)
            {
                if (key.StartsWith('_')) continue;
                var implied = ValueCodec.InferType(value);
                if (implied is null) continue;
                var existing = schema.Field(key);
                if (existing is null) { newFields.TryAdd(key, implied); continue; }
                if (!WriteOperations.Compatible(existing, implied)) throw SchemaService.Mismatch(schema.ClassName, key, existing, implied);
            }
        }
        foreach (var change in relations)
            if (schema.Field(change.Field) is null) newFields.TryAdd(change.Field, new FieldDefinition(FieldType.Relation, change.TargetClass));
        if (newFields.Count == 0 && !createClass) return schema;
        if (auth.IsMaster) return await schemas.AddFieldsAsync(schema.ClassName, newFields, createClass, maxFields: null, ct);
        if (newFields.Count > 0 && AccessPolicy.CheckAddField(auth, schema) is { Count: > 0 } && data is not null)
            throw new ParseException(ParseError.OperationForbidden, $"Permission denied for action addField on class {schema.ClassName}.");
        // Every field is a column in every generated artefact (GraphQL schema, OpenAPI, docs) and is never removed
        // by clients: one write may not add many, nor may writes grow a class without bound.
        if (newFields.Count > _settings.Limits.MaxNewFieldsPerWrite)
            throw new ParseException(ParseError.InvalidSchemaOperation,
                $"A write may add at most {_settings.Limits.MaxNewFieldsPerWrite} new fields to class {schema.ClassName} (this one adds {newFields.Count}).");
        return await schemas.AddFieldsAsync(schema.ClassName, newFields, createClass, _settings.Limits.MaxFieldsPerClass, ct);
    }

    private static void CheckTypes(ClassSchema schema, JsonObject data)
    {
        foreach (var (key, value) in data)
        {
            if (key.StartsWith('_')) continue;
            var implied = ValueCodec.InferType(value);
            if (implied is null) continue;
            var existing = schema.Field(key) ?? throw new ParseException(ParseError.IncorrectType, $"Field {key} is not part of the {schema.ClassName} schema.");
            if (!WriteOperations.Compatible(existing, implied)) throw SchemaService.Mismatch(schema.ClassName, key, existing, implied);
        }
    }

    private static bool IsBlank(JsonNode? value) => value is null || (value is JsonValue v && v.TryGetValue(out string? s) && s.Length == 0);

    private static void ApplyDefaultsAndRequired(ClassSchema schema, JsonObject data)
    {
        foreach (var (name, field) in schema.Fields)
        {
            if (!IsBlank(data[name])) continue;
            if (field.DefaultValue is not null && data[name] is null) { data[name] = field.DefaultValue.DeepClone(); continue; }
            if (field.Required) throw new ParseException(ParseError.ValidationError, $"{name} is required");
        }
    }

    private static void CheckRequiredOnUpdate(ClassSchema schema, JsonObject data, IReadOnlySet<string> changed)
    {
        foreach (var name in changed)
            if (schema.Field(name) is { Required: true } && IsBlank(data[name]))
                throw new ParseException(ParseError.ValidationError, $"{name} is required");
    }

    private static ParseException DuplicateError(string className, string index) => (className, index) switch
    {
        ("_User", "username_unique") => new(ParseError.UsernameTaken, "Account already exists for this username."),
        ("_User", "email_unique") => new(ParseError.EmailTaken, "Account already exists for this email address."),
        _ => new(ParseError.DuplicateValue, "A duplicate value for a field with unique values was provided"),
    };

    /// <summary>The parser's view of the caller: sub-queries are restricted exactly like top-level finds.</summary>
    private sealed class Scope(Auth auth, SchemaService schemas) : IQueryScope
    {
        public bool IsMaster => auth.IsMaster;
        public ClassSchema? Schema(string className) => schemas.Get(className);
        public QueryNode SubqueryRestriction(ClassSchema schema) => AccessPolicy.ReadRestriction(auth, schema, AccessPolicy.Find);
        public void EnsureQueryable(ClassSchema schema, string field) => AccessPolicy.EnsureQueryable(auth, schema, field);
    }
}
