using System.Collections.Immutable;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Crm.Functions.Core.Json;
using Crm.Functions.Core.Store;

namespace Crm.Functions.Core.Schema;

/// <summary>
/// The live schema: loaded from the store at start, cached as immutable snapshots, changed only through
/// this class (under one lock, so two writers cannot add the same field with different types), persisted
/// before the cache changes. <see cref="Changed"/> lets generated artefacts (GraphQL, docs) rebuild.
/// </summary>
internal sealed partial class SchemaService(IObjectStore store) : IDisposable
{
    private readonly SemaphoreSlim _lock = new(1, 1);
    private ImmutableDictionary<string, ClassSchema> _classes = ImmutableDictionary<string, ClassSchema>.Empty.WithComparers(StringComparer.Ordinal);

    public event Action? Changed;

    /// <summary>Incremented on every schema change.</summary>
    public long Version { get; private set; }

    public void Dispose() => _lock.Dispose();

    /// <summary>Set on the async flow that holds the lock through <see cref="HoldingAsync"/>: its own schema changes pass.</summary>
    private readonly AsyncLocal<bool> _held = new();

    private async Task<bool> EnterAsync(CancellationToken ct)
    {
        if (_held.Value) return false;
        await _lock.WaitAsync(ct);
        return true;
    }

    /// <summary>
    /// Runs <paramref name="work"/> holding the schema lock, so that the schema changes it makes are serialised with
    /// everyone else's. A store transaction around schema changes needs it: taken inside the transaction, the lock would
    /// wait for a writer that waits for the transaction.
    /// </summary>
    public async Task<T> HoldingAsync<T>(Func<Task<T>> work, CancellationToken ct)
    {
        if (_held.Value) return await work();
        await _lock.WaitAsync(ct);
        try
        {
            _held.Value = true;
            return await work();
        }
        finally
        {
            _held.Value = false;
            _lock.Release();
        }
    }

    /// <summary>Reads every schema from the store again (after a rolled-back transaction that changed some).</summary>
    public async Task ReloadAsync(CancellationToken ct)
    {
        var loaded = ImmutableDictionary<string, ClassSchema>.Empty.WithComparers(StringComparer.Ordinal);
        foreach (var schema in await store.LoadSchemasAsync(ct)) loaded = loaded.SetItem(schema.ClassName, schema);
        _classes = loaded;
        Version++;
        Changed?.Invoke();
    }

    public ClassSchema? Get(string className)
    {
        // The schema is held in memory in full, so a miss is a request for a class that does not exist.
        var schema = _classes.GetValueOrDefault(className);
        Telemetry.CrmTelemetry.RecordCacheLookup("schema", hit: schema is not null);
        return schema;
    }

    public IReadOnlyList<ClassSchema> All => [.. _classes.Values.OrderBy(c => c.ClassName, StringComparer.Ordinal)];

    public async Task InitializeAsync(CancellationToken ct)
    {
        foreach (var schema in await store.LoadSchemasAsync(ct)) _classes = _classes.SetItem(schema.ClassName, schema);
        foreach (var system in SystemSchemas.All())
        {
            var existing = Get(system.ClassName);
            var merged = existing is null ? system : existing with
            {
                Fields = system.Fields.SetItems(existing.Fields),
                Indexes = existing.Indexes.SetItems(system.Indexes),
            };
            if (existing is null || merged != existing) await SaveAsync(merged, ct);
        }
    }

    private async Task SaveAsync(ClassSchema schema, CancellationToken ct)
    {
        await store.SaveSchemaAsync(schema, ct);
        _classes = _classes.SetItem(schema.ClassName, schema);
        Version++;
        Changed?.Invoke();
    }

