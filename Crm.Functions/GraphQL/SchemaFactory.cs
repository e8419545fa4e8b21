using System.Text.Json.Nodes;
using Crm.Functions.Core;
using Crm.Functions.Core.Json;
using Crm.Functions.Core.Schema;
using GraphQL;
using GraphQL.Conversion;
using GraphQL.Resolvers;
using GraphQL.Types;

using GqlField = GraphQL.Types.FieldType;
using ParseType = Crm.Functions.Core.Schema.FieldType;

namespace Crm.Functions.GraphQL;

/// <summary>
/// Generates the GraphQL schema from the live class schema, following Parse Server's conventions
/// (see shared graphql.md): per class an object type, a Relay connection, a where input, an order enum,
/// create/update/delete mutations; plus <c>node</c>, <c>viewer</c>, <c>health</c> and the user mutations.
/// Every resolver calls the core (<see cref="DataService"/>) with the request's caller, like REST does.
/// </summary>
internal sealed partial class SchemaFactory
{
    private static readonly HashSet<string> ReservedQueryNames = new(StringComparer.Ordinal) { "health", "viewer", "node", "class", "classes", "cloudConfig", "history" };
    /// <summary>Type names the schema always has besides the shared types (built-ins, nested shared types, user mutations).</summary>
    private static readonly string[] ReservedTypeNames =
    [
        "Query", "Mutation", "Subscription", "String", "Int", "Float", "Boolean", "ID", "UserACL", "RoleACL", "PublicACL",
        "UserACLInput", "RoleACLInput", "PublicACLInput", "SignUpInput", "SignUpPayload", "LogInInput", "LogInPayload", "LogOutInput", "LogOutPayload",
        "ConfirmResetPasswordInput", "ConfirmResetPasswordPayload",
        "ConfigValue", "UpdateCloudConfigInput", "UpdateCloudConfigPayload", "HistoryEntry", "HistoryFieldChange",
    ];
    private static readonly HashSet<string> ReservedMutationNames = new(StringComparer.Ordinal) { "signUp", "logIn", "logOut", "updateCloudConfig", "confirmResetPassword" };
    /// <summary>_User fields never shown: the hash is write-only and authData holds third-party credentials.</summary>
    private static readonly HashSet<string> HiddenOutputFields = new(StringComparer.Ordinal) { "password", "authData" };

    private readonly ILogger _log;
    private readonly Dictionary<string, ClassTypes> _classes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, UnionGraphType> _unions = new(StringComparer.Ordinal);
    private readonly HashSet<string> _usedNames = new(StringComparer.Ordinal);

    private readonly DateScalar _date = new();
    private readonly ObjectScalar _object = new();
    private readonly AnyScalar _any = new();
    private readonly BytesScalar _bytes = new();
    private readonly List<GqlField> _baseFields = [];
    private readonly InterfaceGraphType _node = new() { Name = "Node", Description = "An object with a Relay global id." };
    private readonly InterfaceGraphType _parseObject = new() { Name = "ParseObject", Description = "Fields every Parse object has." };
    private readonly ObjectGraphType _pageInfo = new() { Name = "PageInfo" };
    private readonly ObjectGraphType _acl = new() { Name = "ACL" };
    private readonly ObjectGraphType _geoPoint = new() { Name = "GeoPoint" };
    private readonly ObjectGraphType _fileInfo = new() { Name = "FileInfo" };
    private readonly ObjectGraphType _viewer = new() { Name = "Viewer" };
    private readonly InputObjectGraphType _aclInput = new() { Name = "ACLInput" };
    private readonly InputObjectGraphType _geoPointInput = new() { Name = "GeoPointInput" };
    private readonly InputObjectGraphType _fileInput = new() { Name = "FileInput" };
    private readonly WhereTypes _where;

    private SchemaFactory(ILogger log)
    {
        _log = log;
        _where = new WhereTypes(_date, _object, _any, _bytes);
    }

    public static ISchema Build(IReadOnlyList<ClassSchema> classes, ILogger log) => new SchemaFactory(log).BuildSchema(classes);

