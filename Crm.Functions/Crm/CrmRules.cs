using System.Net.Mail;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Crm.Functions.Core;
using Crm.Functions.Core.Security;
using Crm.Functions.Core.Triggers;
using Microsoft.Extensions.Options;

namespace Crm.Functions.Crm;

/// <summary>Settings of the CRM template, bound from the "Crm" section (env <c>Crm__ManagersRole</c>, …).</summary>
internal sealed class CrmSettings
{
    public const string Section = "Crm";

    /// <summary>
    /// Create or complete the CRM classes at start (idempotent) and enforce their rules. Off, the server is a
    /// plain Parse server: no CRM classes, rules or pipelineSummary.
    /// </summary>
    public bool ApplyTemplate { get; set; } = true;

    /// <summary>
    /// Members of this role read every CRM object: the template adds <c>role:{name}:read</c> to each new
    /// object's ACL. Empty turns the widening off. Writing stays with owners (and the master key).
    /// </summary>
    public string ManagersRole { get; set; } = "Managers";

    /// <summary>Serve /docs (diagram, dictionary, OpenAPI, playground). They show structure, never data; off hides it.</summary>
    public bool PublicDocs { get; set; } = true;
}

/// <summary>
/// The CRM's rules, as hooks around the default save and delete (registered here, one block per class):
/// who created a record, who may see it, which values a field may take, and what deleting may break.
/// They run on every door (REST, batch, GraphQL, demo data) because all of them save through the core.
/// </summary>
internal sealed partial class CrmRules(DataService data, IOptions<CrmSettings> options, TimeProvider time)
{
    private string? ManagersKey => string.IsNullOrWhiteSpace(options.Value.ManagersRole) ? null : "role:" + options.Value.ManagersRole.Trim();

    public void Register(TriggerRegistry triggers)
    {
        // Company and Contact: the creator owns them; an email address is one.
        foreach (var className in new[] { "Company", "Contact" })
            triggers.BeforeSave(className, (e, _) => { StampCreator(e); CheckEmail(e); OwnerAcl(e); return ValueTask.CompletedTask; });

        // Deal: stage in the pipeline, an amount of 0 or more, owned by the creator and the assignee.
        triggers.BeforeSave("Deal", (e, _) => { StampCreator(e); CheckStage(e); CheckAmount(e); DealAcl(e); return ValueTask.CompletedTask; });

        // Activity: a known type and a subject, about something the caller can read.
        triggers.BeforeSave("Activity", async (e, ct) =>
        {
            StampCreator(e);
            CheckActivityType(e);
            CheckSubject(e);
            await CheckRelatedToAsync(e, ct);
            OwnerAcl(e);
        });

        // Deleting what others refer to is refused: the history stays whole and no link points at nothing (see
        // README, "Delete rule"). Activities refer to contacts and deals; contacts and deals to their company.
        triggers.BeforeDelete("Contact", RefuseIfReferencedAsync);
        triggers.BeforeDelete("Deal", RefuseIfReferencedAsync);
        triggers.BeforeDelete("Company", RefuseIfCompanyInUseAsync);

        triggers.Define("pipelineSummary", new PipelineSummary(data, time).RunAsync);
    }

    // ---- createdBy -------------------------------------------------------------------------------------

    /// <summary>createdBy is the caller, whatever the client sent; only the master key may name someone else (imports, demo data).</summary>
    private static void StampCreator(SaveEvent e)
    {
        var obj = e.Object.Data;
        if (e.IsCreate)
        {
            if (e.Auth.IsMaster && obj["createdBy"] is not null) return;
            if (e.Auth.UserId is { } me) obj["createdBy"] = Pointer("_User", me);
            else obj.Remove("createdBy");
            return;
        }
        if (e.Auth.IsMaster || !e.ChangedFields.Contains("createdBy")) return;
        if (!JsonNode.DeepEquals(e.Original!.Data["createdBy"], obj["createdBy"]))
            throw new ParseException(ParseError.ChangedImmutableField, "createdBy cannot be changed.");
    }

    // ---- ACLs ------------------------------------------------------------------------------------------

