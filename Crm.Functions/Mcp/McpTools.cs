using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Crm.Functions.Core;
using Crm.Functions.Core.Json;
using Crm.Functions.Core.Schema;
using Crm.Functions.Core.Security;
using Crm.Functions.Crm;
using Crm.Functions.Http;
using Microsoft.Extensions.Options;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;

namespace Crm.Functions.Mcp;

/// <summary>
/// The MCP tools. They are built from the live schema on every <c>tools/list</c>: the generic tools take a
/// <c>className</c> whose JSON-schema enum is the application's classes at that moment, so a class added through
/// /schemas is offered at once, with a fixed, small tool list (one tool per class would grow the list, and the model's
/// context, with every class). Every tool calls <see cref="DataService"/> with the caller's <see cref="Auth"/>, exactly
/// as REST does, so class-level permissions, ACLs, protected fields, triggers and the request budget all apply.
/// </summary>
internal sealed class McpTools(DataService data, SchemaService schemas, TimeProvider clock, IOptions<McpSettings> options,
    Core.History.HistoryService history)
{
    /// <summary>Win probability per pipeline stage, for the weighted forecast (a deal in an unknown stage weighs 0).</summary>
    public static readonly IReadOnlyDictionary<string, double> StageWeights = new Dictionary<string, double>(StringComparer.Ordinal)
    {
        ["lead"] = 0.1, ["qualified"] = 0.25, ["proposal"] = 0.5, ["negotiation"] = 0.75, ["won"] = 1.0, ["lost"] = 0.0,
    };

    /// <summary>Built-in classes the tools leave out: sessions hold tokens and installations are devices, neither CRM data.</summary>
    private static readonly HashSet<string> LeftOut = new(StringComparer.Ordinal) { "_Session", "_Installation" };

    private const int PageSize = 1000;

    private sealed record Answer(string Summary, JsonNode Result);

    private delegate Task<Answer> Handler(McpTools tools, Auth auth, JsonObject args, CancellationToken ct);

    /// <summary>One tool: its MCP description, annotations, input schema (given the live class names) and handler.</summary>
    private sealed record Definition(string Name, string Title, string Description, bool ReadOnly, bool Destructive, bool Idempotent,
        bool NeedsCrm, Func<IReadOnlyList<string>, JsonObject> Input, Handler Handle);

    private static readonly Definition[] Definitions =
    [
        new("describe_schema", "Describe the data model",
            "The classes you can work with: their fields (type, pointer target, required, allowed values, description) and which operations you may perform. Call this first.",
            ReadOnly: true, Destructive: false, Idempotent: true, NeedsCrm: false,
            classes => Input(new() { ["className"] = ClassName(classes, "Only this class (all classes when left out).") }),
            (t, auth, args, _) => Task.FromResult(t.DescribeSchema(auth, OptionalText(args, "className")))),
        new("find", "Find objects",
            "Query one class with Parse's query language. where: {\"stage\":\"proposal\",\"amount\":{\"$gte\":1000}}; dates as {\"__type\":\"Date\",\"iso\":\"2026-01-31T00:00:00.000Z\"}; pointers as {\"__type\":\"Pointer\",\"className\":\"Company\",\"objectId\":\"…\"}. Only objects you may read are returned.",
            ReadOnly: true, Destructive: false, Idempotent: true, NeedsCrm: false,
            classes => Input(new()
            {
                ["className"] = ClassName(classes),
                ["where"] = new JsonObject { ["type"] = "object", ["description"] = "Parse where clause: field equality and operators such as $lt, $lte, $gt, $gte, $ne, $in, $nin, $exists, $regex, $or, $and, $inQuery, $relatedTo." },
                ["order"] = new JsonObject { ["type"] = "string", ["description"] = "Comma-separated fields; a leading '-' sorts descending, e.g. \"-amount,title\"." },
                ["limit"] = new JsonObject { ["type"] = "integer", ["minimum"] = 0, ["description"] = "At most this many objects (default 100; 0 with count=true counts only)." },
                ["skip"] = new JsonObject { ["type"] = "integer", ["minimum"] = 0, ["description"] = "Objects to skip, for paging." },
                ["keys"] = StringList("Only these fields (plus objectId, createdAt, updatedAt); dotted paths select fields of included objects."),
                ["include"] = StringList("Pointer fields whose objects are returned in place, e.g. [\"company\", \"contact\"]."),
                ["count"] = new JsonObject { ["type"] = "boolean", ["description"] = "Also return the number of matching objects." },
            }, "className"),
            (t, auth, args, ct) => t.FindAsync(auth, args, ct)),
        new("get", "Get one object", "One object by its objectId; not found (101) when it does not exist or you may not read it.",
            ReadOnly: true, Destructive: false, Idempotent: true, NeedsCrm: false,
            classes => Input(new()
            {
                ["className"] = ClassName(classes),
                ["objectId"] = ObjectId(),
                ["keys"] = StringList("Only these fields."),
                ["include"] = StringList("Pointer fields whose objects are returned in place."),
            }, "className", "objectId"),
            (t, auth, args, ct) => t.GetAsync(auth, args, ct)),
        new("create", "Create an object",
            "Creates one object. fields holds the values in Parse's JSON encoding (dates, pointers as in find). Returns objectId and createdAt.",
            ReadOnly: false, Destructive: false, Idempotent: false, NeedsCrm: false,
            classes => Input(new()
            {
                ["className"] = ClassName(classes),
                ["fields"] = new JsonObject { ["type"] = "object", ["description"] = "Field values, e.g. {\"title\":\"Acme renewal\",\"amount\":5000}." },
            }, "className", "fields"),
            (t, auth, args, ct) => t.CreateAsync(auth, args, ct)),
        new("update", "Update an object",
            "Changes fields of one object. Values replace the field; Parse's operators change it in place: {\"__op\":\"Increment\",\"amount\":1}, {\"__op\":\"Add\",\"objects\":[…]}, {\"__op\":\"AddUnique\",…}, {\"__op\":\"Remove\",…}, {\"__op\":\"Delete\"} (unset), {\"__op\":\"AddRelation\",…}, {\"__op\":\"RemoveRelation\",…}.",
            ReadOnly: false, Destructive: true, Idempotent: false, NeedsCrm: false,
            classes => Input(new()
            {
                ["className"] = ClassName(classes),
                ["objectId"] = ObjectId(),
                ["fields"] = new JsonObject { ["type"] = "object", ["description"] = "Fields to change, e.g. {\"stage\":\"negotiation\"}." },
            }, "className", "objectId", "fields"),
            (t, auth, args, ct) => t.UpdateAsync(auth, args, ct)),
        new("delete", "Delete an object", "Deletes one object for good.",
            ReadOnly: false, Destructive: true, Idempotent: true, NeedsCrm: false,
            classes => Input(new() { ["className"] = ClassName(classes), ["objectId"] = ObjectId() }, "className", "objectId"),
            (t, auth, args, ct) => t.DeleteAsync(auth, args, ct)),
        new("history", "Object history",
            "Who changed one object, when, through which door, and which fields (old and new values), newest first; also for a deleted object. Not found (101) when you may not read the object; 119 for a class whose history is not kept.",
            ReadOnly: true, Destructive: false, Idempotent: true, NeedsCrm: false,
            classes => Input(new()
            {
                ["className"] = ClassName(classes),
                ["objectId"] = ObjectId(),
                ["limit"] = new JsonObject { ["type"] = "integer", ["minimum"] = 0, ["maximum"] = 1000, ["description"] = "At most this many changes (default 50)." },
                ["skip"] = new JsonObject { ["type"] = "integer", ["minimum"] = 0, ["description"] = "Changes to skip, for paging." },
            }, "className", "objectId"),
            (t, auth, args, ct) => t.HistoryAsync(auth, args, ct)),
        new("pipeline_summary", "Pipeline summary",
            "Deal count, total amount and weighted forecast (amount × stage win probability: lead 10%, qualified 25%, proposal 50%, negotiation 75%, won 100%, lost 0%) over the deals you can see, grouped by stage, owner (assignedTo) or expected close month.",
            ReadOnly: true, Destructive: false, Idempotent: true, NeedsCrm: true,
            _ => Input(new()
            {
                ["groupBy"] = new JsonObject { ["type"] = "string", ["enum"] = new JsonArray("stage", "owner", "closeMonth"), ["default"] = "stage" },
            }),
            (t, auth, args, ct) => t.PipelineSummaryAsync(auth, args, ct)),
        new("log_activity", "Log an activity",
            "Records a call, email, meeting or note about a contact or a deal you can see. Without dueDate it is logged as done now; with dueDate and completed=false it is an open follow-up.",
            ReadOnly: false, Destructive: false, Idempotent: false, NeedsCrm: true,
            _ => Input(new()
            {
                ["type"] = new JsonObject { ["type"] = "string", ["enum"] = Strings(CrmTemplate.ActivityTypes) },
                ["subject"] = new JsonObject { ["type"] = "string", ["description"] = "Short subject." },
                ["description"] = new JsonObject { ["type"] = "string", ["description"] = "Details." },
                ["relatedClass"] = new JsonObject { ["type"] = "string", ["enum"] = new JsonArray("Contact", "Deal") },
                ["relatedId"] = new JsonObject { ["type"] = "string", ["description"] = "objectId of the contact or deal." },
                ["dueDate"] = new JsonObject { ["type"] = "string", ["format"] = "date-time", ["description"] = "When it is due (ISO 8601)." },
                ["completed"] = new JsonObject { ["type"] = "boolean", ["description"] = "Done already (default: true without dueDate, false with one)." },
            }, "type", "subject", "relatedClass", "relatedId"),
            (t, auth, args, ct) => t.LogActivityAsync(auth, args, ct)),
        new("my_open_activities", "My open activities",
            "The activities you logged that are not completed, soonest due first.",
            ReadOnly: true, Destructive: false, Idempotent: true, NeedsCrm: true,
            _ => Input(new()
            {
                ["dueBefore"] = new JsonObject { ["type"] = "string", ["format"] = "date-time", ["description"] = "Only those due before this time (ISO 8601)." },
                ["limit"] = new JsonObject { ["type"] = "integer", ["minimum"] = 1, ["description"] = "At most this many (default 100)." },
            }),
            (t, auth, args, ct) => t.OpenActivitiesAsync(auth, args, ct)),
        new("overdue_deals", "Overdue deals",
            "Open deals (not won or lost) whose expected close date has passed, oldest first.",
            ReadOnly: true, Destructive: false, Idempotent: true, NeedsCrm: true,
            _ => Input(new()
            {
                ["onlyMine"] = new JsonObject { ["type"] = "boolean", ["description"] = "Only deals assigned to you (default true); false: every deal you can see." },
                ["limit"] = new JsonObject { ["type"] = "integer", ["minimum"] = 1, ["description"] = "At most this many (default 100)." },
            }),
            (t, auth, args, ct) => t.OverdueDealsAsync(auth, args, ct)),
    ];

    private bool ReadOnlyMode => options.Value.ReadOnly;

    /// <summary>Whether the CRM classes are there (the template may be off: then only the generic tools are offered).</summary>
    private bool HasCrm => schemas.Get("Deal") is not null && schemas.Get("Activity") is not null && schemas.Get("Contact") is not null;

    private IEnumerable<Definition> Offered => Definitions.Where(d => (d.ReadOnly || !ReadOnlyMode) && (!d.NeedsCrm || HasCrm));

    /// <summary>The classes the generic tools work on: application classes, users and roles (never internal classes).</summary>
    public IReadOnlyList<string> ClassNames() =>
        [.. schemas.All.Select(c => c.ClassName).Where(n => !Names.MasterOnlyClasses.Contains(n) && !LeftOut.Contains(n))];

    public ListToolsResult List()
    {
        var classes = ClassNames();
        return new ListToolsResult
        {
            Tools = [.. Offered.Select(d => new Tool
            {
                Name = d.Name,
                Title = d.Title,
                Description = d.Description,
                InputSchema = JsonSerializer.SerializeToElement(d.Input(classes)),
                Annotations = new ToolAnnotations
                {
                    Title = d.Title, ReadOnlyHint = d.ReadOnly, DestructiveHint = d.Destructive, IdempotentHint = d.Idempotent, OpenWorldHint = false,
                },
            })],
        };
    }

    /// <summary>
    /// Runs a tool for <paramref name="auth"/>. A Parse refusal (permission, validation, budget) is a tool error the
    /// model can read, with Parse's code; an unknown tool, or a write in read-only mode, is a protocol error.
    /// </summary>
    public async Task<CallToolResult> CallAsync(Auth auth, string name, IDictionary<string, JsonElement>? arguments, CancellationToken ct)
    {
        var definition = Definitions.FirstOrDefault(d => d.Name == name);
        if (definition is not null && !definition.ReadOnly && ReadOnlyMode)
            throw new McpProtocolException($"The tool '{name}' changes data and this server is read-only.", McpErrorCode.InvalidParams);
        if (definition is null || !Offered.Contains(definition))
            throw new McpProtocolException($"Unknown tool: '{Names.Truncate(name)}'", McpErrorCode.InvalidParams);
        var args = new JsonObject();
        foreach (var (key, value) in arguments ?? new Dictionary<string, JsonElement>()) args[key] = JsonNode.Parse(value.GetRawText());
        try
        {
            var answer = await definition.Handle(this, auth, args, ct);
            var structured = answer.Result as JsonObject ?? new JsonObject { ["result"] = answer.Result };
            return new CallToolResult
            {
                Content = [new TextContentBlock { Text = answer.Summary }, new TextContentBlock { Text = structured.ToJsonString() }],
                StructuredContent = JsonSerializer.SerializeToElement(structured),
            };
        }
        catch (ParseException e)
        {
            var error = new JsonObject { ["code"] = (int)e.Code, ["error"] = e.Message };
            return new CallToolResult
            {
                IsError = true,
                Content = [new TextContentBlock { Text = $"Refused (Parse error {(int)e.Code}): {e.Message}" }],
                StructuredContent = JsonSerializer.SerializeToElement(error),
            };
        }
    }

    // ---- generic tools -------------------------------------------------------------------------------------

    private Answer DescribeSchema(Auth auth, string? only)
    {
        var names = ClassNames();
        if (only is not null) ClassArgument(only);
        var classes = new JsonArray();
        foreach (var name in names.Where(n => only is null || n == only))
        {
            var schema = schemas.Get(name)!;
            var hidden = AccessPolicy.ProtectedFields(auth, schema);
            var fields = new JsonObject();
            foreach (var (field, definition) in schema.Fields)
            {
                if (hidden.Contains(field) || field == "password") continue;
                var entry = new JsonObject { ["type"] = definition.Type };
                if (definition.TargetClass is not null) entry["targetClass"] = definition.TargetClass;
                if (definition.Required) entry["required"] = true;
                if (CrmTemplate.EnumOf(name, field) is { } values) entry["enum"] = Strings(values);
                if (definition.Description is not null) entry["description"] = definition.Description;
                fields[field] = entry;
            }
            var described = new JsonObject { ["className"] = name };
            if (schema.Description is not null) described["description"] = schema.Description;
            described["fields"] = fields;
            described["operations"] = Operations(auth, schema);
            classes.Add(described);
        }
        var result = new JsonObject { ["classes"] = classes };
        if (HasCrm) result["pipelineStages"] = Strings(CrmTemplate.PipelineStages);
        return new Answer($"{classes.Count} class(es): {string.Join(", ", names.Where(n => only is null || n == only))}.", result);
    }

    /// <summary>What the caller may do with a class: "all", "own" (objects whose pointer fields name the caller) or absent.</summary>
    private static JsonObject Operations(Auth auth, ClassSchema schema)
    {
        var operations = new JsonObject();
        foreach (var op in new[] { AccessPolicy.Find, AccessPolicy.Get, AccessPolicy.Create, AccessPolicy.Update, AccessPolicy.Delete })
        {
            try
            {
                AccessPolicy.CheckClassAccess(auth, schema.ClassName, op);
                var pointerFields = AccessPolicy.CheckClassLevel(auth, schema, op);
                operations[op] = pointerFields.Count == 0 ? "allowed" : "own";
            }
            catch (ParseException)
            {
                operations[op] = "denied";
            }
        }
        return operations;
    }

    private async Task<Answer> FindAsync(Auth auth, JsonObject args, CancellationToken ct)
    {
        var className = ClassArgument(Text(args, "className"));
        var query = new JsonObject();
        foreach (var key in new[] { "where", "order", "limit", "skip", "keys", "include", "count" })
            if (args[key] is { } value) query[key] = value.DeepClone();
        var found = await data.FindAsync(auth, className, QueryParameters.ForFind(query), ct);
        var results = new JsonArray();
        foreach (var item in found.Results) results.Add(item.DeepClone());
        var result = new JsonObject { ["results"] = results };
        var summary = $"{results.Count} {className} object(s)";
        if (found.Count is { } count)
        {
            result["count"] = count;
            summary += $", {count} matching in all";
        }
        return new Answer(summary + ".", result);
    }

    private async Task<Answer> GetAsync(Auth auth, JsonObject args, CancellationToken ct)
    {
        var className = ClassArgument(Text(args, "className"));
        var objectId = Text(args, "objectId");
        var shape = new JsonObject();
        foreach (var key in new[] { "keys", "include" })
            if (args[key] is { } value) shape[key] = value.DeepClone();
        var found = await data.GetAsync(auth, className, objectId, QueryParameters.ForGet(shape), ct);
        return new Answer($"{className} {objectId}{Label(found)}.", found);
    }

    private async Task<Answer> CreateAsync(Auth auth, JsonObject args, CancellationToken ct)
    {
        var className = ClassArgument(Text(args, "className"));
        var created = await data.CreateAsync(auth, className, Fields(args), ct);
        return new Answer($"Created {className} {created.Object.ObjectId}.", created.Response);
    }

    private async Task<Answer> UpdateAsync(Auth auth, JsonObject args, CancellationToken ct)
    {
        var className = ClassArgument(Text(args, "className"));
        var objectId = Text(args, "objectId");
        var fields = Fields(args);
        var changed = string.Join(", ", fields.Select(f => f.Key));
        var updated = await data.UpdateAsync(auth, className, objectId, fields, ct);
        return new Answer($"Updated {className} {objectId} ({changed}).", updated.Response);
    }

    private async Task<Answer> DeleteAsync(Auth auth, JsonObject args, CancellationToken ct)
    {
        var className = ClassArgument(Text(args, "className"));
        var objectId = Text(args, "objectId");
        await data.DeleteAsync(auth, className, objectId, ct);
        return new Answer($"Deleted {className} {objectId}.", new JsonObject());
    }

    private async Task<Answer> HistoryAsync(Auth auth, JsonObject args, CancellationToken ct)
    {
        var className = ClassArgument(Text(args, "className"));
        var objectId = Text(args, "objectId");
        var entries = await history.ReadAsync(auth, className, objectId, Count(args, "limit"), Count(args, "skip"), ct);
        static string Line(JsonObject e) =>
            $"; {e["event"]} #{e["sequence"]} at {e["at"]?["iso"]} by {(e["user"]?["objectId"] is { } user ? "user " + user : e["master"]!.GetValue<bool>() ? "the master key" : "the server")}"
            + $" via {e["door"]}" + (e["changes"] is JsonArray { Count: > 0 } changes ? ": " + string.Join(", ", changes.Select(c => c?["field"])) : "");
        return new Answer($"{entries.Count} change(s) of {className} {objectId}" + string.Concat(entries.Take(5).Select(Line)) + ".",
            new JsonObject { ["results"] = new JsonArray([.. entries.Select(e => (JsonNode)e)]) });
    }

    // ---- CRM tools ------------------------------------------------------------------------------------------

    /// <summary>
    /// Pages through the deals the caller can see (keyset pagination by objectId, only the fields it needs, as
    /// <see cref="PipelineSummary"/> does), so at most one page is in memory whatever the pipeline's size.
    /// </summary>
    private async Task<Answer> PipelineSummaryAsync(Auth auth, JsonObject args, CancellationToken ct)
    {
        var groupBy = OptionalText(args, "groupBy") ?? "stage";
        if (groupBy is not ("stage" or "owner" or "closeMonth"))
            throw new ParseException(ParseError.InvalidQuery, "groupBy must be stage, owner or closeMonth.");
        // Stages in pipeline order (every stage, even empty); owners and months sorted.
        var groups = new OrderedDictionary<string, (long Count, double Amount, double Weighted)>(StringComparer.Ordinal);
        if (groupBy == "stage") foreach (var stage in CrmTemplate.PipelineStages) groups[stage] = (0, 0, 0);
        string? after = null;
        while (true)
        {
            var where = new JsonObject();
            if (after is not null) where["objectId"] = new JsonObject { ["$gt"] = after };
            var page = await data.FindAsync(auth, "Deal",
                new FindRequest { Where = where, Order = "objectId", Limit = PageSize, Keys = ["amount", "stage", "assignedTo", "expectedCloseDate"] }, ct);
            if (page.Results.Count == 0) break;
            foreach (var deal in page.Results)
            {
                var stage = deal["stage"] is JsonValue s && s.TryGetValue(out string? st) ? st : "";
                var amount = deal["amount"] is JsonValue a && a.TryGetValue(out double value) && double.IsFinite(value) ? value : 0;
                var key = groupBy switch
                {
                    "stage" => stage.Length > 0 ? stage : "(none)",
                    "owner" => deal["assignedTo"]?["objectId"] is JsonValue o && o.TryGetValue(out string? owner) ? owner : "(unassigned)",
                    _ => deal["expectedCloseDate"]?["iso"] is JsonValue d && d.TryGetValue(out string? iso) && iso.Length >= 7 ? iso[..7] : "(no date)",
                };
                var (count, sum, weighted) = groups.GetValueOrDefault(key);
                groups[key] = (count + 1, sum + amount, weighted + amount * StageWeights.GetValueOrDefault(stage));
            }
            after = page.Results[^1]["objectId"]!.GetValue<string>();
        }
        var owners = groupBy == "owner" ? await UsernamesAsync(auth, groups.Keys, ct) : null;
        var list = new JsonArray();
        long totalCount = 0;
        double totalAmount = 0, totalWeighted = 0;
        foreach (var (key, (count, amount, weighted)) in groupBy == "stage" ? groups.AsEnumerable() : groups.OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var group = new JsonObject { [groupBy] = key, ["count"] = count, ["amount"] = amount, ["weightedAmount"] = Math.Round(weighted, 2) };
            if (owners?.GetValueOrDefault(key) is { } username) group["username"] = username;
            list.Add(group);
            totalCount += count;
            totalAmount += amount;
            totalWeighted += weighted;
        }
        var weights = new JsonObject();
        foreach (var (stage, weight) in StageWeights) weights[stage] = weight;
        var result = new JsonObject
        {
            ["groupBy"] = groupBy,
            ["groups"] = list,
            ["total"] = new JsonObject { ["count"] = totalCount, ["amount"] = totalAmount, ["weightedAmount"] = Math.Round(totalWeighted, 2) },
            ["stageWeights"] = weights,
        };
        var groupsText = string.Join(", ", list.Select(g => $"{g!["username"] ?? g[groupBy]} {g["count"]} ({g["amount"]})"));
        return new Answer(string.Create(CultureInfo.InvariantCulture,
            $"{totalCount} deal(s), {totalAmount:0.##} in all, weighted forecast {totalWeighted:0.##}; by {groupBy}: {groupsText}."), result);
    }

    /// <summary>Usernames of the owners the caller may read (through the same access checks as any _User query).</summary>
    private async Task<Dictionary<string, string>> UsernamesAsync(Auth auth, IEnumerable<string> ids, CancellationToken ct)
    {
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        var wanted = ids.Where(id => !id.StartsWith('(')).ToList();
        foreach (var chunk in wanted.Chunk(100))
        {
            var users = await data.FindAsync(auth, "_User", new FindRequest
            {
                Where = new JsonObject { ["objectId"] = new JsonObject { ["$in"] = new JsonArray([.. chunk.Select(id => (JsonNode)id)]) } },
                Keys = ["username"], Limit = chunk.Length,
            }, ct);
            foreach (var user in users.Results)
                if (user["username"] is JsonValue u && u.TryGetValue(out string? name)) names[user["objectId"]!.GetValue<string>()] = name;
        }
        return names;
    }

    private async Task<Answer> LogActivityAsync(Auth auth, JsonObject args, CancellationToken ct)
    {
        var relatedClass = Text(args, "relatedClass");
        if (relatedClass is not ("Contact" or "Deal")) throw new ParseException(ParseError.InvalidQuery, "relatedClass must be Contact or Deal.");
        var relatedId = Text(args, "relatedId");
        // The activity is only logged against what the caller can read: an invisible contact or deal is "not found".
        var related = await data.GetAsync(auth, relatedClass, relatedId, new FindRequest { Keys = ["name", "title"] }, ct);
        var dueDate = OptionalText(args, "dueDate");
        var completed = args["completed"] is JsonValue c && c.TryGetValue(out bool done) ? done : dueDate is null;
        var activity = new JsonObject
        {
            ["type"] = Text(args, "type"),
            ["subject"] = Text(args, "subject"),
            ["relatedTo"] = Pointer(relatedClass, relatedId),
        };
        if (OptionalText(args, "description") is { } description) activity["description"] = description;
        if (dueDate is not null) activity["dueDate"] = Date(ParseDate(dueDate, "dueDate"));
        if (completed) activity["completedAt"] = Date(clock.GetUtcNow());
        var created = await data.CreateAsync(auth, "Activity", activity, ct);
        var result = created.Response.DeepClone().AsObject();
        result["relatedTo"] = Pointer(relatedClass, relatedId);
        result["completed"] = completed;
        return new Answer($"Logged {activity["type"]} \"{activity["subject"]}\" ({created.Object.ObjectId}) on {relatedClass} {relatedId}{Label(related)}"
                          + (completed ? "." : $", due {dueDate}."), result);
    }

    private async Task<Answer> OpenActivitiesAsync(Auth auth, JsonObject args, CancellationToken ct)
    {
        var me = auth.UserId ?? throw new ParseException(ParseError.InvalidSessionToken, "A signed-in user is required.");
        var where = new JsonObject { ["createdBy"] = Pointer("_User", me), ["completedAt"] = new JsonObject { ["$exists"] = false } };
        if (OptionalText(args, "dueBefore") is { } before) where["dueDate"] = new JsonObject { ["$lt"] = Date(ParseDate(before, "dueBefore")) };
        var found = await data.FindAsync(auth, "Activity", new FindRequest { Where = where, Order = "dueDate", Limit = Limit(args) }, ct);
        var results = new JsonArray([.. found.Results.Select(r => (JsonNode)r.DeepClone())]);
        var now = clock.GetUtcNow();
        var overdue = found.Results.Count(r => r["dueDate"]?["iso"] is JsonValue v && v.TryGetValue(out string? iso)
            && DateTimeOffset.TryParse(iso, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var due) && due < now);
        return new Answer($"{results.Count} open activit{(results.Count == 1 ? "y" : "ies")}, {overdue} overdue"
                          + string.Concat(found.Results.Take(5).Select(r => $"; {r["type"]} \"{r["subject"]}\" due {r["dueDate"]?["iso"]}")) + ".",
            new JsonObject { ["results"] = results });
    }

    private async Task<Answer> OverdueDealsAsync(Auth auth, JsonObject args, CancellationToken ct)
    {
        var me = auth.UserId ?? throw new ParseException(ParseError.InvalidSessionToken, "A signed-in user is required.");
        var where = new JsonObject
        {
            ["expectedCloseDate"] = new JsonObject { ["$lt"] = Date(clock.GetUtcNow()) },
            ["stage"] = new JsonObject { ["$nin"] = new JsonArray("won", "lost") },
        };
        if (!(args["onlyMine"] is JsonValue m && m.TryGetValue(out bool mine) && !mine)) where["assignedTo"] = Pointer("_User", me);
        var found = await data.FindAsync(auth, "Deal", new FindRequest { Where = where, Order = "expectedCloseDate", Limit = Limit(args) }, ct);
        var results = new JsonArray([.. found.Results.Select(r => (JsonNode)r.DeepClone())]);
        return new Answer($"{results.Count} overdue deal(s)"
                          + string.Concat(found.Results.Take(5).Select(r => $"; \"{r["title"]}\" ({r["stage"]}, {r["amount"]}) expected {r["expectedCloseDate"]?["iso"]}")) + ".",
            new JsonObject { ["results"] = results });
    }

    // ---- arguments and values --------------------------------------------------------------------------------

    private string ClassArgument(string className) =>
        ClassNames().Contains(className, StringComparer.Ordinal)
            ? className
            : throw new ParseException(ParseError.InvalidClassName, $"Unknown class {Names.Truncate(className)}: describe_schema lists the classes.");

    private static string Text(JsonObject args, string name) =>
        OptionalText(args, name) ?? throw new ParseException(ParseError.InvalidQuery, $"{name} is required.");

    private static string? OptionalText(JsonObject args, string name) => args[name] switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out string? s) => s,
        _ => throw new ParseException(ParseError.InvalidQuery, $"{name} must be a string."),
    };

    private static JsonObject Fields(JsonObject args) => args["fields"] is JsonObject fields
        ? fields.DeepClone().AsObject()
        : throw new ParseException(ParseError.InvalidJson, "fields must be a JSON object.");

    private static int Limit(JsonObject args) => args["limit"] switch
    {
        null => 100,
        JsonValue v when v.TryGetValue(out int n) && n > 0 => n,
        _ => throw new ParseException(ParseError.InvalidQuery, "limit must be a positive integer."),
    };

    private static int? Count(JsonObject args, string name) => args[name] switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out int n) && n >= 0 => n,
        _ => throw new ParseException(ParseError.InvalidQuery, $"{name} must be a non-negative integer."),
    };

    private static DateTimeOffset ParseDate(string text, string name) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var value)
            ? value
            : throw new ParseException(ParseError.InvalidQuery, $"{name} must be an ISO 8601 date.");

    private static JsonObject Date(DateTimeOffset value) => new()
    {
        ["__type"] = "Date", ["iso"] = value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
    };

    private static JsonObject Pointer(string className, string objectId) => new() { ["__type"] = "Pointer", ["className"] = className, ["objectId"] = objectId };

    /// <summary>" (“name”)" for an object with a name or title, so summaries read like a person would say them.</summary>
    private static string Label(JsonObject obj) =>
        (obj["title"] ?? obj["name"] ?? obj["username"]) is JsonValue v && v.TryGetValue(out string? label) ? $" (\"{label}\")" : "";

    // ---- input schemas ----------------------------------------------------------------------------------------

    private static JsonObject Input(JsonObject properties, params string[] required)
    {
        var schema = new JsonObject { ["type"] = "object", ["properties"] = properties, ["additionalProperties"] = false };
        if (required.Length > 0) schema["required"] = new JsonArray([.. required.Select(r => (JsonNode)r)]);
        return schema;
    }

    private static JsonObject ClassName(IReadOnlyList<string> classes, string description = "The class (describe_schema lists their fields).") =>
        new() { ["type"] = "string", ["enum"] = Strings(classes), ["description"] = description };

    private static JsonObject ObjectId() => new() { ["type"] = "string", ["description"] = "The object's objectId." };

    private static JsonObject StringList(string description) =>
        new() { ["type"] = "array", ["items"] = new JsonObject { ["type"] = "string" }, ["description"] = description };

    private static JsonArray Strings(IEnumerable<string> values) => new([.. values.Select(v => (JsonNode)v)]);
}
