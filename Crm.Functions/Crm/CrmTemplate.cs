using System.Text.Json.Nodes;
using Crm.Functions.Core.Schema;

namespace Crm.Functions.Crm;

/// <summary>
/// The CRM template: the five classes of crm-schema.json (an embedded copy, so the app never reads files
/// outside itself at run time), the pipeline stages and activity types the rules enforce, and the
/// class-level permissions every template class gets.
/// </summary>
internal static class CrmTemplate
{
    private static readonly Lazy<JsonObject> Embedded = new(() =>
    {
        using var stream = typeof(CrmTemplate).Assembly.GetManifestResourceStream("Crm.Functions.Crm.crm-schema.json")
            ?? throw new InvalidOperationException("The embedded CRM template is missing from the assembly.");
        return JsonNode.Parse(stream)!.AsObject();
    });

    /// <summary>A fresh copy of the template document (callers may change it).</summary>
    public static JsonObject Document => Embedded.Value.DeepClone().AsObject();

    public static IReadOnlyList<string> PipelineStages { get; } = Strings("pipelineStages");

    public static IReadOnlyList<string> ActivityTypes { get; } = Strings("activityTypes");

    public const string DefaultStage = "lead";

    /// <summary>
    /// The chance, in percent, that a deal in each stage is won (the template's <c>stageProbabilities</c>), which weighs
    /// the forecast of <see cref="PipelineSummary"/>. A stage the template leaves out counts 0.
    /// </summary>
    public static IReadOnlyDictionary<string, double> StageProbabilities { get; } =
        PipelineStages.ToDictionary(stage => stage, stage => Embedded.Value["stageProbabilities"]?[stage]?.GetValue<double>() ?? 0, StringComparer.Ordinal);

    private static string[] Strings(string key) =>
        [.. Embedded.Value[key]!.AsArray().Select(n => n!.GetValue<string>())];

    /// <summary>Suggested values of a String field, as the template and the rules know them.</summary>
    public static IReadOnlyList<string>? EnumOf(string className, string field) => (className, field) switch
    {
        ("Deal", "stage") => PipelineStages,
        ("Activity", "type") => ActivityTypes,
        _ => null,
    };

    /// <summary>
    /// What the template declares to the generic mechanisms: records belong to their creator (a deal to its creator,
    /// else its assignee), deals and activities feed every reader's dashboard, a deal's move carries its previous
    /// stage, and the pipeline views' sort orders are indexed.
    /// </summary>
    public static void Declare(ClassDeclarations declarations)
    {
        foreach (var className in new[] { "Company", "Contact", "Activity" })
            ClassDeclaration.AddNew(declarations.Declare(className).OwnerFields, "createdBy");
        var deal = declarations.Declare("Deal");
        ClassDeclaration.AddNew(deal.OwnerFields, "createdBy", "assignedTo");
        deal.Feed = true;
        ClassDeclaration.AddNew(deal.PreviousValues, "stage");
        ClassDeclaration.AddNew(deal.CompositeIndexes, "stage,expectedCloseDate", "stage,-updatedAt");
        var activity = declarations.Declare("Activity");
        activity.Feed = true;
        ClassDeclaration.AddNew(activity.CompositeIndexes, "relatedTo,dueDate");
    }

    /// <summary>
    /// "Authenticated users only": every data operation needs a session (or the master key); nobody but the
    /// master key adds fields, so a client typo cannot grow the schema. Object ACLs then narrow reads further.
    /// </summary>
    public static JsonObject AuthenticatedOnlyClp()
    {
        var clp = new JsonObject();
        foreach (var op in new[] { "find", "count", "get", "create", "update", "delete" })
            clp[op] = new JsonObject { ["requiresAuthentication"] = true };
        clp["addField"] = new JsonObject();
        clp["protectedFields"] = new JsonObject { ["*"] = new JsonArray() };
        return clp;
    }

    /// <summary>Field types in the order the documents list them: system columns first.</summary>
    public static readonly (string Name, string Type, string Description)[] SystemFields =
    [
        ("objectId", FieldType.String, "Unique identifier, assigned by the server"),
        ("createdAt", FieldType.Date, "When the object was created"),
        ("updatedAt", FieldType.Date, "When the object was last changed"),
        ("ACL", FieldType.Acl, "Who may read and write this object"),
    ];
}
