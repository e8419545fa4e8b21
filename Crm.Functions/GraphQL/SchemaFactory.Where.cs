using System.Text.Json.Nodes;
using Crm.Functions.Core;
using Crm.Functions.Core.Schema;
using GraphQL.Types;
using ParseType = Crm.Functions.Core.Schema.FieldType;

namespace Crm.Functions.GraphQL;

/// <summary>
/// Where inputs and their translation into Parse's where JSON: GraphQL filters then go through the same
/// parser, limits, CLP and ACL restriction as REST <c>where</c> — there is no second query path.
/// </summary>
internal sealed partial class SchemaFactory
{
    private static readonly Dictionary<string, string> Operators = new(StringComparer.Ordinal)
    {
        ["equalTo"] = "$eq", ["notEqualTo"] = "$ne", ["lessThan"] = "$lt", ["lessThanOrEqualTo"] = "$lte",
        ["greaterThan"] = "$gt", ["greaterThanOrEqualTo"] = "$gte", ["in"] = "$in", ["notIn"] = "$nin", ["exists"] = "$exists",
        ["matchesRegex"] = "$regex", ["options"] = "$options", ["contains"] = "$all", ["containedBy"] = "$containedBy",
        ["inQueryKey"] = "$select", ["notInQueryKey"] = "$dontSelect",
    };

    private readonly Dictionary<string, InputObjectGraphType> _multiPointerWheres = new(StringComparer.Ordinal);

    private void BuildWhere(ClassTypes types)
    {
        var where = types.Where;
        where.AddField(InputField("id", _where.Id, "Global id or objectId."));
        where.AddField(InputField("objectId", _where.Id));
        where.AddField(InputField("createdAt", _where.Date));
        where.AddField(InputField("updatedAt", _where.Date));
        foreach (var (name, def) in types.Fields)
        {
            if (types.ClassName == "_User" && name == "password") continue;
            IGraphType? input = def.Type switch
            {
                ParseType.String => _where.String,
                ParseType.Number => _where.Number,
                ParseType.Boolean => _where.Boolean,
                ParseType.Date => _where.Date,
                ParseType.Object => _where.Object,
                ParseType.Array => _where.Array,
                ParseType.Bytes => _where.Bytes,
                ParseType.File => _where.File,
                ParseType.GeoPoint => _where.GeoPoint,
                ParseType.Polygon => _where.Polygon,
                ParseType.Pointer or ParseType.Relation => Targets(def) is [var single] ? single.RelationWhere : MultiPointerWhere(def),
                _ => null,
            };
            if (input is not null) where.AddField(InputField(name, input, def.Description));
        }
        foreach (var op in new[] { "OR", "AND", "NOR" }) where.AddField(InputField(op, new ListGraphType(new NonNullGraphType(where))));

        types.RelationWhere.AddField(InputField("have", where, "The pointed object matches ($inQuery)."));
        types.RelationWhere.AddField(InputField("haveNot", where, "The pointed object does not match ($notInQuery)."));
        types.RelationWhere.AddField(InputField("exists", typeof(BooleanGraphType)));
    }

    /// <summary>
    /// A pointer to one of several classes: equality by id (a global id names the class; a bare objectId is
    /// tried against each target), and <c>have&lt;Class&gt;</c> sub-filters per target class.
    /// </summary>
    private InputObjectGraphType MultiPointerWhere(FieldDefinition def)
    {
        var targets = Targets(def);
        var name = string.Join("Or", targets.Select(t => t.TypeName)) + "PointerWhereInput";
        if (_multiPointerWheres.TryGetValue(name, out var existing)) return existing;
        var input = new InputObjectGraphType { Name = UniqueName(name) };
        input.AddField(InputField("equalTo", typeof(IdGraphType), "Global id (or objectId) of the pointed object."));
        input.AddField(InputField("notEqualTo", typeof(IdGraphType)));
        input.AddField(InputField("in", typeof(ListGraphType<NonNullGraphType<IdGraphType>>)));
        input.AddField(InputField("notIn", typeof(ListGraphType<NonNullGraphType<IdGraphType>>)));
        input.AddField(InputField("exists", typeof(BooleanGraphType)));
        foreach (var t in targets)
        {
            input.AddField(InputField("have" + t.TypeName, t.Where, $"Points to a {t.TypeName} that matches."));
            input.AddField(InputField("haveNot" + t.TypeName, t.Where, $"Does not point to a {t.TypeName} that matches."));
        }
        _multiPointerWheres[name] = input;
        return input;
    }

    /// <summary>A GraphQL where input → Parse where JSON for the same class.</summary>
    internal JsonObject TranslateWhere(ClassTypes types, IDictionary<string, object?> input)
    {
        var where = new JsonObject();
        var and = new JsonArray();
        void Put(string key, JsonObject constraint)
        {
            // Two constraints on one key (e.g. have + haveNot of different classes) cannot share a JSON object key.
            if (where.ContainsKey(key)) and.Add(new JsonObject { [key] = constraint });
            else where[key] = constraint;
        }
        foreach (var (key, value) in input)
        {
            if (value is null) continue;
            switch (key)
            {
                case "OR" or "AND" or "NOR":
                    var branches = new JsonArray();
                    foreach (var branch in (IEnumerable<object?>)value)
                        if (branch is IDictionary<string, object?> b) branches.Add(TranslateWhere(types, b));
                    if (key == "AND") foreach (var b in branches) and.Add(b?.DeepClone());
                    else where["$" + key.ToLowerInvariant()] = branches;
                    break;
                case "id" or "objectId":
                    Put("objectId", Constraint((IDictionary<string, object?>)value, v => GlobalIds.ObjectIdFor(GlobalIds.Text(v), types.ClassName)));
                    break;
                default:
                    var def = types.Field(key) ?? throw new ParseException(ParseError.InvalidKeyName, $"Unknown field {key}.");
                    var ops = (IDictionary<string, object?>)value;
                    switch (def.Type)
                    {
                        case ParseType.Pointer or ParseType.Relation:
                            foreach (var c in PointerConstraints(def, ops)) Put(key, c);
                            break;
                        case ParseType.Object:
                            foreach (var (path, c) in ObjectConstraints(key, ops)) Put(path, c);
                            break;
                        case ParseType.File:
                            Put(key, Constraint(ops, v => new JsonObject { ["__type"] = "File", ["name"] = (string)v! }));
                            break;
                        default:
                            Put(key, Constraint(ops, JsonValues.FromClr));
                            break;
                    }
                    break;
            }
        }
        if (and.Count > 0) where["$and"] = and;
        return where;
    }