    private ISchema BuildSchema(IReadOnlyList<ClassSchema> classes)
    {
        BuildSharedTypes();
        foreach (var t in SharedTypes()) _usedNames.Add(t.Name);
        _usedNames.UnionWith(ReservedTypeNames);
        var queryNames = new HashSet<string>(ReservedQueryNames, StringComparer.Ordinal);
        var mutationNames = new HashSet<string>(ReservedMutationNames, StringComparer.Ordinal);
        foreach (var schema in classes)
        {
            if (Names.MasterOnlyClasses.Contains(schema.ClassName) || !Names.IsValidClass(schema.ClassName)) continue;
            var types = new ClassTypes(schema);
            var names = types.GeneratedNames.ToList();
            string[] queries = [types.GetName, types.FindName];
            string[] mutations = ["create" + types.TypeName, "update" + types.TypeName, "delete" + types.TypeName];
            if (names.Any(_usedNames.Contains) || queries.Any(queryNames.Contains) || mutations.Any(mutationNames.Contains)
                || types.TypeName.EndsWith("Connection", StringComparison.Ordinal) || types.TypeName.EndsWith("Input", StringComparison.Ordinal))
            {
                _log.LogWarning("Class {ClassName} is left out of the GraphQL schema: one of its generated names is already taken.", schema.ClassName);
                continue;
            }
            foreach (var n in names) _usedNames.Add(n);
            foreach (var q in queries) queryNames.Add(q);
            foreach (var m in mutations) mutationNames.Add(m);
            _classes[schema.ClassName] = types;
        }
        foreach (var types in _classes.Values) types.Fields = ExposedFields(types.Schema);
        foreach (var types in _classes.Values) BuildClassTypes(types);

        var query = new ObjectGraphType { Name = "Query" };
        var mutation = new ObjectGraphType { Name = "Mutation" };
        AddRootQueries(query);
        foreach (var types in _classes.Values)
        {
            AddClassQueries(query, types);
            AddClassMutations(mutation, types);
        }
        AddUserMutations(mutation);
        AddConfigFields(query, mutation);
        AddHistoryQuery(query, _any, _date);

        // Parse names are the API: no camel-casing of field names (ACL stays ACL).
        var result = new Schema { Query = query, Mutation = mutation, NameConverter = DefaultNameConverter.Instance };
        foreach (var t in SharedTypes()) result.RegisterType(t);
        foreach (var types in _classes.Values)
            foreach (var t in new IGraphType[] { types.Object, types.Connection, types.Where, types.Order, types.CreateFields, types.UpdateFields })
                result.RegisterType(t);
        return result;
    }

    private IEnumerable<IGraphType> SharedTypes() =>
        new IGraphType[] { _date, _object, _any, _bytes, _node, _parseObject, _pageInfo, _acl, _geoPoint, _fileInfo, _viewer, _aclInput, _geoPointInput, _fileInput }
            .Concat(_where.All);

    /// <summary>Fields with a GraphQL form: pointers and relations only when their target class is exposed; names GraphQL reserves are skipped.</summary>
    private List<KeyValuePair<string, FieldDefinition>> ExposedFields(ClassSchema schema) =>
        schema.Fields.Where(f => f.Key is not ("id" or "OR" or "AND" or "NOR") && !f.Key.StartsWith("__", StringComparison.Ordinal)
                                 && !(schema.ClassName == "_User" && f.Key == "authData")
                                 && (f.Value.Type is not (ParseType.Pointer or ParseType.Relation) || Targets(f.Value).Count > 0))
            .ToList();

    private List<ClassTypes> Targets(FieldDefinition field) =>
        field.TargetClasses.Where(_classes.ContainsKey).Distinct(StringComparer.Ordinal).Select(c => _classes[c]).ToList();

    // ---- shared types -------------------------------------------------------------------------------