    /// <summary>
    /// Adds fields inferred from a write. Existing fields must have the same type (111 otherwise); the class may not
    /// end up with more than <paramref name="maxFields"/> fields (255), checked under the lock so concurrent writes cannot pass it together.
    /// </summary>
    public async Task<ClassSchema> AddFieldsAsync(string className, IReadOnlyDictionary<string, FieldDefinition> fields, bool createClass,
        int? maxFields, CancellationToken ct)
    {
        var acquired = await EnterAsync(ct);
        try
        {
            var schema = Get(className);
            if (schema is null)
            {
                if (!createClass) throw new ParseException(ParseError.OperationForbidden, $"This user is not allowed to access non-existent class: {className}");
                schema = ClassSchema.Create(className);
            }
            var builder = schema.Fields.ToBuilder();
            foreach (var (name, field) in fields)
            {
                if (builder.TryGetValue(name, out var existing))
                {
                    if (!existing.SameTypeAs(field) && !(existing.Type == FieldType.Pointer && field.Type == FieldType.Pointer && field.TargetClasses.All(existing.Targets)))
                        throw Mismatch(className, name, existing, field);
                    continue;
                }
                builder[name] = field;
            }
            EnsureOneGeoPoint(builder);
            if (builder.Count > maxFields && builder.Count > schema.Fields.Count)
                throw new ParseException(ParseError.InvalidSchemaOperation, $"Class {className} may have at most {maxFields} fields.");
            var next = schema with { Fields = builder.ToImmutable() };
            if (next != schema || Get(className) is null) await SaveAsync(next, ct);
            return next;
        }
        finally { if (acquired) _lock.Release(); }
    }

    /// <summary>Parse allows one GeoPoint per class (geo queries need a single 2d index); a second is 111.</summary>
    private static void EnsureOneGeoPoint(IDictionary<string, FieldDefinition> fields)
    {
        var geo = fields.Where(f => f.Value.Type == FieldType.GeoPoint).Select(f => f.Key).ToList();
        if (geo.Count > 1)
            throw new ParseException(ParseError.IncorrectType,
                $"currently, only one GeoPoint field may exist in an object ({string.Join(", ", geo)}).");
    }

    public static ParseException Mismatch(string className, string field, FieldDefinition expected, FieldDefinition got) =>
        new(ParseError.IncorrectType, $"schema mismatch for {className}.{field}; expected {expected.Display} but got {got.Display}");

    // ---- /schemas operations (master key) ---------------------------------------------------------------

    public async Task<ClassSchema> CreateClassAsync(string className, JsonObject? fields, JsonObject? clp, JsonObject? indexes, CancellationToken ct)
    {
        Names.EnsureValidClass(className);
        var acquired = await EnterAsync(ct);
        try
        {
            if (Get(className) is not null) throw new ParseException(ParseError.InvalidClassName, $"Class {className} already exists.");
            var schema = ClassSchema.Create(className);
            schema = ApplyChanges(schema, fields, clp, indexes, out _);
            await SaveAsync(schema, ct);
            return schema;
        }
        finally { if (acquired) _lock.Release(); }
    }

    /// <summary>Adds/deletes fields, replaces the CLP, adds/deletes indexes. Deleted fields lose their data.</summary>
    public async Task<ClassSchema> UpdateClassAsync(string className, JsonObject? fields, JsonObject? clp, JsonObject? indexes, CancellationToken ct)
    {
        var acquired = await EnterAsync(ct);
        try
        {
            var schema = Get(className) ?? throw new ParseException(ParseError.InvalidClassName, $"Class {className} does not exist.");
            var next = ApplyChanges(schema, fields, clp, indexes, out var deleted);
            foreach (var (name, isRelation) in deleted) await store.DeleteFieldAsync(className, name, isRelation, ct);
            await SaveAsync(next, ct);
            return next;
        }
        finally { if (acquired) _lock.Release(); }
    }

    public async Task DeleteClassAsync(string className, Func<Task<long>> countObjects, CancellationToken ct)
    {
        var acquired = await EnterAsync(ct);
        try
        {
            if (Get(className) is null) return;
            if (Names.SystemClasses.Contains(className))
                throw new ParseException(ParseError.InvalidSchemaOperation, $"Class {className} is a system class and cannot be dropped.");
            var count = await countObjects();
            if (count > 0) throw new ParseException(ParseError.InvalidSchemaOperation, $"Class {className} is not empty, contains {count} objects, cannot drop schema.");
            await store.DropClassAsync(className, ct);
            _classes = _classes.Remove(className);
            Version++;
            Changed?.Invoke();
        }
        finally { if (acquired) _lock.Release(); }
    }

