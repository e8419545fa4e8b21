using System.Text.Json.Nodes;
using Crm.Functions.Core.Query;
using Crm.Functions.Core.Schema;
using Microsoft.Azure.Cosmos;

namespace Crm.Functions.Storage.Cosmos;

/// <summary>
/// Indexing policies, defined here and exported verbatim to <c>infra/cosmos-indexing.json</c> (a test keeps the
/// two identical) so the containers the infrastructure provisions are indexed exactly as the store expects.
/// Cosmos rejects an ORDER BY on two or more properties unless a composite index matches it, so every
/// ordering the CRM pipeline views use is declared; multi-field schema indexes add their own.
/// </summary>
internal static class CosmosIndexing
{
    /// <summary>The pipeline orderings: (class, [(index path, descending)]).</summary>
    private static readonly (string ClassName, (string Path, bool Descending)[] Keys)[] Pipeline =
    [
        ("Deal", [("/data/stage", false), ("/data/expectedCloseDate/iso", false)]),
        ("Deal", [("/data/stage", false), ("/updatedAt", true)]),
        ("Activity", [("/data/relatedTo/objectId", false), ("/data/dueDate/iso", false)]),
    ];

    public static IndexingPolicy For(ClassSchema schema)
    {
        var policy = new IndexingPolicy { Automatic = true, IndexingMode = IndexingMode.Consistent };
        policy.IncludedPaths.Add(new IncludedPath { Path = "/*" });
        // Never queried; excluding them saves write RUs on every insert and update.
        policy.ExcludedPaths.Add(new ExcludedPath { Path = "/\"_etag\"/?" });
        policy.ExcludedPaths.Add(new ExcludedPath { Path = "/acl/*" });
        foreach (var keys in CompositeKeys(schema))
        {
            var composite = new System.Collections.ObjectModel.Collection<CompositePath>();
            foreach (var (path, descending) in keys)
                composite.Add(new CompositePath { Path = path, Order = descending ? CompositePathSortOrder.Descending : CompositePathSortOrder.Ascending });
            policy.CompositeIndexes.Add(composite);
        }
        return policy;
    }

    public static IEnumerable<(string Path, bool Descending)[]> CompositeKeys(ClassSchema schema)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (className, keys) in Pipeline)
            if (className == schema.ClassName && seen.Add(Key(keys))) yield return keys;
        foreach (var index in schema.Indexes.Values.Where(i => i.Keys.Count > 1))
        {
            var keys = index.Keys.Select(k => (CosmosQueryTranslator.IndexPath(WhereParser.ResolveField(k.Field, schema)), k.Direction < 0)).ToArray();
            if (seen.Add(Key(keys))) yield return keys;
        }
    }

    private static string Key((string Path, bool Descending)[] keys) => string.Join(",", keys.Select(k => k.Path + (k.Descending ? " desc" : "")));

    /// <summary>The policy as Cosmos's JSON (the shape Bicep's <c>indexingPolicy</c> takes).</summary>
    public static JsonObject ToJson(IndexingPolicy policy) => new()
    {
        ["indexingMode"] = "consistent",
        ["automatic"] = true,
        ["includedPaths"] = new JsonArray(policy.IncludedPaths.Select(p => (JsonNode)new JsonObject { ["path"] = p.Path }).ToArray()),
        ["excludedPaths"] = new JsonArray(policy.ExcludedPaths.Select(p => (JsonNode)new JsonObject { ["path"] = p.Path }).ToArray()),
        ["compositeIndexes"] = new JsonArray(policy.CompositeIndexes.Select(c => (JsonNode)new JsonArray(c.Select(p => (JsonNode)new JsonObject
        {
            ["path"] = p.Path,
            ["order"] = p.Order == CompositePathSortOrder.Descending ? "descending" : "ascending",
        }).ToArray())).ToArray()),
    };

    /// <summary>The content of infra/cosmos-indexing.json: the policy of every container the store creates.</summary>
    public static JsonObject InfraDocument()
    {
        var classes = new JsonObject();
        foreach (var className in new[] { "Deal", "Activity" })
            classes[className] = ToJson(For(ClassSchema.Create(className, PipelineFields(className))));
        return new JsonObject
        {
            ["description"] = "Indexing policies of the Cosmos containers (generated from CosmosIndexing.cs; a test keeps them equal). "
                              + "The default policy applies to every class container not listed under classes.",
            ["partitionKeyPath"] = "/ownerId",
            ["default"] = ToJson(For(ClassSchema.Create("Default"))),
            ["classes"] = classes,
        };
    }

    /// <summary>Field types the pipeline paths rely on (dates by .iso, pointers by .objectId).</summary>
    private static Dictionary<string, FieldDefinition> PipelineFields(string className) => className switch
    {
        "Deal" => new() { ["stage"] = new(FieldType.String), ["expectedCloseDate"] = new(FieldType.Date) },
        _ => new() { ["relatedTo"] = new(FieldType.Pointer, "Contact|Deal"), ["dueDate"] = new(FieldType.Date) },
    };
}