    private void BuildSharedTypes()
    {
        _baseFields.Add(Field("id", NonNull(Id), ctx => GlobalIds.Encode(Source(ctx).ClassName, Source(ctx).ObjectId), "The Relay global id: base64 of \"ClassName:objectId\"."));
        _baseFields.Add(Field("objectId", NonNull(Id), ctx => Source(ctx).ObjectId));
        _baseFields.Add(Field("createdAt", new NonNullGraphType(_date), ctx => Source(ctx).Json["createdAt"]?.DeepClone()));
        _baseFields.Add(Field("updatedAt", new NonNullGraphType(_date), ctx => Source(ctx).Json["updatedAt"]?.DeepClone()));
        _baseFields.Add(Field("ACL", new NonNullGraphType(_acl), ctx => AclView.Of(Source(ctx).Json["ACL"] as JsonObject)));

        // Interfaces declare the fields; only the object types that implement them resolve.
        _node.AddField(CopyOf(_baseFields[0], withResolver: false));
        foreach (var f in _baseFields.Skip(1)) _parseObject.AddField(CopyOf(f, withResolver: false));

        _pageInfo.AddField(Field("hasNextPage", NonNull(Bool), ctx => ((PageInfoView)ctx.Source!).HasNextPage));
        _pageInfo.AddField(Field("hasPreviousPage", NonNull(Bool), ctx => ((PageInfoView)ctx.Source!).HasPreviousPage));
        _pageInfo.AddField(Field("startCursor", Str, ctx => ((PageInfoView)ctx.Source!).StartCursor));
        _pageInfo.AddField(Field("endCursor", Str, ctx => ((PageInfoView)ctx.Source!).EndCursor));

        var userAcl = new ObjectGraphType { Name = "UserACL" };
        userAcl.AddField(Field("userId", NonNull(Id), ctx => ((AclEntry)ctx.Source!).Name));
        var roleAcl = new ObjectGraphType { Name = "RoleACL" };
        roleAcl.AddField(Field("roleName", NonNull(Id), ctx => ((AclEntry)ctx.Source!).Name));
        var publicAcl = new ObjectGraphType { Name = "PublicACL" };
        foreach (var t in new[] { userAcl, roleAcl, publicAcl })
        {
            t.AddField(Field("read", NonNull(Bool), ctx => ((AclEntry)ctx.Source!).Read));
            t.AddField(Field("write", NonNull(Bool), ctx => ((AclEntry)ctx.Source!).Write));
        }
        _acl.AddField(Field("users", new ListGraphType(new NonNullGraphType(userAcl)), ctx => ((AclView)ctx.Source!).Users));
        _acl.AddField(Field("roles", new ListGraphType(new NonNullGraphType(roleAcl)), ctx => ((AclView)ctx.Source!).Roles));
        _acl.AddField(Field("public", publicAcl, ctx => ((AclView)ctx.Source!).Public));

        var userAclInput = new InputObjectGraphType { Name = "UserACLInput" };
        userAclInput.AddField(InputField("userId", NonNull(Id)));
        var roleAclInput = new InputObjectGraphType { Name = "RoleACLInput" };
        roleAclInput.AddField(InputField("roleName", NonNull(Str)));
        var publicAclInput = new InputObjectGraphType { Name = "PublicACLInput" };
        foreach (var t in new[] { userAclInput, roleAclInput, publicAclInput })
        {
            t.AddField(InputField("read", NonNull(Bool)));
            t.AddField(InputField("write", NonNull(Bool)));
        }
        _aclInput.AddField(InputField("users", new ListGraphType(new NonNullGraphType(userAclInput))));
        _aclInput.AddField(InputField("roles", new ListGraphType(new NonNullGraphType(roleAclInput))));
        _aclInput.AddField(InputField("public", publicAclInput));

        _geoPoint.AddField(Field("latitude", NonNull(Float), ctx => JsonValues.Number(((JsonObject)ctx.Source!)["latitude"])));
        _geoPoint.AddField(Field("longitude", NonNull(Float), ctx => JsonValues.Number(((JsonObject)ctx.Source!)["longitude"])));
        _geoPointInput.AddField(InputField("latitude", NonNull(Float)));
        _geoPointInput.AddField(InputField("longitude", NonNull(Float)));

        _fileInfo.AddField(Field("name", NonNull(Str), ctx => JsonValues.Text(((JsonObject)ctx.Source!)["name"])));
        _fileInfo.AddField(Field("url", NonNull(Str), ctx => JsonValues.Text(((JsonObject)ctx.Source!)["url"])));
        _fileInput.AddField(InputField("file", _any, "An existing file: its name, or Parse's {\"__type\":\"File\",\"name\":…} JSON."));

        _viewer.AddField(Field("sessionToken", Str, ctx => ((ViewerView)ctx.Source!).SessionToken,
            "The session token to send as X-Parse-Session-Token; null for callers authenticated by a bearer token."));
    }

