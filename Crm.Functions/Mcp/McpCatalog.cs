using System.Globalization;
using System.Text.Json;
using Crm.Functions.Core.Schema;
using Crm.Functions.Crm;
using Crm.Functions.Docs;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;

namespace Crm.Functions.Mcp;

/// <summary>
/// The MCP resources (the data model, rendered from the live schema by the same generators as /docs: structure
/// only, never data) and prompts (ready-made requests that steer a model to the CRM tools).
/// </summary>
internal sealed class McpCatalog(SchemaService schemas, TimeProvider clock)
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private sealed record Document(string Uri, string Name, string Title, string Description, string MimeType, Func<SchemaService, string> Render);

    private static readonly Document[] Documents =
    [
        new("crm://schema.json", "schema", "Schema document", "Every class with its fields, types, pointer targets and descriptions (the template format).",
            "application/json", s => SchemaDocument.Export(s, withPermissions: false).ToJsonString(Indented)),
        new("crm://erd.mmd", "erd", "Entity-relationship diagram", "The classes and their pointers and relations as a Mermaid ER diagram.",
            "text/plain", MermaidErd.Build),
        new("crm://dictionary.md", "dictionary", "Data dictionary", "One table per class: field, type, required, description.",
            "text/markdown", DataDictionary.Markdown),
    ];

    public static ListResourcesResult ListResources() => new()
    {
        Resources = [.. Documents.Select(d => new Resource { Uri = d.Uri, Name = d.Name, Title = d.Title, Description = d.Description, MimeType = d.MimeType })],
    };

    public ReadResourceResult ReadResource(string uri)
    {
        var document = Documents.FirstOrDefault(d => d.Uri == uri)
                       ?? throw new McpProtocolException($"Unknown resource: '{Core.Json.Names.Truncate(uri)}'", McpErrorCode.ResourceNotFound);
        return new ReadResourceResult { Contents = [new TextResourceContents { Uri = document.Uri, MimeType = document.MimeType, Text = document.Render(schemas) }] };
    }

    public static ListPromptsResult ListPrompts() => new()
    {
        Prompts =
        [
            new Prompt { Name = "weekly_pipeline_review", Title = "Weekly pipeline review", Description = "Where the pipeline stands, what slipped, and what to do next." },
            new Prompt { Name = "follow_ups_due_this_week", Title = "Follow-ups due this week", Description = "The open activities due by the end of this week, with a plan." },
        ],
    };

    public GetPromptResult GetPrompt(string name)
    {
        var text = name switch
        {
            "weekly_pipeline_review" =>
                "Give me my weekly pipeline review.\n"
                + "1. Call pipeline_summary grouped by stage, then grouped by closeMonth, for counts, amounts and the weighted forecast.\n"
                + "2. Call overdue_deals to find open deals whose expected close date has passed.\n"
                + "3. Report: totals and weighted forecast, the stages holding the most value, the months ahead, and each overdue deal "
                + "with a concrete next step. Offer to log follow-up activities with log_activity or to move deals with update, "
                + "but change nothing without my confirmation.",
            "follow_ups_due_this_week" =>
                $"List my follow-ups due this week. Call my_open_activities with dueBefore = \"{EndOfWeek().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)}\" "
                + "(the end of this week, UTC). Group them by day, mark those already overdue, and for each name the contact or deal it "
                + "is about (use get on relatedTo). Suggest which to do first; log nothing without my confirmation.",
            _ => throw new McpProtocolException($"Unknown prompt: '{Core.Json.Names.Truncate(name)}'", McpErrorCode.InvalidParams),
        };
        return new GetPromptResult
        {
            Description = ListPrompts().Prompts.Single(p => p.Name == name).Description,
            Messages = [new PromptMessage { Role = Role.User, Content = new TextContentBlock { Text = text } }],
        };
    }

    /// <summary>Next Monday 00:00 UTC: ISO weeks end on Sunday.</summary>
    private DateTime EndOfWeek()
    {
        var today = clock.GetUtcNow().UtcDateTime.Date;
        var days = ((int)DayOfWeek.Monday - (int)today.DayOfWeek + 7) % 7;
        return today.AddDays(days == 0 ? 7 : days);
    }
}