    private static JsonObject Constraint(IDictionary<string, object?> ops, Func<object?, JsonNode?> convert)
    {
        var constraint = new JsonObject();
        foreach (var (op, value) in ops)
        {
            if (value is null || !Operators.TryGetValue(op, out var parseOp)) continue;
            constraint[parseOp] = op switch
            {
                "in" or "notIn" or "contains" or "containedBy" => new JsonArray(((IEnumerable<object?>)value).Select(convert).ToArray()),
                "exists" or "options" or "matchesRegex" => JsonValues.FromClr(value),
                "inQueryKey" or "notInQueryKey" => SelectJson((IDictionary<string, object?>)value),
                _ => convert(value),
            };
        }
        return constraint;
    }

    private static JsonObject SelectJson(IDictionary<string, object?> select)
    {
        var query = (IDictionary<string, object?>)select["query"]!;
        return new JsonObject
        {
            ["key"] = (string?)select["key"],
            ["query"] = new JsonObject
            {
                ["className"] = (string?)query["className"],
                ["where"] = query.TryGetValue("where", out var w) && w is JsonObject wo ? wo.DeepClone() : new JsonObject(),
            },
        };
    }

    /// <summary>Object fields are filtered by key: <c>{equalTo:{key:"city",value:"Lyon"}}</c> → <c>"address.city":{"$eq":"Lyon"}</c>.</summary>
    private static IEnumerable<(string Path, JsonObject Constraint)> ObjectConstraints(string field, IDictionary<string, object?> ops)
    {
        foreach (var (op, value) in ops)
        {
            if (value is null || !Operators.TryGetValue(op, out var parseOp)) continue;
            switch (op)
            {
                case "exists":
                    yield return (field, new JsonObject { ["$exists"] = JsonValues.FromClr(value) });
                    break;
                case "inQueryKey" or "notInQueryKey":
                    yield return (field, new JsonObject { [parseOp] = SelectJson((IDictionary<string, object?>)value) });
                    break;
                case "in" or "notIn":
                    foreach (var group in ((IEnumerable<object?>)value).OfType<IDictionary<string, object?>>().GroupBy(kv => (string)kv["key"]!, StringComparer.Ordinal))
                        yield return ($"{field}.{group.Key}", new JsonObject { [parseOp] = new JsonArray(group.Select(kv => JsonValues.FromClr(kv["value"])).ToArray()) });
                    break;
                default:
                    var pair = (IDictionary<string, object?>)value;
                    yield return ($"{field}.{(string)pair["key"]!}", new JsonObject { [parseOp] = JsonValues.FromClr(pair["value"]) });
                    break;
            }
        }
    }

    private IEnumerable<JsonObject> PointerConstraints(FieldDefinition def, IDictionary<string, object?> ops)
    {
        var targets = Targets(def);
        foreach (var (op, value) in ops)
        {
            if (value is null) continue;
            switch (op)
            {
                case "exists":
                    yield return new JsonObject { ["$exists"] = JsonValues.FromClr(value) };
                    break;
                case "have" or "haveNot":
                    yield return InQuery(targets[0], (IDictionary<string, object?>)value, op == "haveNot");
                    break;
                case "equalTo" or "notEqualTo":
                    yield return new JsonObject { [op == "equalTo" ? "$in" : "$nin"] = new JsonArray(PointersFor(GlobalIds.Text(value), targets).ToArray()) };
                    break;
                case "in" or "notIn":
                    var all = ((IEnumerable<object?>)value).Where(id => id is not null).Select(GlobalIds.Text).SelectMany(id => PointersFor(id, targets)).ToArray();
                    yield return new JsonObject { [op == "in" ? "$in" : "$nin"] = new JsonArray(all) };
                    break;
                default:
                    var negate = op.StartsWith("haveNot", StringComparison.Ordinal);
                    var typeName = op[(negate ? 7 : 4)..];
                    var target = targets.First(t => t.TypeName == typeName);
                    yield return InQuery(target, (IDictionary<string, object?>)value, negate);
                    break;
            }
        }
    }

    private JsonObject InQuery(ClassTypes target, IDictionary<string, object?> where, bool negate) => new()
    {
        [negate ? "$notInQuery" : "$inQuery"] = new JsonObject { ["className"] = target.ClassName, ["where"] = TranslateWhere(target, where) },
    };

    private static IEnumerable<JsonNode?> PointersFor(string id, List<ClassTypes> targets)
    {
        if (GlobalIds.TryDecode(id, out var cls, out var objectId) && targets.Any(t => t.ClassName == cls))
            return [Pointer(cls, objectId)];
        return targets.Select(t => (JsonNode?)Pointer(t.ClassName, id));
    }

    internal static JsonObject Pointer(string className, string objectId) =>
        new() { ["__type"] = "Pointer", ["className"] = className, ["objectId"] = objectId };
}