    /// <summary>
    /// The text index a <c>$text</c> on the field needs, made on first use as parse-server does on MongoDB (it then shows
    /// in the schema as <c>field_text: {field: "text"}</c>): the store builds it from the rows already there and keeps
    /// it in step with every write from then on. A no-op once the field has one.
    /// </summary>
    public async Task EnsureTextIndexAsync(string className, string field, CancellationToken ct)
    {
        if (HasTextIndex(Get(className), field)) return;
        var acquired = await EnterAsync(ct);
        try
        {
            var schema = Get(className);
            if (schema?.Field(field) is not { Type: FieldType.String } || HasTextIndex(schema, field)) return;
            await SaveAsync(schema with { Indexes = schema.Indexes.SetItem(Query.TextSearch.IndexName(field), IndexDefinition.TextOn(field)) }, ct);
        }
        finally { if (acquired) _lock.Release(); }
    }

    /// <summary>
    /// Adds an index made by <see cref="AutomaticIndexes"/>, unless the class is gone, has it, has its share of automatic
    /// ones, or no longer has one of its fields. The store builds it before the schema changes. Returns whether it was made.
    /// </summary>
    public async Task<bool> AddAutomaticIndexAsync(string className, string name, IndexDefinition index, int maxPerClass, CancellationToken ct)
    {
        var acquired = await EnterAsync(ct);
        try
        {
            var schema = Get(className);
            if (schema is null || schema.Indexes.ContainsKey(name) || schema.Indexes.Values.Count(i => i.Automatic) >= maxPerClass
                || index.Keys.Any(k => !Names.DefaultFields.Contains(k.Field) && schema.Field(k.Field) is null))
                return false;
            await SaveAsync(schema with { Indexes = schema.Indexes.SetItem(name, index) }, ct);
            return true;
        }
        finally { if (acquired) _lock.Release(); }
    }

    private static bool HasTextIndex(ClassSchema? schema, string field) =>
        schema is not null && schema.Indexes.Values.Any(i => i.Text && i.Keys[0].Field == field);

    /// <summary>Replaces a field's description (data dictionary); the type stays.</summary>
    public async Task DescribeAsync(string className, string? classDescription, IReadOnlyDictionary<string, string> fieldDescriptions, CancellationToken ct)
    {
        var acquired = await EnterAsync(ct);
        try
        {
            var schema = Get(className) ?? throw new ParseException(ParseError.InvalidClassName, $"Class {className} does not exist.");
            var fields = schema.Fields.ToBuilder();
            foreach (var (name, description) in fieldDescriptions)
                if (fields.TryGetValue(name, out var f)) fields[name] = f with { Description = description };
            await SaveAsync(schema with { Fields = fields.ToImmutable(), Description = classDescription ?? schema.Description }, ct);
        }
        finally { if (acquired) _lock.Release(); }
    }

    private static ClassSchema ApplyChanges(ClassSchema schema, JsonObject? fields, JsonObject? clp, JsonObject? indexes, out List<(string, bool)> deleted)
    {
        deleted = [];
        var builder = schema.Fields.ToBuilder();
        foreach (var (name, node) in fields ?? [])
        {
            if (Names.DefaultFields.Contains(name))
                throw new ParseException(ParseError.ChangedImmutableField, $"field {name} cannot be {(IsDeleteOp(node) ? "changed" : "added")}");
            if (!Names.IsValidField(name)) throw new ParseException(ParseError.InvalidKeyName, $"invalid field name: {Names.Truncate(name)}");
            if (IsDeleteOp(node))
            {
                if (!builder.TryGetValue(name, out var existing))
                    throw new ParseException(ParseError.InvalidSchemaOperation, $"Field {name} does not exist, cannot delete.");
                builder.Remove(name);
                deleted.Add((name, existing.Type == FieldType.Relation));
                continue;
            }
            var field = ParseFieldDefinition(name, node);
            if (builder.TryGetValue(name, out var current))
            {
                if (!current.SameTypeAs(field)) throw new ParseException(ParseError.InvalidSchemaOperation, $"Field {name} exists, cannot update.");
                builder[name] = field with { Description = field.Description ?? current.Description };
                continue;
            }
            builder[name] = field;
        }
        EnsureOneGeoPoint(builder);
        var next = schema with { Fields = builder.ToImmutable() };
        // A deleted field's text index goes with it (the store drops what it built for it).
        foreach (var (name, _) in deleted)
            foreach (var (indexName, index) in next.Indexes.Where(i => i.Value.Text && i.Value.Keys[0].Field == name).ToList())
                next = next with { Indexes = next.Indexes.Remove(indexName) };
        if (clp is not null) next = next with { ClassLevelPermissions = ValidateClp(clp, next) };
        if (indexes is not null) next = next with { Indexes = ApplyIndexes(next, indexes) };
        return next;
    }