    /// <summary>
    /// The template ACL is a floor: the creator reads and writes, managers read. Entries the client adds
    /// (sharing with a colleague or a role) are kept, so a client can widen access but never lock the owner out.
    /// </summary>
    private void OwnerAcl(SaveEvent e)
    {
        if (!e.IsCreate && !e.ChangedFields.Contains("ACL")) return;
        var acl = e.Object.Acl ?? [];
        if (UserId(e.Object.Data["createdBy"]) is { } owner) acl[owner] = ReadWrite();
        AddManagers(acl);
        e.Object.Acl = acl;
    }

    /// <summary>A deal belongs to its creator and its assignee; on reassignment the old assignee's access goes with it.</summary>
    private void DealAcl(SaveEvent e)
    {
        var obj = e.Object.Data;
        if (e.IsCreate && obj["assignedTo"] is null && e.Auth.UserId is { } me) obj["assignedTo"] = Pointer("_User", me);
        if (obj["assignedTo"] is not null && UserId(obj["assignedTo"]) is null)
            throw new ParseException(ParseError.ValidationError, "assignedTo must be a pointer to a _User.");

        var reassigned = !e.IsCreate && e.ChangedFields.Contains("assignedTo");
        if (!e.IsCreate && !reassigned && !e.ChangedFields.Contains("ACL")) return;

        var acl = e.Object.Acl ?? [];
        var creator = UserId(obj["createdBy"]);
        if (reassigned && UserId(e.Original!.Data["assignedTo"]) is { } previous && previous != creator) acl.Remove(previous);
        if (creator is not null) acl[creator] = ReadWrite();
        if (UserId(obj["assignedTo"]) is { } assignee) acl[assignee] = ReadWrite();
        AddManagers(acl);
        e.Object.Acl = acl;
    }

    private void AddManagers(JsonObject acl)
    {
        if (ManagersKey is not { } key) return;
        var entry = acl[key] as JsonObject ?? [];
        entry["read"] = true;
        acl[key] = entry;
    }

    // ---- values ----------------------------------------------------------------------------------------

    private static void CheckStage(SaveEvent e)
    {
        var obj = e.Object.Data;
        if (e.IsCreate && obj["stage"] is null) obj["stage"] = CrmTemplate.DefaultStage;
        if (!e.IsCreate && !e.ChangedFields.Contains("stage")) return;
        if (!IsOneOf(obj["stage"], CrmTemplate.PipelineStages))
            throw new ParseException(ParseError.ValidationError, $"stage must be one of {string.Join(", ", CrmTemplate.PipelineStages)}.");
    }

    private static void CheckActivityType(SaveEvent e)
    {
        if (!e.IsCreate && !e.ChangedFields.Contains("type")) return;
        if (!IsOneOf(e.Object.Data["type"], CrmTemplate.ActivityTypes))
            throw new ParseException(ParseError.ValidationError, $"type must be one of {string.Join(", ", CrmTemplate.ActivityTypes)}.");
    }

    // Messages start with the field's name, so a client can show them at the field (the web app does).

    [GeneratedRegex(@"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")]
    private static partial Regex EmailPattern();

    /// <summary>An email address, when given, is one: something@domain.tld (empty clears it).</summary>
    private static void CheckEmail(SaveEvent e)
    {
        const string field = "email";
        if (!e.IsCreate && !e.ChangedFields.Contains(field)) return;
        var value = e.Object.Data[field];
        if (value is null) return;
        if (value is not JsonValue v || !v.TryGetValue(out string? email)
            || (email.Length > 0 && (email.Length > 254 || !EmailPattern().IsMatch(email) || !MailAddress.TryCreate(email, out _))))
            throw new ParseException(ParseError.ValidationError, $"{field} must be a valid email address, like name@example.com.");
    }

    private static void CheckAmount(SaveEvent e)
    {
        const string field = "amount";
        if (!e.IsCreate && !e.ChangedFields.Contains(field)) return;
        if (Number(e.Object.Data[field]) is < 0)
            throw new ParseException(ParseError.ValidationError, $"{field} must be 0 or more.");
    }

    private static void CheckSubject(SaveEvent e)
    {
        const string field = "subject";
        if (!e.IsCreate && !e.ChangedFields.Contains(field)) return;
        if (e.Object.Data[field] is not JsonValue v || !v.TryGetValue(out string? subject) || string.IsNullOrWhiteSpace(subject))
            throw new ParseException(ParseError.ValidationError, $"{field} is required: say what the {e.Object.Data["type"]?.ToString() ?? "activity"} is about.");
    }

