using System.Collections.Immutable;
using System.Text.Json.Nodes;
using Crm.Functions.Core.Query;
using Crm.Functions.Core.Schema;
using Crm.Functions.Core.Security;
using Crm.Functions.Core.Store;

namespace Crm.Functions.Benchmarks;

/// <summary>The CRM schema and caller the HTTP benchmark seeds (bench/seed.mjs), built in memory.</summary>
internal static class Fixtures
{
    public const string UserId = "u1Bench2Owner3";

    public static readonly Auth User = new() { UserId = UserId, SessionToken = "r:bench" };

    public static ClassSchema Deal { get; } = BuildDeal();

    private static ClassSchema BuildDeal()
    {
        var authOnly = new JsonObject { ["requiresAuthentication"] = true };
        var clp = new JsonObject();
        foreach (var op in new[] { "find", "get", "count", "create", "update", "delete" }) clp[op] = authOnly.DeepClone();
        clp["addField"] = new JsonObject();
        clp["protectedFields"] = new JsonObject { ["*"] = new JsonArray() };
        var schema = ClassSchema.Create("Deal", new Dictionary<string, FieldDefinition>
        {
            ["title"] = new(FieldType.String),
            ["amount"] = new(FieldType.Number),
            ["stage"] = new(FieldType.String),
            ["contact"] = new(FieldType.Pointer, "Contact"),
            ["company"] = new(FieldType.Pointer, "Company"),
            ["expectedCloseDate"] = new(FieldType.Date),
            ["assignedTo"] = new(FieldType.Pointer, "_User"),
        }, clp);
        return schema with
        {
            Indexes = ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, new Dictionary<string, IndexDefinition>
            {
                ["stage_expectedCloseDate"] = new([("stage", 1), ("expectedCloseDate", 1)]),
            }),
        };
    }

    /// <summary>A deal as the store hands it over: data and ACL parsed from their stored JSON text.</summary>
    public static StoredObject StoredDeal(int i) => new()
    {
        ClassName = "Deal",
        ObjectId = "d" + i.ToString("D9", System.Globalization.CultureInfo.InvariantCulture),
        OwnerId = UserId,
        CreatedAt = "2026-01-01T00:00:00.000Z",
        UpdatedAt = "2026-01-02T00:00:00.000Z",
        ETag = "1",
        Acl = (JsonObject)JsonNode.Parse($$$"""{"{{{UserId}}}":{"read":true,"write":true}}""")!,
        Data = (JsonObject)JsonNode.Parse($$$"""
            {"title":"Deal {{{i}}}","amount":{{{1000 + i}}},"stage":"proposal",
             "contact":{"__type":"Pointer","className":"Contact","objectId":"c000000001"},
             "company":{"__type":"Pointer","className":"Company","objectId":"k000000001"},
             "expectedCloseDate":{"__type":"Date","iso":"2026-03-01T00:00:00.000Z"},
             "assignedTo":{"__type":"Pointer","className":"_User","objectId":"{{{UserId}}}"}}
            """)!,
    };
}

/// <summary>The parser's view of a plain user (no sub-queries in these benchmarks).</summary>
internal sealed class UserScope(Auth auth) : IQueryScope
{
    public bool IsMaster => auth.IsMaster;
    public ClassSchema? Schema(string className) => className == "Deal" ? Fixtures.Deal : null;
    public QueryNode SubqueryRestriction(ClassSchema schema) => AccessPolicy.ReadRestriction(auth, schema, AccessPolicy.Find);
    public void EnsureQueryable(ClassSchema schema, string field) => AccessPolicy.EnsureQueryable(auth, schema, field);
}
