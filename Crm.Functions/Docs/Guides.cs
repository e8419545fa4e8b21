using System.Collections.Frozen;
using System.Reflection;
using Markdig;
using Markdig.Syntax;
using Markdig.Syntax.Inlines;

namespace Crm.Functions.Docs;

/// <summary>
/// The per-stack guides of docs/guides, embedded in the assembly (the app serves them with nothing beside it) and
/// rendered from Markdown once. Raw HTML in the Markdown is not rendered: the pages carry only what Markdown writes.
/// </summary>
internal static partial class Guides
{
    [System.Text.RegularExpressions.GeneratedRegex(@"^<!-- sample: [^>]* -->\r?\n", System.Text.RegularExpressions.RegexOptions.Multiline)]
    private static partial System.Text.RegularExpressions.Regex SampleMarker();

    private static readonly MarkdownPipeline Pipeline = new MarkdownPipelineBuilder().UseAdvancedExtensions().DisableHtml().Build();

    /// <summary>Guide name (file name without ".md"; "README" is the index) → (title, rendered HTML).</summary>
    public static readonly FrozenDictionary<string, (string Title, string Html)> Pages = Load();

    private static FrozenDictionary<string, (string Title, string Html)> Load()
    {
        var assembly = Assembly.GetExecutingAssembly();
        var pages = new Dictionary<string, (string, string)>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith("guides/", StringComparison.Ordinal)))
        {
            using var reader = new StreamReader(assembly.GetManifestResourceStream(resource)!);
            // The sample markers tie a code block to its tested source (GuideSampleTests); readers need not see them.
            var document = Markdown.Parse(SampleMarker().Replace(reader.ReadToEnd(), ""), Pipeline);
            foreach (var link in document.Descendants<LinkInline>())
                link.Url = Rewrite(link.Url);
            var title = document.Descendants<HeadingBlock>().FirstOrDefault(h => h.Level == 1)?.Inline?.FirstChild?.ToString() ?? resource;
            pages[Path.GetFileNameWithoutExtension(resource["guides/".Length..])] = (title, document.ToHtml(Pipeline));
        }
        return pages.ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <summary>
    /// Links between guides are written for the repository ("react.md", "samples/js/crm.ts"); served, a guide is
    /// "/docs/guides/react" and the samples live in the repository only, so those links point there by path.
    /// </summary>
    private static string? Rewrite(string? url)
    {
        if (url is null || url.Contains("://", StringComparison.Ordinal) || url.StartsWith('#') || url.StartsWith('/')) return url;
        if (url.EndsWith(".md", StringComparison.Ordinal) && !url.Contains('/', StringComparison.Ordinal)) return url == "README.md" ? "./" : url[..^3];
        return url;
    }
}