    /// <summary>
    /// relatedTo must name a Contact or Deal the caller can read: otherwise an activity could be hung on a
    /// record the caller cannot see, and its existence probed by trying ids.
    /// </summary>
    private async Task CheckRelatedToAsync(SaveEvent e, CancellationToken ct)
    {
        if (!e.IsCreate && !e.ChangedFields.Contains("relatedTo")) return;
        var value = e.Object.Data["relatedTo"];
        if (value is null) return;
        const string message = "relatedTo must point to an existing Contact or Deal you can read.";
        if (value is not JsonObject p || p["__type"]?.ToString() != "Pointer"
            || p["className"]?.ToString() is not ("Contact" or "Deal") || p["objectId"]?.ToString() is not { Length: > 0 } id)
            throw new ParseException(ParseError.ValidationError, message);
        try
        {
            await data.GetAsync(e.Auth, p["className"]!.ToString(), id, new FindRequest { Keys = ["objectId"] }, ct);
        }
        catch (ParseException)
        {
            throw new ParseException(ParseError.ValidationError, message);
        }
    }

    private async ValueTask RefuseIfReferencedAsync(DeleteEvent e, CancellationToken ct)
    {
        if (data.Schemas.Get("Activity") is null) return;
        // Counted with the master key: activities the caller cannot see must not be orphaned either. An activity
        // created at the same instant can still slip through; readers then find relatedTo unresolvable, as for
        // any pointer to an object they cannot read.
        var where = new JsonObject { ["relatedTo"] = Pointer(e.Schema.ClassName, e.Object.ObjectId) };
        var found = await data.FindAsync(Auth.Master, "Activity", new FindRequest { Where = where, Limit = 0, Count = true }, ct);
        if (found.Count is > 0 and var count)
            throw new ParseException(ParseError.ValidationError,
                $"Cannot delete this {e.Schema.ClassName}: {count} {(count == 1 ? "activity refers" : "activities refer")} to it. Delete or move them first.");
    }

    /// <summary>
    /// A company keeps its contacts and deals: deleting it would leave them pointing at nothing. Counted with the
    /// master key, as for activities: records the caller cannot see must not be orphaned either.
    /// </summary>
    private async ValueTask RefuseIfCompanyInUseAsync(DeleteEvent e, CancellationToken ct)
    {
        var parts = new List<string>();
        foreach (var (className, one, many) in new[] { ("Contact", "contact", "contacts"), ("Deal", "deal", "deals") })
        {
            if (data.Schemas.Get(className) is null) continue;
            var where = new JsonObject { ["company"] = Pointer("Company", e.Object.ObjectId) };
            var found = await data.FindAsync(Auth.Master, className, new FindRequest { Where = where, Limit = 0, Count = true }, ct);
            if (found.Count is > 0 and var count) parts.Add($"{count} {(count == 1 ? one : many)}");
        }
        if (parts.Count == 0) return;
        var total = string.Join(" and ", parts);
        throw new ParseException(ParseError.ValidationError,
            $"Cannot delete this Company: {total} {(parts.Count == 1 && total.StartsWith("1 ", StringComparison.Ordinal) ? "refers" : "refer")} to it. Delete them or move them to another company first.");
    }

    // ---- helpers ---------------------------------------------------------------------------------------

    public static JsonObject Pointer(string className, string objectId) =>
        new() { ["__type"] = "Pointer", ["className"] = className, ["objectId"] = objectId };

    /// <summary>A JSON number as a double, whatever CLR type holds it (an Increment leaves a long or a decimal).</summary>
    public static double? Number(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.Number
            ? double.Parse(v.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture) : null;

    private static JsonObject ReadWrite() => new() { ["read"] = true, ["write"] = true };

    private static string? UserId(JsonNode? node) =>
        node is JsonObject p && p["className"]?.ToString() == "_User" && p["objectId"]?.ToString() is { Length: > 0 } id ? id : null;

    private static bool IsOneOf(JsonNode? node, IReadOnlyList<string> values) =>
        node is JsonValue v && v.TryGetValue(out string? s) && values.Contains(s, StringComparer.Ordinal);
}