    // ---- per class ----------------------------------------------------------------------------------

    private void BuildClassTypes(ClassTypes types)
    {
        var obj = types.Object;
        obj.Description = types.Schema.Description;
        var className = types.ClassName;
        obj.IsTypeOf = source => source is ParseObj p && p.ClassName == className;
        foreach (var f in _baseFields) obj.AddField(CopyOf(f));
        obj.AddResolvedInterface(_node);
        obj.AddResolvedInterface(_parseObject);

        var protectedFields = ProtectedFieldNames(types.Schema);
        foreach (var (name, def) in types.Fields)
        {
            if (HiddenOutputFields.Contains(name) && className == "_User") continue;
            var output = OutputType(def);
            if (output is null) continue;
            if (def.Required && def.Type != ParseType.Relation && !protectedFields.Contains(name)) output = NonNullOf(output);
            var field = def.Type switch
            {
                ParseType.Pointer => Field(name, output, ctx => ResolvePointer(ctx, name)),
                ParseType.Relation => RelationField(name, def, output),
                _ => Field(name, output, ctx => ResolveValue(Source(ctx).Json[name], def)),
            };
            field.Description = def.Description;
            obj.AddField(field);
        }

        types.Edge.AddField(Field("node", obj, ctx => ((EdgeView)ctx.Source!).Node));
        types.Edge.AddField(Field("cursor", NonNull(Str), ctx => ((EdgeView)ctx.Source!).Cursor));
        types.Connection.AddField(Field("edges", new ListGraphType(types.Edge), ctx => ((ConnectionView)ctx.Source!).Edges));
        types.Connection.AddField(Field("pageInfo", new NonNullGraphType(_pageInfo), ctx => ((ConnectionView)ctx.Source!).PageInfo));
        types.Connection.AddField(Field("count", NonNull(Int), ctx => ((ConnectionView)ctx.Source!).Count));

        BuildWhere(types);
        BuildOrder(types);
        BuildWriteInputs(types);
    }