    private static bool IsDeleteOp(JsonNode? node) => node is JsonObject o && o["__op"]?.ToString() == "Delete";

    public static FieldDefinition ParseFieldDefinition(string name, JsonNode? node)
    {
        if (node is not JsonObject o || o["type"] is not JsonValue t || !t.TryGetValue(out string? type))
            throw new ParseException(ParseError.IncorrectType, $"invalid field type for {name}");
        if (!FieldType.All.Contains(type)) throw new ParseException(ParseError.IncorrectType, $"invalid field type: {Names.Truncate(type)}");
        string? target = null;
        if (type is FieldType.Pointer or FieldType.Relation)
        {
            if (o["targetClass"] is not JsonValue tc || !tc.TryGetValue(out target) || string.IsNullOrEmpty(target))
                throw new ParseException(ParseError.MissingRequiredField, $"type {type} needs a class name");
            foreach (var cls in target.Split('|'))
                if (!Names.IsValidClass(cls.Trim())) throw new ParseException(ParseError.InvalidClassName, $"Invalid classname: {Names.Truncate(cls)}");
        }
        var required = o["required"] is JsonValue r && r.TryGetValue(out bool req) && req;
        var defaultValue = o["defaultValue"];
        if (defaultValue is not null)
        {
            if (type == FieldType.Relation) throw new ParseException(ParseError.IncorrectType, "The 'default value' option is not applicable for Relation");
            var inferred = ValueCodec.InferType(defaultValue);
            if (inferred is null || inferred.Type != type)
                throw new ParseException(ParseError.IncorrectType, $"schema mismatch for {name} default value; expected {type} but got {inferred?.Type ?? "null"}");
        }
        var description = o["description"] is JsonValue d && d.TryGetValue(out string? desc) ? desc : null;
        return new FieldDefinition(type, target, required, defaultValue?.DeepClone(), description);
    }

    [GeneratedRegex("^[A-Za-z0-9]{1,64}$")]
    private static partial Regex UserIdPattern();

    [GeneratedRegex("^role:[A-Za-z0-9_\\- ]{1,128}$")]
    private static partial Regex RolePattern();

    private static readonly HashSet<string> ClpOperations = ["find", "count", "get", "create", "update", "delete", "addField"];

    /// <summary>
    /// Validates a CLP as parse-server does (all 107) and returns the replacement CLP. Operations it omits become
    /// <c>{}</c> (master only): an omitted operation must not read as "open" to <see cref="Security.AccessPolicy"/>.
    /// </summary>
    public static JsonObject ValidateClp(JsonObject clp, ClassSchema schema)
    {
        var result = new JsonObject();
        foreach (var op in ClassLevelPermissionsDefaults.Operations) result[op] = new JsonObject();
        result["protectedFields"] = new JsonObject();
        foreach (var (key, value) in clp)
        {
            if (ClpOperations.Contains(key))
            {
                if (value is not JsonObject perms) throw InvalidClp($"{key} must be an object");
                foreach (var (entity, grant) in perms)
                {
                    if (entity == "pointerFields")
                    {
                        ValidateUserFields(grant, schema, key);
                        continue;
                    }
                    if (entity is not ("*" or "requiresAuthentication") && !RolePattern().IsMatch(entity) && !UserIdPattern().IsMatch(entity))
                        throw InvalidClp($"'{Names.Truncate(entity)}' is not a valid key for class level permissions");
                    if (grant is not JsonValue g || !g.TryGetValue(out bool granted) || !granted)
                        throw InvalidClp($"'{Names.Truncate(grant?.ToJsonString() ?? "null")}' is not a valid value for class level permissions {key}:{entity}:{grant}");
                }
            }
            else if (key is "readUserFields" or "writeUserFields")
            {
                ValidateUserFields(value, schema, key);
            }
            else if (key == "protectedFields")
            {
                if (value is not JsonObject scopes) throw InvalidClp("protectedFields must be an object");
                foreach (var (_, list) in scopes)
                {
                    if (list is not JsonArray fields) throw InvalidClp("protectedFields values must be arrays");
                    foreach (var f in fields)
                    {
                        var name = f?.ToString() ?? "";
                        if (Names.DefaultFields.Contains(name)) throw InvalidClp($"Default field '{name}' can not be protected");
                        if (schema.Field(name) is null) throw InvalidClp($"Field '{Names.Truncate(name)}' in protectedFields:{name} does not exist");
                    }
                }
            }
            else
            {
                throw InvalidClp($"{Names.Truncate(key)} is not a valid operation for class level permissions");
            }
            result[key] = value?.DeepClone();
        }
        return result;
    }

