using System.Text.Json;
using System.Text.Json.Nodes;
using Crm.Functions.Core;
using Crm.Functions.Core.Security;
using Crm.Functions.Docs;
using Crm.Functions.Hosting;
using Microsoft.Extensions.Options;

namespace Crm.Functions.Crm;

/// <summary>
/// Administrative commands. Each one builds the same host as the server (same settings, same data folder,
/// same rules), runs, and exits; no port is opened. Settings come from the usual places (appsettings,
/// environment such as <c>Parse__DataFolder</c>) or as <c>--Parse:DataFolder=PATH</c> arguments.
/// </summary>
internal static class CrmCli
{

    public const string Usage = """
        Usage: Crm.Functions [COMMAND] [OPTIONS] [--Section:Key=value ...]
          (no command)                        run the server
          seed [--demo] [--seed N]            apply the CRM template; with --demo also create demo users and data
          template apply                      apply the CRM template (idempotent)
          schema export [--format json|mermaid|markdown] [--output FILE]
          schema import FILE                  add the classes, fields, indexes and descriptions of a schema.json
          user create --username NAME --password PASSWORD [--email EMAIL] [--role ROLE]
        """;

    /// <summary>A first argument that is not an option ("--urls=…") names a command; unknown ones get the usage.</summary>
    public static bool IsCommand(string[] args) => args.Length > 0 && (!args[0].StartsWith('-') || args[0] is "--help" or "-h");

    public static Task<int> RunAsync(string[] args) => RunAsync(args, Console.Out, Console.Error);

