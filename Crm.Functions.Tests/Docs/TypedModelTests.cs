using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Crm.Functions.Tests.CrmTemplate;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.Docs;

/// <summary>
/// The typed models the server generates from its live schema, checked by the compilers that will read them: the
/// TypeScript models are compiled with tsc and drive the Parse JS SDK against this server; the C# models are built
/// with the .NET SDK into a console app that writes and reads CRM records over REST.
/// </summary>
public sealed partial class TypedModelTests
{
    private static async Task<(HttpStatusCode Status, string Text, string? ContentType)> GetAsync(CrmServer server, string path)
    {
        using var http = new HttpClient();
        using var response = await http.GetAsync(server.BaseUrl + path);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(), response.Content.Headers.ContentType?.ToString());
    }

    private static async Task<string> ModelsAsync(CrmServer server, string language, string? import = null)
    {
        var (status, text, type) = await GetAsync(server, $"/docs/models/{language}" + (import is null ? "" : "?import=" + Uri.EscapeDataString(import)));
        Assert.True(status == HttpStatusCode.OK, $"{status}: {text}");
        Assert.StartsWith("text/plain", type, StringComparison.Ordinal); // source text is shown, never run, by a browser
        return text;
    }

    private static async Task<Tools.Run> TscAsync(string project, string tsconfig) =>
        await Tools.RunAsync("node", project, ["node_modules/typescript/bin/tsc", "-p", tsconfig], new Dictionary<string, string>());

    [Fact]
    public async Task typescript_models_compile_with_tsc_and_drive_the_js_sdk_with_their_own_classes()
    {
        using var server = Tools.TemplateServer();
        var project = Tools.NodeProject("models");
        Directory.CreateDirectory(Path.Combine(project, "generated"));
        await File.WriteAllTextAsync(Path.Combine(project, "generated", "models.ts"), await ModelsAsync(server, "typescript", "parse/node"));

        var compiled = await TscAsync(project, "tsconfig.json");
        Assert.True(compiled.ExitCode == 0, compiled.ToString());
        var run = await Tools.RunAsync("node", project, ["build/src/pipeline.js", server.ParseUrl, CrmServer.AppId, "typed" + Guid.NewGuid().ToString("N")[..8]],
            new Dictionary<string, string>());
        Assert.True(run.ExitCode == 0, run.ToString());

        var seen = JsonNode.Parse(run.StdOut.Trim().Split('\n')[^1])!;
        Assert.Equal(["lead", "qualified", "proposal", "negotiation", "won", "lost"], seen["stages"]!.AsArray().Select(s => s!.GetValue<string>()));
        // The pipeline column: the proposal-stage deals, soonest close first; the lost deal is not in it.
        Assert.Equal(["Pilot", "Fleet renewal"], seen["columnTitles"]!.AsArray().Select(s => s!.GetValue<string>()));
        Assert.True(seen["columnAreDeals"]!.GetValue<bool>());
        Assert.True(seen["includedContactIsContact"]!.GetValue<bool>());
        Assert.Equal("Ada Lovelace", seen["includedContactName"]!.GetValue<string>());
        Assert.True(seen["closeIsDate"]!.GetValue<bool>());
        Assert.True(seen["activityIsActivity"]!.GetValue<bool>());
        Assert.Equal("call", seen["activityType"]!.GetValue<string>());
        Assert.True(seen["relatedIsDeal"]!.GetValue<bool>()); // a polymorphic pointer comes back as the class it points to
        Assert.Equal(seen["laterId"]!.GetValue<string>(), seen["relatedId"]!.GetValue<string>());
        Assert.True(seen["currentIsUser"]!.GetValue<bool>());

        // What the SDK wrote is what the server holds.
        using var master = server.Client().AsMaster();
        var deal = await master.GetAsync($"classes/Deal/{seen["soonerId"]!.GetValue<string>()}");
        deal.EnsureStatus(HttpStatusCode.OK);
        Assert.Equal("Pilot", deal.Json!["title"]!.GetValue<string>());
        Assert.Equal("proposal", deal.Json!["stage"]!.GetValue<string>());
        Assert.Equal("2027-01-15T00:00:00.000Z", deal.Json!["expectedCloseDate"]!["iso"]!.GetValue<string>());
    }

    [GeneratedRegex(@"invalid/misuse\.ts\((\d+),\d+\): error (TS\d+)")]
    private static partial Regex TscError();

    [Fact]
    public async Task typescript_models_make_tsc_refuse_a_wrong_stage_a_missing_title_a_wrong_type_and_an_unknown_field()
    {
        using var server = Tools.TemplateServer();
        var project = Tools.NodeProject("models");
        Directory.CreateDirectory(Path.Combine(project, "generated"));
        await File.WriteAllTextAsync(Path.Combine(project, "generated", "models.ts"), await ModelsAsync(server, "typescript", "parse/node"));

        var compiled = await TscAsync(project, "tsconfig.invalid.json");
        Assert.NotEqual(0, compiled.ExitCode);
        var errors = TscError().Matches(compiled.StdOut).Select(m => $"{m.Groups[1].Value} {m.Groups[2].Value}").ToList();
        // One error per statement of invalid/misuse.ts, and none in the generated file itself.
        Assert.Equal(["5 TS2322", "8 TS2345", "11 TS2322", "14 TS2353"], errors);
        Assert.DoesNotContain("generated/models.ts", compiled.StdOut, StringComparison.Ordinal);
    }

    private const string CSharpSample = """
        // A REST client over the generated models: sign up, create a company, contact, deal and activity, then read the
        // negotiation column and the deal's activities back into the typed classes. Prints one JSON line.
        using System.ComponentModel.DataAnnotations;
        using System.Net.Http.Json;
        using System.Text.Json;
        using System.Text.Json.Nodes;
        using System.Text.Json.Serialization;
        using Crm.Models;

        var (server, appId, username) = (args[0].TrimEnd('/') + "/", args[1], args[2]);
        using var http = new HttpClient { BaseAddress = new Uri(server) };
        http.DefaultRequestHeaders.Add("X-Parse-Application-Id", appId);
        var json = new JsonSerializerOptions(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

        var signUp = await http.PostAsJsonAsync("users", new { username, password = "Typed-models-1", email = $"{username}@example.com" }, json);
        signUp.EnsureSuccessStatusCode();
        http.DefaultRequestHeaders.Add("X-Parse-Session-Token", (await signUp.Content.ReadFromJsonAsync<JsonObject>())!["sessionToken"]!.GetValue<string>());

        async Task<string> CreateAsync<T>(T value) where T : IParseObject
        {
            var response = await http.PostAsJsonAsync($"classes/{T.ParseClassName}", value, json);
            if (!response.IsSuccessStatusCode) throw new InvalidOperationException(await response.Content.ReadAsStringAsync());
            return (await response.Content.ReadFromJsonAsync<JsonObject>())!["objectId"]!.GetValue<string>();
        }

        var companyId = await CreateAsync(new Company { Name = "Contoso" });
        var contactId = await CreateAsync(new Contact { Name = "Ada Lovelace", Company = new(companyId) });
        var dealId = await CreateAsync(new Deal
        {
            Title = "Fleet renewal", Amount = 12000, Stage = DealStage.Negotiation,
            Contact = new(contactId), Company = new(companyId), ExpectedCloseDate = new DateTimeOffset(2027, 3, 1, 0, 0, 0, TimeSpan.Zero),
        });
        await CreateAsync(new Activity { Type = ActivityType.Meeting, Subject = "Terms", RelatedTo = new ParsePointer(Deal.ParseClassName, dealId) });

        string Where(object where) => Uri.EscapeDataString(JsonSerializer.Serialize(where, json));
        var column = await http.GetFromJsonAsync<ParseResults<Deal>>($"classes/Deal?where={Where(new { stage = "negotiation" })}&order=expectedCloseDate", json);
        var activities = await http.GetFromJsonAsync<ParseResults<Activity>>($"classes/Activity?where={Where(new { relatedTo = new ParsePointer(Deal.ParseClassName, dealId) })}", json);

        var missing = new List<ValidationResult>();
        var untitled = new Deal { Amount = 1 };
        var valid = Validator.TryValidateObject(untitled, new ValidationContext(untitled), missing, validateAllProperties: true);
        var deal = column!.Results.Single();
        var activity = activities!.Results.Single();
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            dealId,
            deal.Title,
            stage = deal.Stage.ToString(),
            deal.Amount,
            close = deal.ExpectedCloseDate?.Iso.ToString("O"),
            contactId = deal.Contact?.ObjectId,
            created = deal.CreatedAt is not null,
            activityType = activity.Type.ToString(),
            relatedClass = activity.RelatedTo?.ClassName,
            relatedId = activity.RelatedTo?.ObjectId,
            contactIdWritten = contactId,
            requiredRefused = !valid,
            requiredMembers = missing.SelectMany(r => r.MemberNames).ToArray(),
        }));
        """;

    [Fact]
    public async Task csharp_models_build_with_the_dotnet_sdk_and_round_trip_records_over_rest()
    {
        using var server = Tools.TemplateServer();
        // Outside the repository: the sample is a stand-alone client, untouched by this repository's build settings.
        var folder = Tools.NewFolder();
        try
        {
            await File.WriteAllTextAsync(Path.Combine(folder, "ModelsSample.csproj"), """
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFramework>net10.0</TargetFramework>
                    <Nullable>enable</Nullable>
                    <ImplicitUsings>enable</ImplicitUsings>
                    <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                  </PropertyGroup>
                </Project>
                """);
            await File.WriteAllTextAsync(Path.Combine(folder, "Models.cs"), await ModelsAsync(server, "csharp"));
            await File.WriteAllTextAsync(Path.Combine(folder, "Program.cs"), CSharpSample);

            var built = await Tools.RunAsync("dotnet", folder, ["build", "-c", "Release", "-nologo", "-v", "q"], new Dictionary<string, string>());
            Assert.True(built.ExitCode == 0, built.ToString());
            var run = await Tools.RunAsync("dotnet", folder, [Path.Combine("bin", "Release", "net10.0", "ModelsSample.dll"), server.ParseUrl, CrmServer.AppId, "cs" + Guid.NewGuid().ToString("N")[..8]],
                new Dictionary<string, string>());
            Assert.True(run.ExitCode == 0, run.ToString());

            var seen = JsonNode.Parse(run.StdOut.Trim().Split('\n')[^1])!;
            Assert.Equal("Fleet renewal", seen["Title"]!.GetValue<string>());
            Assert.Equal("Negotiation", seen["stage"]!.GetValue<string>());
            Assert.Equal(12000, seen["Amount"]!.GetValue<double>());
            Assert.StartsWith("2027-03-01T00:00:00", seen["close"]!.GetValue<string>(), StringComparison.Ordinal);
            Assert.Equal(seen["contactIdWritten"]!.GetValue<string>(), seen["contactId"]!.GetValue<string>());
            Assert.True(seen["created"]!.GetValue<bool>());
            Assert.Equal("Meeting", seen["activityType"]!.GetValue<string>());
            Assert.Equal("Deal", seen["relatedClass"]!.GetValue<string>());
            Assert.Equal(seen["dealId"]!.GetValue<string>(), seen["relatedId"]!.GetValue<string>());
            Assert.True(seen["requiredRefused"]!.GetValue<bool>()); // [Required] marks the title a create must set
            Assert.Equal(["Title"], seen["requiredMembers"]!.AsArray().Select(m => m!.GetValue<string>()));

            // What the typed client wrote is what the server holds, in the REST shapes.
            using var master = server.Client().AsMaster();
            var deal = await master.GetAsync($"classes/Deal/{seen["dealId"]!.GetValue<string>()}");
            deal.EnsureStatus(HttpStatusCode.OK);
            Assert.Equal("negotiation", deal.Json!["stage"]!.GetValue<string>());
            Assert.Equal("Pointer", deal.Json!["contact"]!["__type"]!.GetValue<string>());
            Assert.Equal("Contact", deal.Json!["contact"]!["className"]!.GetValue<string>());
            Assert.Equal("Date", deal.Json!["expectedCloseDate"]!["__type"]!.GetValue<string>());
        }
        finally
        {
            Tools.DeleteFolder(folder);
        }
    }

    [Fact]
    public async Task every_language_follows_the_live_schema_at_once()
    {
        using var server = Tools.TemplateServer();
        using var master = server.Client().AsMaster();
        (await master.PutAsync("schemas/Deal", new JsonObject
        {
            ["fields"] = new JsonObject
            {
                ["probability"] = new JsonObject { ["type"] = "Number", ["description"] = "Chance to win, 0 to 1" },
                ["partner"] = new JsonObject { ["type"] = "Pointer", ["targetClass"] = "Company" },
                ["tags"] = new JsonObject { ["type"] = "Array" },
            },
        })).EnsureStatus(HttpStatusCode.OK);

        var typescript = await ModelsAsync(server, "typescript");
        Assert.Contains("import Parse from 'parse';", typescript, StringComparison.Ordinal);
        Assert.Contains("  /** Chance to win, 0 to 1 */\n  probability?: number;", typescript, StringComparison.Ordinal);
        Assert.Contains("  partner?: Company;", typescript, StringComparison.Ordinal);
        Assert.Contains("  tags?: unknown[];", typescript, StringComparison.Ordinal);
        Assert.Contains("  relatedTo?: Contact | Deal;", typescript, StringComparison.Ordinal);

        var csharp = await ModelsAsync(server, "csharp");
        Assert.Contains("[JsonPropertyName(\"probability\")] public double? Probability { get; set; }", csharp, StringComparison.Ordinal);
        Assert.Contains("[JsonPropertyName(\"partner\")] public ParsePointer<Company>? Partner { get; set; }", csharp, StringComparison.Ordinal);
        Assert.Contains("[Required] [JsonPropertyName(\"title\")] public string? Title { get; set; }", csharp, StringComparison.Ordinal);
        Assert.Contains("[JsonStringEnumMemberName(\"negotiation\")] Negotiation,", csharp, StringComparison.Ordinal);

        var dart = await ModelsAsync(server, "dart");
        Assert.Contains("class Deal extends ParseObject implements ParseCloneable {", dart, StringComparison.Ordinal);
        Assert.Contains("  num? get probability => get<num>(keyProbability);", dart, StringComparison.Ordinal);
        Assert.Contains("  Company? get partner => get<Company>(keyPartner);", dart, StringComparison.Ordinal);
        Assert.Contains("  DealStage? get stage => DealStage.fromValue(get<String>(keyStage));", dart, StringComparison.Ordinal);
        Assert.Contains("  Deal.keyClassName: () => Deal(),", dart, StringComparison.Ordinal);

        var swift = await ModelsAsync(server, "swift");
        Assert.Contains("struct Deal: ParseObject {", swift, StringComparison.Ordinal);
        Assert.Contains("    var probability: Double?", swift, StringComparison.Ordinal);
        Assert.Contains("    var partner: Pointer<Company>?", swift, StringComparison.Ordinal);
        Assert.Contains("    var relatedTo: AnyParsePointer?", swift, StringComparison.Ordinal);
        Assert.Contains("    case negotiation = \"negotiation\"", swift, StringComparison.Ordinal);

        var kotlin = await ModelsAsync(server, "kotlin");
        Assert.Contains("@ParseClassName(\"Deal\")\nclass Deal : ParseObject() {", kotlin, StringComparison.Ordinal);
        Assert.Contains("    var probability: Number?\n        get() = getNumber(KEY_PROBABILITY)", kotlin, StringComparison.Ordinal);
        Assert.Contains("    var partner: Company?\n        get() = getParseObject(KEY_PARTNER) as? Company", kotlin, StringComparison.Ordinal);
        Assert.Contains("        const val KEY_EXPECTED_CLOSE_DATE = \"expectedCloseDate\"", kotlin, StringComparison.Ordinal);
        Assert.Contains("    ParseObject.registerSubclass(Deal::class.java)", kotlin, StringComparison.Ordinal);
    }

    [Fact]
    public async Task unknown_languages_and_imports_get_a_clear_error()
    {
        using var server = Tools.TemplateServer();
        var (status, text, _) = await GetAsync(server, "/docs/models/cobol");
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal(102, JsonNode.Parse(text)!["code"]!.GetValue<int>());
        Assert.Contains("typescript, csharp, dart, swift, kotlin", JsonNode.Parse(text)!["error"]!.GetValue<string>(), StringComparison.Ordinal);

        (status, text, _) = await GetAsync(server, "/docs/models/typescript?import=evil%27%3Bprocess.exit()");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(102, JsonNode.Parse(text)!["code"]!.GetValue<int>());
        (status, _, _) = await GetAsync(server, "/docs/models/csharp?import=parse");
        Assert.Equal(HttpStatusCode.BadRequest, status);
    }

    [Fact]
    public async Task schema_export_writes_the_same_models_as_the_docs_route()
    {
        var folder = Tools.NewFolder();
        try
        {
            string served;
            using (var server = Tools.TemplateServer(folder))
                served = await ModelsAsync(server, "kotlin");
            var run = await Tools.CliAsync(folder, "schema", "export", "--format", "kotlin");
            Assert.True(run.ExitCode == 0, run.ToString());
            Assert.Equal(served.TrimEnd(), run.StdOut.TrimEnd());

            var refused = await Tools.CliAsync(folder, "schema", "export", "--format", "csharp", "--import", "parse/node");
            Assert.Equal(2, refused.ExitCode);
            Assert.Contains("--import is for --format typescript", refused.StdErr, StringComparison.Ordinal);
        }
        finally
        {
            Tools.DeleteFolder(folder);
        }
    }
}