    private static void ValidateUserFields(JsonNode? value, ClassSchema schema, string key)
    {
        if (value is not JsonArray fields) throw InvalidClp($"'{Names.Truncate(value?.ToJsonString() ?? "null")}' is not a valid value for class level permissions {key}");
        foreach (var f in fields)
        {
            var name = f?.ToString() ?? "";
            var def = schema.Field(name);
            if (def is null || !((def.Type == FieldType.Pointer && def.Targets("_User")) || def.Type == FieldType.Array))
                throw InvalidClp($"'{Names.Truncate(name)}' is not a valid column for class level pointer permissions {key}");
        }
    }

    private static ParseException InvalidClp(string message) => new(ParseError.InvalidJson, message);

    private static ImmutableSortedDictionary<string, IndexDefinition> ApplyIndexes(ClassSchema schema, JsonObject indexes)
    {
        var builder = schema.Indexes.ToBuilder();
        foreach (var (name, node) in indexes)
        {
            if (name == "_id_") continue;
            if (!Names.IsValidField(name)) throw new ParseException(ParseError.InvalidQuery, $"Invalid index name: {Names.Truncate(name)}");
            if (IsDeleteOp(node))
            {
                if (!builder.ContainsKey(name)) throw new ParseException(ParseError.InvalidQuery, $"Index {name} does not exist, cannot delete.");
                builder.Remove(name);
                continue;
            }
            if (builder.ContainsKey(name)) throw new ParseException(ParseError.InvalidQuery, $"Index {name} exists, cannot update.");
            if (node is not JsonObject keys || keys.Count == 0 || keys.Count > 8) throw new ParseException(ParseError.InvalidQuery, $"Index {name} must name 1 to 8 fields.");
            if (keys.Any(k => k.Value is JsonValue tv && tv.TryGetValue(out string? kind) && kind == "text"))
            {
                // A text index (what $text would create on first use, declared ahead): one String field.
                var (textField, _) = keys.First();
                if (keys.Count != 1 || schema.Field(textField) is not { Type: FieldType.String })
                    throw new ParseException(ParseError.InvalidQuery, $"Index {name}: a text index names one String field.");
                if (builder.Values.Any(i => i.Text && i.Keys[0].Field == textField))
                    throw new ParseException(ParseError.InvalidQuery, $"Index {name}: {textField} already has a text index.");
                builder[name] = IndexDefinition.TextOn(textField);
                continue;
            }
            var list = new List<(string, int)>();
            foreach (var (field, direction) in keys)
            {
                if (!Names.DefaultFields.Contains(field) && schema.Field(field) is null)
                    throw new ParseException(ParseError.InvalidQuery, $"Field {Names.Truncate(field)} does not exist, cannot add index.");
                if (field == "ACL") throw new ParseException(ParseError.InvalidQuery, "Cannot index ACL.");
                var dir = direction is JsonValue dv && dv.TryGetValue(out int d) ? d : 0;
                if (dir is not (1 or -1)) throw new ParseException(ParseError.InvalidQuery, $"Index {name}: direction of {field} must be 1 or -1.");
                list.Add((field, dir));
            }
            builder[name] = new IndexDefinition(list);
        }
        return builder.ToImmutable();
    }
}

