using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Template;

namespace Crm.Functions.Tests.Deployment;

/// <summary>One function.json: its bindings, and for HTTP functions the route and methods of the trigger.</summary>
internal sealed class FunctionDefinition
{
    private FunctionDefinition(string name, JsonArray bindings)
    {
        Name = name;
        Bindings = bindings.Select(b => b!.AsObject()).ToList();
        Triggers = Bindings.Where(b => Text(b, "type")?.EndsWith("Trigger", StringComparison.Ordinal) == true).ToList();
        var http = Triggers.SingleOrDefault(b => Text(b, "type") == "httpTrigger");
        if (http is null) return;
        Route = Text(http, "route");
        Methods = (http["methods"] as JsonArray ?? []).Select(m => m!.GetValue<string>().ToUpperInvariant()).ToHashSet(StringComparer.Ordinal);
        if (Route is not null) _matcher = new TemplateMatcher(TemplateParser.Parse(Route), new RouteValueDictionary());
    }

    private readonly TemplateMatcher? _matcher;

    public string Name { get; }
    public IReadOnlyList<JsonObject> Bindings { get; }
    public IReadOnlyList<JsonObject> Triggers { get; }
    public bool IsHttp => Methods is not null;
    public string? Route { get; }
    public IReadOnlySet<string>? Methods { get; }

    public static FunctionDefinition Read(string name, JsonNode json) =>
        new(name, json["bindings"] as JsonArray ?? throw new InvalidDataException($"{name}/function.json has no bindings array."));

    /// <summary>Reads every &lt;Name&gt;/function.json directly under a folder.</summary>
    public static IReadOnlyList<FunctionDefinition> ReadAll(string root) =>
        Directory.GetDirectories(root)
            .Where(d => File.Exists(Path.Combine(d, "function.json")))
            .Select(d => Read(Path.GetFileName(d), DeploymentFiles.ReadJson(Path.Combine(d, "function.json"))))
            .OrderBy(f => f.Name, StringComparer.Ordinal)
            .ToList();

    /// <summary>Whether the host would route this absolute path (no leading slash, e.g. "parse/users/me") here.</summary>
    public bool Matches(string path) => _matcher?.TryMatch(new PathString("/" + path), new RouteValueDictionary()) == true;

    public static string? Text(JsonObject binding, string property) =>
        binding[property] is JsonValue v && v.TryGetValue(out string? s) ? s : null;

    /// <summary>
    /// Concrete paths a route template stands for, parameters filled with sample values: one without each
    /// optional parameter and one with all of them.
    /// </summary>
    public static IReadOnlyList<string> SamplePaths(string template)
    {
        var parsed = TemplateParser.Parse(template.TrimStart('/'));
        var paths = new List<string>();
        var segments = new List<string>();
        foreach (var segment in parsed.Segments)
        {
            if (segment.Parts.Count != 1)
                throw new InvalidDataException($"Route '{template}' has a complex segment; deployment routes use one part per segment.");
            var part = segment.Parts[0];
            if (part.IsParameter && part.IsOptional) paths.Add(string.Join('/', segments));
            segments.Add(!part.IsParameter ? part.Text! : part.IsCatchAll ? "Sample1/Sample2" : "Sample1");
        }
        paths.Add(string.Join('/', segments));
        return paths;
    }
}
