using System.Text.Json;
using System.Text.Json.Nodes;
using Crm.Functions.Core;
using Crm.Functions.Core.Store;
using Crm.Functions.Crm;
using Crm.Functions.Docs;
using Crm.Functions.Storage.Sqlite;
using Microsoft.Extensions.Options;

namespace Crm.Functions.Hosting;

/// <summary>
/// The command-line host. Each command builds the same host as the server (same settings, same data folder,
/// same rules), runs, and exits; no port is opened. Settings come from the usual places (appsettings,
/// environment such as <c>Parse__DataFolder</c>) or as <c>--Parse:DataFolder=PATH</c> arguments. The schema
/// commands are the server's own; the CRM's commands are <see cref="CrmCli"/>'s.
/// </summary>
internal static class ServerCli
{
    public const string Usage = """
        Usage: Crm.Functions [COMMAND] [OPTIONS] [--Section:Key=value ...]
          (no command)                        run the server
          schema export [--format json|mermaid|markdown|typescript|csharp|dart|swift|kotlin] [--import parse|parse/node|parse/react-native] [--output FILE]
                                              the schema document, a diagram, the data dictionary or typed models
          schema import FILE                  add the classes, fields, indexes and descriptions of a schema.json
          backup FILE [--force]               an online, consistent copy of the embedded store (while the server serves)
          restore FILE [--force]              put a backup back (--force: replace the existing data file)
          export FILE [--include-secrets]     the whole app (schemas, objects, relations) as JSON lines, from any store
          import FILE                         load an export into the configured store (existing ids are skipped)
        """ + "\n" + CrmCli.Usage;

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
            // Backup and restore work on the data file itself: the store is not opened (a server may be serving it).
            if (await FileCommandAsync(app, commandArgs, stdout, CancellationToken.None) is { } exitCode) return exitCode;
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
            return await DispatchAsync(app.Services, commandArgs, stdout, CancellationToken.None)
                   ?? await CrmCli.DispatchAsync(app.Services, commandArgs, stdout, CancellationToken.None)
                   ?? throw new CommandUsageException($"unknown command: {string.Join(' ', commandArgs)}");
        }
        catch (InvalidOperationException e) when (commandArgs.FirstOrDefault() is "backup" or "restore")
        {
            await stderr.WriteLineAsync("error: " + e.Message);
            return 1;
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
        catch (CommandUsageException e)
        {
            await stderr.WriteLineAsync($"error: {e.Message}{Environment.NewLine}{Usage}");
            return 2;
        }
    }

    private static async Task<int?> FileCommandAsync(WebApplication app, string[] args, TextWriter stdout, CancellationToken ct)
    {
        if (args is not ([("backup" or "restore"), _, ..] and { Length: <= 3 })) return null;
        var settings = app.Services.GetRequiredService<IOptions<ParseSettings>>().Value;
        if (settings.Store != "sqlite")
            throw new CommandUsageException($"{args[0]} is for the embedded store; Cosmos DB keeps continuous backups (docs/operations.md), and 'export' works on every store");
        var force = args.Length == 3 && (args[2] == "--force" ? true : throw new CommandUsageException($"unknown option {args[2]}"));
        var live = ServerSetup.SqliteFile(settings, app.Environment.ContentRootPath);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        if (args[0] == "backup")
        {
            await SqliteBackup.BackupAsync(live, args[1], force, ct);
            await stdout.WriteLineAsync($"backed up {live} to {Path.GetFullPath(args[1])} ({new FileInfo(args[1]).Length} bytes, {watch.ElapsedMilliseconds} ms)");
        }
        else
        {
            await SqliteBackup.RestoreAsync(args[1], live, force, ct);
            await stdout.WriteLineAsync($"restored {Path.GetFullPath(args[1])} into {live} ({watch.ElapsedMilliseconds} ms)");
        }
        return 0;
    }

    private static async Task<int?> DispatchAsync(IServiceProvider sp, string[] args, TextWriter stdout, CancellationToken ct)
    {
        var data = sp.GetRequiredService<DataService>();
        switch (args)
        {
            case ["schema", "export", .. var rest]:
            {
                var format = CrmCli.Option(rest, "--format") ?? "json";
                var import = CrmCli.Option(rest, "--import");
                if (import is not null && (format != "typescript" || !TypedModels.TypeScriptImports.Contains(import)))
                    throw new CommandUsageException($"--import is for --format typescript, one of: {string.Join(", ", TypedModels.TypeScriptImports)}");
                var output = format switch
                {
                    "json" => SchemaDocument.Export(data.Schemas).ToJsonString(new JsonSerializerOptions { WriteIndented = true }),
                    "mermaid" => MermaidErd.Build(data.Schemas),
                    "markdown" => DataDictionary.Markdown(data.Schemas),
                    _ when TypedModels.Languages.Contains(format) => TypedModels.Build(data.Schemas, format, import ?? "parse"),
                    var other => throw new CommandUsageException($"unknown format '{other}' (json, mermaid, markdown, {string.Join(", ", TypedModels.Languages)})"),
                };
                if (CrmCli.Option(rest, "--output") is { } file) await File.WriteAllTextAsync(file, output, ct);
                else await stdout.WriteLineAsync(output);
                return 0;
            }
            case ["schema", "import", var file]:
            {
                if (!File.Exists(file)) throw new CommandUsageException($"no such file: {file}");
                JsonObject document;
                try
                {
                    document = JsonNode.Parse(await File.ReadAllTextAsync(file, ct)) as JsonObject
                        ?? throw new CommandUsageException($"{file} does not hold a JSON object");
                }
                catch (JsonException e)
                {
                    throw new CommandUsageException($"{file} is not valid JSON: {e.Message}");
                }
                CrmCli.Print(stdout, await SchemaDocument.ImportAsync(data.Schemas, document, overwriteDescriptions: true, ct), "nothing to change");
                return 0;
            }
            case ["export", var file, .. var rest] when rest.All(r => r == "--include-secrets"):
            {
                await using var output = new StreamWriter(file, append: false, new System.Text.UTF8Encoding(false));
                var counts = await StoreTransfer.ExportAsync(sp.GetRequiredService<IObjectStore>(), output, includeSecrets: rest.Length > 0, ct);
                await stdout.WriteLineAsync($"exported {counts.Classes} classes and {counts.Objects} objects to {Path.GetFullPath(file)}");
                return 0;
            }
            case ["import", var file]:
            {
                if (!File.Exists(file)) throw new CommandUsageException($"no such file: {file}");
                using var input = new StreamReader(file);
                StoreTransfer.Counts counts;
                try
                {
                    counts = await StoreTransfer.ImportAsync(sp.GetRequiredService<IObjectStore>(), input, ct);
                }
                catch (InvalidDataException e)
                {
                    throw new CommandUsageException($"{file}: {e.Message}");
                }
                await stdout.WriteLineAsync($"imported {counts.Classes} classes and {counts.Objects} objects ({counts.Skipped} already present)");
                if (counts.Conflicts == 0) return 0;
                // Another object holds a username or role name of the file's (e.g. a role the template created at start-up).
                await stdout.WriteLineAsync($"{counts.Conflicts} objects were refused: a unique username or role name is taken (import into a fresh store with --Crm:ApplyTemplate=false)");
                return 1;
            }
            default:
                return null;
        }
    }
}