/// <summary>The built-in classes every Parse server has, with the unique indexes that make their rules race-free.</summary>
internal static class SystemSchemas
{
    public static IEnumerable<ClassSchema> All()
    {
        yield return Make("_User", new()
        {
            ["username"] = new(FieldType.String),
            ["password"] = new(FieldType.String),
            ["email"] = new(FieldType.String),
            ["emailVerified"] = new(FieldType.Boolean),
            ["authData"] = new(FieldType.Object),
        }, ("username", true), ("email", true), ("authData.entra.id", false));
        yield return Make("_Role", new()
        {
            ["name"] = new(FieldType.String),
            ["users"] = new(FieldType.Relation, "_User"),
            ["roles"] = new(FieldType.Relation, "_Role"),
        }, ("name", false));
        yield return Make("_Session", new()
        {
            ["sessionToken"] = new(FieldType.String),
            ["user"] = new(FieldType.Pointer, "_User"),
            ["createdWith"] = new(FieldType.Object),
            ["installationId"] = new(FieldType.String),
            ["expiresAt"] = new(FieldType.Date),
            ["restricted"] = new(FieldType.Boolean),
        }, ("sessionToken", false));
        // Server-internal (master-only): real-time subscriptions, which every instance must see (Realtime/SubscriptionStore.cs).
        yield return Make("_Subscription", new()
        {
            ["user"] = new(FieldType.String),
            ["targetClass"] = new(FieldType.String),
            ["where"] = new(FieldType.String),
            ["expiresAt"] = new(FieldType.String),
        });
        // Server-internal (master-only): who negotiated recently, which every instance must see (Realtime/Presence.cs).
        yield return Make("_Presence", new()
        {
            ["user"] = new(FieldType.String),
            ["expiresAt"] = new(FieldType.String),
        });
        // Server-internal (master-only): LiveQuery connections held by Azure Web PubSub and their subscriptions (LiveQuery/WebPubSubConnections.cs).
        yield return Make("_LiveQuery", new()
        {
            ["connection"] = new(FieldType.String),
            ["kind"] = new(FieldType.String),
            ["targetClass"] = new(FieldType.String),
            ["user"] = new(FieldType.String),
            ["session"] = new(FieldType.String),
            ["state"] = new(FieldType.String),
        });
        // Server-internal (master-only): Parse's global config, one object of two maps (Core/Config/GlobalConfig.cs).
        yield return Make("_GlobalConfig", new()
        {
            ["params"] = new(FieldType.Object),
            ["masterKeyOnly"] = new(FieldType.Object),
        });
        // Server-internal (master-only): request ids seen by Parse:Idempotency (Core/Requests/DuplicateRequests.cs).
        yield return Make("_Idempotency", new()
        {
            ["reqId"] = new(FieldType.String),
            ["expire"] = new(FieldType.String),
        });
        // Server-internal (master-only): webhook URLs registered through /hooks (Core/Webhooks/WebhookRegistry.cs).
        yield return Make("_Hooks", new()
        {
            ["functionName"] = new(FieldType.String),
            ["targetClass"] = new(FieldType.String),
            ["triggerName"] = new(FieldType.String),
            ["url"] = new(FieldType.String),
        });
        // Server-internal (master-only): the webhook outbox, one delivery per event and hook (Core/Webhooks/WebhookJournal.cs).
        yield return Make("_WebhookDelivery", JournaledWrites.RecordFields(new()
        {
            ["hook"] = new(FieldType.String),
            [JournaledWrites.LeaseField] = new(FieldType.String),
            ["payload"] = new(FieldType.String),
            ["attempts"] = new(FieldType.Number),
            ["nextAt"] = new(FieldType.String),
            ["lastError"] = new(FieldType.String),
            ["deliveredAt"] = new(FieldType.String),
        }));
        // Server-internal (master-only): the record history, one entry per change (Core/History/HistoryJournal.cs).
        yield return History.HistoryJournal.Schema();
        // Server-internal (master-only): real-time delete pushes not yet done (Realtime/DeletePushOutbox.cs). Declared
        // here with the other internal classes: the schema exists before any door or background service runs.
        yield return Make("_RealtimeOutbox", JournaledWrites.RecordFields(new()
        {
            [JournaledWrites.LeaseField] = new(FieldType.String),
            ["object"] = new(FieldType.String),
        }));
    }

    private static ClassSchema Make(string className, Dictionary<string, FieldDefinition> fields, params (string Field, bool IgnoreCase)[] unique)
    {
        var schema = ClassSchema.Create(className, fields);
        var indexes = schema.Indexes.ToBuilder();
        foreach (var (field, ignoreCase) in unique)
        {
            indexes[field.Replace('.', '_') + "_unique"] = new IndexDefinition([(field, 1)], Unique: true, IgnoreCase: ignoreCase);
            // Case-insensitive uniqueness indexes lower(value); log-in looks values up exactly, which needs its own index.
            if (ignoreCase) indexes[field + "_lookup"] = new IndexDefinition([(field, 1)]);
        }
        return schema with { Indexes = indexes.ToImmutable() };
    }
}
