using System.Text.Json.Nodes;
using Crm.Functions.Core.Schema;

namespace Crm.Functions.Core.Query;

/// <summary>
/// The one query model. The REST <c>where</c> JSON, GraphQL filters and the security layer's restrictions
/// (ACL, pointer permissions) all become trees of these nodes; each store translates the tree to its own
/// query language with parameters. Security restrictions are ordinary nodes, so they are applied inside the
/// store query and <c>limit</c>/<c>count</c> stay correct.
/// </summary>
internal abstract record QueryNode
{
    public static readonly QueryNode True = new ConstNode(true);
    public static readonly QueryNode False = new ConstNode(false);

    public static QueryNode And(params IEnumerable<QueryNode> nodes)
    {
        var list = new List<QueryNode>();
        foreach (var node in nodes)
        {
            if (node is ConstNode { Value: true }) continue;
            if (node is ConstNode { Value: false }) return False;
            if (node is AndNode and) list.AddRange(and.Children);
            else list.Add(node);
        }
        return list.Count switch { 0 => True, 1 => list[0], _ => new AndNode(list) };
    }

    public static QueryNode Or(params IEnumerable<QueryNode> nodes)
    {
        var list = new List<QueryNode>();
        foreach (var node in nodes)
        {
            if (node is ConstNode { Value: false }) continue;
            if (node is ConstNode { Value: true }) return True;
            list.Add(node);
        }
        return list.Count switch { 0 => False, 1 => list[0], _ => new OrNode(list) };
    }
}

internal sealed record ConstNode(bool Value) : QueryNode;
internal sealed record AndNode(IReadOnlyList<QueryNode> Children) : QueryNode;
internal sealed record OrNode(IReadOnlyList<QueryNode> Children) : QueryNode;
internal sealed record NotNode(QueryNode Child) : QueryNode;

internal enum CompareOp { Eq, Ne, Lt, Lte, Gt, Gte }

/// <summary>Scalar comparison. Equality on an Array field means "contains" (Mongo semantics, as Parse).</summary>
internal sealed record CompareNode(FieldRef Field, CompareOp Op, QueryValue Value) : QueryNode;

internal sealed record InNode(FieldRef Field, IReadOnlyList<QueryValue> Values, bool Negate) : QueryNode;

internal sealed record ExistsNode(FieldRef Field, bool Exists) : QueryNode;

internal sealed record RegexNode(FieldRef Field, string Pattern, string Options) : QueryNode;

/// <summary>Array field contains every value.</summary>
internal sealed record AllNode(FieldRef Field, IReadOnlyList<QueryValue> Values) : QueryNode;

/// <summary>Every element of the array field is in the list.</summary>
internal sealed record ContainedByNode(FieldRef Field, IReadOnlyList<QueryValue> Values) : QueryNode;

/// <summary>Pointer field points to an object of <paramref name="ClassName"/> matching <paramref name="Where"/> (which already carries the caller's read restriction).</summary>
internal sealed record InQueryNode(FieldRef Field, string ClassName, QueryNode Where, bool Negate) : QueryNode;

/// <summary>Field value equals the <paramref name="Key"/> of some object matching the sub-query.</summary>
internal sealed record SelectNode(FieldRef Field, string ClassName, QueryNode Where, FieldRef Key, bool Negate) : QueryNode;

/// <summary>
/// The object is a member of relation <paramref name="Key"/> of the owning object, and the owner matches
/// <paramref name="OwnerWhere"/>: the caller's read restriction on the owner (null for the server's own lookups),
/// so a relation is listed only to callers who may read the object that holds it.
/// </summary>
internal sealed record RelatedToNode(string OwnerClass, string OwnerId, string Key, QueryNode? OwnerWhere = null) : QueryNode;

/// <summary>The relation field of the object contains one of the ids (or none of them when negated).</summary>
internal sealed record RelationContainsNode(FieldRef Field, IReadOnlyList<string> Ids, bool Negate) : QueryNode;

/// <summary>ACL filter: the object has no ACL (public) or grants read (or write) to one of the groups.</summary>
internal sealed record AclNode(IReadOnlyList<string> Groups, bool Write) : QueryNode;

/// <summary>
/// A reference to a field. <see cref="Path"/> holds nested segments for dot paths into Object fields.
/// <see cref="Definition"/> is the schema's view of the top-level field, or null if unknown.
/// </summary>
internal sealed record FieldRef(string Name, IReadOnlyList<string> Path, FieldDefinition? Definition)
{
    public static FieldRef Of(string name, FieldDefinition? definition = null) => new(name, [], definition);

    public bool IsObjectId => Name == "objectId" && Path.Count == 0;
    public bool IsCreatedAt => Name == "createdAt" && Path.Count == 0;
    public bool IsUpdatedAt => Name == "updatedAt" && Path.Count == 0;
    public bool IsSystemColumn => IsObjectId || IsCreatedAt || IsUpdatedAt;
    /// <summary>The relevance of a full-text match (<c>order=$score</c>), not a stored field.</summary>
    public bool IsScore => Name == TextSearch.ScoreKey && Path.Count == 0;
    public bool IsArray => Path.Count == 0 && Definition?.Type == FieldType.Array;
    public bool IsRelation => Path.Count == 0 && Definition?.Type == FieldType.Relation;
    public string Dotted => Path.Count == 0 ? Name : Name + "." + string.Join('.', Path);
}

/// <summary>A typed query operand. Dates are normalised ISO strings; pointers compare by class and id.</summary>
internal abstract record QueryValue;
internal sealed record StringValue(string Value) : QueryValue;
internal sealed record NumberValue(double Value) : QueryValue;
internal sealed record BoolValue(bool Value) : QueryValue;
internal sealed record NullValue : QueryValue { public static readonly NullValue Instance = new(); }
internal sealed record DateValue(string Iso) : QueryValue;
internal sealed record PointerValue(string ClassName, string ObjectId) : QueryValue;
/// <summary>An array or object compared as a whole (exact match).</summary>
internal sealed record DocumentValue(JsonNode Node) : QueryValue;

internal sealed record SortKey(FieldRef Field, bool Descending);