    /// <param name="configure">
    /// Applied to the host builder before the server setup; the test suite uses it to register the test-only
    /// <see cref="Storage.Cosmos.CosmosClientHooks"/>, which cannot travel to a separate process.
    /// </param>
    internal static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, Action<WebApplicationBuilder>? configure = null)
    {
        if (args[0] is "help" or "--help" or "-h")
        {
            await stdout.WriteLineAsync(Usage);
            return 0;
        }
        // Only "--Section:Key=value" arguments are configuration; the rest belong to the command.
        var configArgs = args.Where(a => a.StartsWith("--", StringComparison.Ordinal) && a.Contains(':', StringComparison.Ordinal) && a.Contains('=', StringComparison.Ordinal)).ToArray();
        var commandArgs = args.Except(configArgs).ToArray();

        var builder = WebApplication.CreateBuilder(configArgs);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        configure?.Invoke(builder);
        builder.AddCrmServer();
        await using var app = builder.Build();
        try
        {
            try
            {
                await app.InitializeCrmServerAsync();
            }
            catch (InvalidOperationException e)
            {
                // As the server's own start (Program.cs): a store or template state it must not use is one line and exit 1.
                await stderr.WriteLineAsync("Start-up failed: " + e.Message);
                return 1;
            }
            return await DispatchAsync(app.Services, commandArgs, stdout, CancellationToken.None);
        }
        catch (ParseException e)
        {
            await stderr.WriteLineAsync($"error {e.Code}: {e.Message}");
            return 1;
        }
        catch (OptionsValidationException e)
        {
            await stderr.WriteLineAsync("error: " + string.Join(Environment.NewLine, e.Failures));
            return 1;
        }
        catch (UsageException e)
        {
            await stderr.WriteLineAsync($"error: {e.Message}{Environment.NewLine}{Usage}");
            return 2;
        }
    }

    private sealed class UsageException(string message) : Exception(message);

    private static async Task<int> DispatchAsync(IServiceProvider sp, string[] args, TextWriter stdout, CancellationToken ct)
    {
        var data = sp.GetRequiredService<DataService>();
        switch (args)
        {
            case ["seed", .. var rest]:
            {
                Print(stdout, [.. sp.GetRequiredService<TemplateLog>().AtStart, .. await CrmSetup.ApplyTemplateAsync(sp, ct)], "template in place");
                if (!rest.Contains("--demo")) return 0;
                // Demo data must pass through the rules, which only run with the template switched on.
                if (!sp.GetRequiredService<IOptions<CrmSettings>>().Value.ApplyTemplate)
                    throw new UsageException("seed --demo needs Crm:ApplyTemplate=true (the CRM rules must apply to the demo data)");
                var seed = int.TryParse(Option(rest, "--seed"), out var s) ? s : 20261124;
                var role = sp.GetRequiredService<IOptions<CrmSettings>>().Value.ManagersRole;
                var result = await sp.GetRequiredService<DemoData>().SeedAsync(seed, role, ct);
                if (result.AlreadyPresent)
                {
                    stdout.WriteLine("demo data already present; nothing added");
                    return 0;
                }
                stdout.WriteLine($"demo data: {result.Users} users, {result.Companies} companies, {result.Contacts} contacts, {result.Deals} deals, {result.Activities} activities");
                stdout.WriteLine($"log in as {string.Join(", ", DemoData.SalesUsers)} (sales) or {DemoData.Manager} (member of {role}), password '{DemoData.Password}'");
                return 0;
            }
            case ["template", "apply"]:
                Print(stdout, [.. sp.GetRequiredService<TemplateLog>().AtStart, .. await CrmSetup.ApplyTemplateAsync(sp, ct)], "template in place");
                return 0;
            case ["schema", "export", .. var rest]:
            {
                var output = (Option(rest, "--format") ?? "json") switch
                {
                    "json" => SchemaDocument.Export(data.Schemas).ToJsonString(new JsonSerializerOptions { WriteIndented = true }),
                    "mermaid" => MermaidErd.Build(data.Schemas),
                    "markdown" => DataDictionary.Markdown(data.Schemas),
                    var other => throw new UsageException($"unknown format '{other}' (json, mermaid or markdown)"),
                };
                if (Option(rest, "--output") is { } file) await File.WriteAllTextAsync(file, output, ct);
                else stdout.WriteLine(output);
                return 0;
            }
            case ["schema", "import", var file]:
            {
                if (!File.Exists(file)) throw new UsageException($"no such file: {file}");
                JsonObject document;
                try
                {
                    document = JsonNode.Parse(await File.ReadAllTextAsync(file, ct)) as JsonObject
                        ?? throw new UsageException($"{file} does not hold a JSON object");
                }
                catch (JsonException e)
                {
                    throw new UsageException($"{file} is not valid JSON: {e.Message}");
                }
                Print(stdout, await SchemaDocument.ImportAsync(data.Schemas, document, overwriteDescriptions: true, ct), "nothing to change");
                return 0;
            }
            case ["user", "create", .. var rest]:
            {
                var username = Option(rest, "--username") ?? throw new UsageException("--username is required");
                var password = Option(rest, "--password") ?? throw new UsageException("--password is required");
                var body = new JsonObject { ["username"] = username, ["password"] = password };
                if (Option(rest, "--email") is { } email) body["email"] = email;
                // A sign-up through the core: the same password policy and hashing as the REST door.
                var created = await data.CreateAsync(Auth.Anonymous, "_User", body, ct);
                var id = created.Object.ObjectId;
                if (Option(rest, "--role") is { } role) await AddToRoleAsync(data, role, id, ct);
                stdout.WriteLine($"created user {username} ({id})");
                return 0;
            }
            default:
                throw new UsageException($"unknown command: {string.Join(' ', args)}");
        }
    }

    private static async Task AddToRoleAsync(DataService data, string role, string userId, CancellationToken ct)
    {
        var found = await data.FindAsync(Auth.Master, "_Role", new FindRequest { Where = new JsonObject { ["name"] = role }, Limit = 1 }, ct);
        if (found.Results.Count == 0) throw new UsageException($"no role named {role}");
        await data.UpdateAsync(Auth.Master, "_Role", found.Results[0]["objectId"]!.GetValue<string>(), new JsonObject
        {
            ["users"] = new JsonObject { ["__op"] = "AddRelation", ["objects"] = new JsonArray(CrmRules.Pointer("_User", userId)) },
        }, ct);
    }

    private static string? Option(string[] args, string name)
    {
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == name) return i + 1 < args.Length ? args[i + 1] : throw new UsageException($"{name} needs a value");
            if (args[i].StartsWith(name + "=", StringComparison.Ordinal)) return args[i][(name.Length + 1)..];
        }
        return null;
    }

    private static void Print(TextWriter stdout, IReadOnlyList<string> changes, string none)
    {
        if (changes.Count == 0) stdout.WriteLine(none);
        foreach (var change in changes) stdout.WriteLine(change);
    }
}
