using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;
using Crm.Functions.Tests.Storage;
using Crm.Functions.Tests.CrmTemplate;
using Xunit.Abstractions;

namespace Crm.Functions.Tests.Operations;

/// <summary>
/// <c>export</c> and <c>import</c>: the demo CRM moves from the embedded store to Cosmos DB (the local API server)
/// and back to a fresh embedded store, through the command line, and arrives unchanged.
/// </summary>
public sealed class ExportImportTests(ITestOutputHelper output) : IDisposable
{
    private readonly List<string> _folders = [];

    private string NewFolder()
    {
        var folder = Path.Combine(Path.GetTempPath(), "crm-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        _folders.Add(folder);
        return folder;
    }

    private static Dictionary<string, string?> Sqlite(string folder) => new() { ["Parse:Store"] = "sqlite", ["Parse:DataFolder"] = folder };

    private static Dictionary<string, string?> Cosmos(string folder) =>
        new(CosmosTestServer.Instance.Settings("crm-transfer-" + Guid.NewGuid().ToString("N")[..12])) { ["Parse:DataFolder"] = folder };

    /// <summary>The command line, in this process (the Cosmos client needs the test server's certificate hooks).</summary>
    private async Task<string> CliAsync(Dictionary<string, string?> store, params string[] args)
    {
        var run = await Tools.InProcessCliAsync(store, args);
        Assert.True(run.ExitCode == 0, $"{string.Join(' ', args)}: {run}");
        output.WriteLine($"{args[0]} ({store["Parse:Store"]}): {run.StdOut.Trim()}");
        return run.StdOut;
    }

    private static List<string> ObjectLines(string file) => File.ReadLines(file).Where(l => l.StartsWith("{\"object\"", StringComparison.Ordinal)).ToList();

    [Fact]
    public async Task the_demo_crm_moves_from_sqlite_to_cosmos_and_back_unchanged()
    {
        var first = Sqlite(NewFolder());
        await CliAsync(first, "seed", "--demo", "--Crm:ApplyTemplate=true");
        var exported = Path.Combine(NewFolder(), "first.jsonl");
        await CliAsync(first, "export", exported, "--include-secrets");

        var cosmos = Cosmos(NewFolder());
        // Into a store that gets nothing at start-up: the export carries the template's classes, roles and objects.
        await CliAsync(cosmos, "import", exported, "--Crm:ApplyTemplate=false");
        var fromCosmos = Path.Combine(NewFolder(), "cosmos.jsonl");
        await CliAsync(cosmos, "export", fromCosmos, "--include-secrets");

        var last = Sqlite(NewFolder());
        await CliAsync(last, "import", fromCosmos, "--Crm:ApplyTemplate=false");
        var back = Path.Combine(NewFolder(), "back.jsonl");
        await CliAsync(last, "export", back, "--include-secrets");

        var original = ObjectLines(exported);
        Assert.True(original.Count > 50, $"The demo data has only {original.Count} objects.");
        Assert.Equal(original, ObjectLines(fromCosmos));
        Assert.Equal(original, ObjectLines(back));
        output.WriteLine($"objects moved: {original.Count}; export size: {new FileInfo(exported).Length} bytes");

        // Importing again changes nothing: every id is already there.
        var again = await CliAsync(last, "import", fromCosmos, "--Crm:ApplyTemplate=false");
        Assert.Contains($"imported", again, StringComparison.Ordinal);
        Assert.Contains($"0 objects ({original.Count} already present)", again, StringComparison.Ordinal);

        // The store that went through Cosmos serves the CRM: same deals over REST, and a demo user still logs in
        // (the password hashes travelled with --include-secrets).
        using var server = new CrmServer(new Dictionary<string, string?>(last) { ["Crm:ApplyTemplate"] = "true" });
        using var master = server.Client().AsMaster();
        var deals = original.Count(l => JsonNode.Parse(l)!["object"]!["className"]!.GetValue<string>() == "Deal");
        Assert.Equal(deals, (await master.GetAsync("classes/Deal?count=1&limit=0")).EnsureStatus(HttpStatusCode.OK).Json!["count"]!.GetValue<long>());
    }

    [Fact]
    public async Task without_secrets_the_export_holds_no_password_hashes_sessions_or_auth_data()
    {
        var store = Sqlite(NewFolder());
        using (var server = new CrmServer(store))
        {
            using var client = server.Client();
            await client.SignUpAsync(Wire.Unique("exported"), "a-password-1234");
        }
        var file = Path.Combine(NewFolder(), "plain.jsonl");
        await CliAsync(store, "export", file);
        var text = await File.ReadAllTextAsync(file);
        Assert.Contains("\"className\":\"_User\"", text, StringComparison.Ordinal);
        Assert.DoesNotContain("_hashed_password", text, StringComparison.Ordinal);
        Assert.DoesNotContain("\"className\":\"_Session\"", text, StringComparison.Ordinal);
        Assert.All(ObjectLines(file), line => Assert.DoesNotContain("authData", line, StringComparison.Ordinal));
        Assert.DoesNotContain("sessionToken", text, StringComparison.Ordinal);
        Assert.All(File.ReadLines(file), line => Assert.NotNull(JsonNode.Parse(line)));

        // Not an export: a clear refusal, nothing imported.
        var notExport = Path.Combine(NewFolder(), "not.jsonl");
        await File.WriteAllTextAsync(notExport, "{\"hello\":1}\n");
        var refused = await Tools.InProcessCliAsync(Sqlite(NewFolder()), ["import", notExport]);
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("not a crm-functions-export file", refused.StdErr, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        foreach (var folder in _folders)
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
    }
}
