using System.Text.Json;
using System.Text.Json.Nodes;
using Crm.Functions.Core;
using Crm.Functions.Crm;
using Crm.Functions.Docs;
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
          schema export [--format json|mermaid|markdown] [--output FILE]
          schema import FILE                  add the classes, fields, indexes and descriptions of a schema.json
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

    private static async Task<int?> DispatchAsync(IServiceProvider sp, string[] args, TextWriter stdout, CancellationToken ct)
    {
        var data = sp.GetRequiredService<DataService>();
        switch (args)
        {
            case ["schema", "export", .. var rest]:
            {
                var output = (CrmCli.Option(rest, "--format") ?? "json") switch
                {
                    "json" => SchemaDocument.Export(data.Schemas).ToJsonString(new JsonSerializerOptions { WriteIndented = true }),
                    "mermaid" => MermaidErd.Build(data.Schemas),
                    "markdown" => DataDictionary.Markdown(data.Schemas),
                    var other => throw new CommandUsageException($"unknown format '{other}' (json, mermaid or markdown)"),
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
            default:
                return null;
        }
    }
}