    /// <summary>Fields hidden from someone by the class's protectedFields: they cannot be non-null in the output.</summary>
    private static HashSet<string> ProtectedFieldNames(ClassSchema schema)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        if (schema.ClassName == "_User") names.Add("email");
        if (schema.ClassLevelPermissions["protectedFields"] is JsonObject pf)
            foreach (var (_, list) in pf)
                if (list is JsonArray a)
                    foreach (var item in a) if (JsonValues.Text(item) is { } n) names.Add(n);
        return names;
    }

    private object? OutputType(FieldDefinition def) => def.Type switch
    {
        ParseType.String => Str,
        ParseType.Number => Float,
        ParseType.Boolean => Bool,
        ParseType.Date => _date,
        ParseType.Object => _object,
        ParseType.Array => new ListGraphType(_any),
        ParseType.GeoPoint => _geoPoint,
        ParseType.Polygon => new ListGraphType(new NonNullGraphType(_geoPoint)),
        ParseType.File => _fileInfo,
        ParseType.Bytes => _bytes,
        ParseType.Pointer => PointerTarget(def),
        ParseType.Relation => Targets(def) is [var target, ..] ? new NonNullGraphType(target.Connection) : null,
        _ => null,
    };

    /// <summary>A single-class pointer is the target type; a multi-class one (Activity.relatedTo: Contact|Deal) a union of the targets.</summary>
    private IGraphType? PointerTarget(FieldDefinition def)
    {
        var targets = Targets(def);
        if (targets.Count == 0) return null;
        if (targets.Count == 1) return targets[0].Object;
        var name = string.Join("Or", targets.Select(t => t.TypeName));
        if (_unions.TryGetValue(name, out var existing)) return existing;
        var union = new UnionGraphType { Name = UniqueName(name), Description = $"One of: {string.Join(", ", targets.Select(t => t.TypeName))}." };
        foreach (var t in targets) union.AddPossibleType(t.Object);
        _unions[name] = union;
        return union;
    }

    private static object? ResolveValue(JsonNode? value, FieldDefinition def) => def.Type switch
    {
        ParseType.String => JsonValues.Text(value),
        ParseType.Number => JsonValues.Number(value),
        ParseType.Boolean => JsonValues.Bool(value),
        ParseType.Array => (value as JsonArray)?.Select(v => v?.DeepClone()).ToList(),
        ParseType.Polygon => (value?["coordinates"] as JsonArray)?.OfType<JsonArray>()
            .Select(p => new JsonObject { ["latitude"] = p[0]?.DeepClone(), ["longitude"] = p[1]?.DeepClone() }).ToList(),
        _ => value?.DeepClone(),
    };

    private static object? ResolvePointer(IResolveFieldContext ctx, string field)
    {
        var value = Source(ctx).Json[field] as JsonObject;
        if (value is null || JsonValues.Text(value["className"]) is not { } cls || JsonValues.Text(value["objectId"]) is not { } id) return null;
        return GraphQLRequestContext.Of(ctx).Loader.Load(cls, id);
    }

    private GqlField RelationField(string name, FieldDefinition def, object output)
    {
        var target = Targets(def)[0];
        var field = Field(name, output, null);
        field.Arguments = FindArguments(target);
        field.Resolver = Async(ctx =>
        {
            var owner = Source(ctx);
            var relatedTo = new JsonObject
            {
                ["object"] = new JsonObject { ["__type"] = "Pointer", ["className"] = owner.ClassName, ["objectId"] = owner.ObjectId },
                ["key"] = name,
            };
            return FindConnectionAsync(ctx, target, relatedTo);
        });
        return field;
    }

    private static void BuildOrder(ClassTypes types)
    {
        void Add(string field, string sortKey)
        {
            types.Order.Add(field + "_ASC", sortKey);
            types.Order.Add(field + "_DESC", "-" + sortKey);
        }
        Add("id", "objectId");
        Add("objectId", "objectId");
        Add("createdAt", "createdAt");
        Add("updatedAt", "updatedAt");
        foreach (var (name, def) in types.Fields)
            if (def.Type is not (ParseType.Relation or ParseType.Array or ParseType.Object or ParseType.Polygon or ParseType.GeoPoint)
                && !(types.ClassName == "_User" && name == "password"))
                Add(name, name);
    }

    private void BuildWriteInputs(ClassTypes types)
    {
        foreach (var (name, def) in types.Fields)
        {
            if (types.ClassName == "_User" && name == "authData") continue;
            var input = InputType(def);
            if (input is null) continue;
            var required = def.Required && def.DefaultValue is null;
            types.CreateFields.AddField(InputField(name, required ? NonNullOf(input) : input, def.Description));
            types.UpdateFields.AddField(InputField(name, input, def.Description));
        }
        types.CreateFields.AddField(InputField("ACL", _aclInput));
        types.UpdateFields.AddField(InputField("ACL", _aclInput));

        types.PointerInput.AddField(InputField("link", Id, "A global id or objectId of an existing object."));
        types.PointerInput.AddField(InputField("createAndLink", types.CreateFields, "Creates the object, then links it."));
        types.RelationInput.AddField(InputField("add", typeof(ListGraphType<NonNullGraphType<IdGraphType>>)));
        types.RelationInput.AddField(InputField("remove", typeof(ListGraphType<NonNullGraphType<IdGraphType>>)));
        types.RelationInput.AddField(InputField("createAndAdd", new ListGraphType(new NonNullGraphType(types.CreateFields))));
    }

    private object? InputType(FieldDefinition def) => def.Type switch
    {
        ParseType.String => Str,
        ParseType.Number => Float,
        ParseType.Boolean => Bool,
        ParseType.Date => _date,
        ParseType.Object => _object,
        ParseType.Array => new ListGraphType(_any),
        ParseType.GeoPoint => _geoPointInput,
        ParseType.Polygon => new ListGraphType(new NonNullGraphType(_geoPointInput)),
        ParseType.File => _fileInput,
        ParseType.Bytes => _bytes,
        ParseType.Pointer => Targets(def) is [var single] ? single.PointerInput : MultiPointerInput(def),
        ParseType.Relation => Targets(def) is [var target, ..] ? target.RelationInput : null,
        _ => null,
    };

    private readonly Dictionary<string, InputObjectGraphType> _multiPointerInputs = new(StringComparer.Ordinal);

    /// <summary>A multi-class pointer is written by global id only: a bare objectId would not say which class it names.</summary>
    private InputObjectGraphType MultiPointerInput(FieldDefinition def)
    {
        var name = string.Join("Or", Targets(def).Select(t => t.TypeName)) + "PointerInput";
        if (_multiPointerInputs.TryGetValue(name, out var existing)) return existing;
        var input = new InputObjectGraphType { Name = UniqueName(name) };
        input.AddField(InputField("link", Id, "The global id of an existing object of one of the target classes."));
        _multiPointerInputs[name] = input;
        return input;
    }

    // ---- helpers ------------------------------------------------------------------------------------

    /// <summary>A name for a type shared by several fields, made unique if a class already generated it.</summary>
    private string UniqueName(string name)
    {
        var unique = name;
        for (var i = 2; _usedNames.Contains(unique); i++) unique = name + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
        _usedNames.Add(unique);
        return unique;
    }

    private static readonly Type Str = typeof(StringGraphType);
    private static readonly Type Id = typeof(IdGraphType);
    private static readonly Type Bool = typeof(BooleanGraphType);
    private static readonly Type Int = typeof(IntGraphType);
    private static readonly Type Float = typeof(FloatGraphType);

    private static Type NonNull(Type t) => typeof(NonNullGraphType<>).MakeGenericType(t);

    private static object NonNullOf(object t) => t is Type type ? NonNull(type) : new NonNullGraphType((IGraphType)t);

    internal static ParseObj Source(IResolveFieldContext ctx) => (ParseObj)ctx.Source!;

    /// <summary>A field of a built-in type (<see cref="Type"/>) or a generated one (<see cref="IGraphType"/>).</summary>
    internal static GqlField Field(string name, object type, Func<IResolveFieldContext, object?>? resolve, string? description = null)
    {
        var field = new GqlField { Name = name, Description = description };
        if (type is Type t) field.Type = t; else field.ResolvedType = (IGraphType)type;
        if (resolve is not null) field.Resolver = new FuncFieldResolver<object>(resolve);
        return field;
    }

    internal static GqlField InputField(string name, object type, string? description = null) => Field(name, type, null, description);

    internal static IFieldResolver Async(Func<IResolveFieldContext, Task<object?>> resolve) =>
        new FuncFieldResolver<object>(ctx => new ValueTask<object?>(resolve(ctx)));

    internal static QueryArgument Argument(string name, object type, string? description = null)
    {
        var arg = type is Type t ? new QueryArgument(t) : new QueryArgument((IGraphType)type);
        arg.Name = name;
        arg.Description = description;
        return arg;
    }

    private static GqlField CopyOf(GqlField f, bool withResolver = true) => new()
    {
        Name = f.Name, Description = f.Description, Type = f.Type, ResolvedType = f.ResolvedType, Resolver = withResolver ? f.Resolver : null,
    };

    internal static object? Arg(IResolveFieldContext ctx, string name) =>
        ctx.Arguments is not null && ctx.Arguments.TryGetValue(name, out var value) ? value.Value : null;
}

internal sealed record AclEntry(string Name, bool Read, bool Write);

/// <summary>Parse's ACL JSON as GraphQL shows it; no ACL means public read and write, an ACL without a "*" entry public null.</summary>
internal sealed record AclView(IReadOnlyList<AclEntry> Users, IReadOnlyList<AclEntry> Roles, AclEntry? Public)
{
    public static AclView Of(JsonObject? acl)
    {
        if (acl is null) return new AclView([], [], new AclEntry("*", true, true));
        var users = new List<AclEntry>();
        var roles = new List<AclEntry>();
        AclEntry? pub = null;
        foreach (var (key, value) in acl)
        {
            var read = JsonValues.Bool(value?["read"]) ?? false;
            var write = JsonValues.Bool(value?["write"]) ?? false;
            if (key == "*") pub = new AclEntry("*", read, write);
            else if (key.StartsWith("role:", StringComparison.Ordinal)) roles.Add(new AclEntry(key[5..], read, write));
            else users.Add(new AclEntry(GlobalIds.Encode("_User", key), read, write));
        }
        return new AclView(users, roles, pub);
    }
}

internal sealed record ViewerView(string? SessionToken, ParseObj User);
