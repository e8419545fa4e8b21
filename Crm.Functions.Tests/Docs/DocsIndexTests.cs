using System.Net;
using System.Text.RegularExpressions;
using Crm.Functions.Tests.CrmTemplate;

namespace Crm.Functions.Tests.Docs;

/// <summary>
/// The /docs index is a page a person lands on from the app's Developers menu: it has a way back (to the documentation
/// and to the app this server serves) on every docs page, and none of its links leads nowhere.
/// </summary>
public sealed partial class DocsIndexTests
{
    [GeneratedRegex("href=\"(?<href>[^\"]+)\"")]
    private static partial Regex Href();

    [Fact]
    public async Task every_link_of_the_docs_index_answers_and_each_docs_page_leads_back()
    {
        // A built web app of its own (Web:Root), so the link back to it is certain to be offered.
        var webRoot = Directory.CreateTempSubdirectory("docs-web-root-").FullName;
        await File.WriteAllTextAsync(Path.Combine(webRoot, "index.html"), "<!doctype html><title>app</title>");
        try
        {
            using var server = Tools.TemplateServer(extra: new Dictionary<string, string?> { ["Web:Root"] = webRoot });
            using var http = new HttpClient { BaseAddress = new Uri(server.BaseUrl) };
            var index = await http.GetStringAsync("/docs/");
            Assert.Contains("<base href=\"../\">", index, StringComparison.Ordinal);

            // The index's links are relative to its base (the server's root); each one answers 200.
            var links = Href().Matches(index).Select(m => m.Groups["href"].Value).Distinct(StringComparer.Ordinal).ToList();
            Assert.Contains("/", links);
            Assert.Contains("/docs/", links);
            Assert.True(links.Count >= 12, $"the index links only {string.Join(", ", links)}");
            foreach (var link in links)
            {
                using var response = await http.GetAsync(link.StartsWith('/') ? link : "/" + link);
                Assert.True(response.StatusCode == HttpStatusCode.OK, $"{link} answered {(int)response.StatusCode}");
            }

            // The other docs pages carry the same way back.
            foreach (var page in new[] { "/docs/erd", "/docs/dictionary", "/docs/guides/", "/docs/guides/react" })
            {
                var html = await http.GetStringAsync(page);
                Assert.Contains("<a href=\"/docs/\">Documentation</a>", html, StringComparison.Ordinal);
                Assert.Contains("<a href=\"/\">← Back to the app</a>", html, StringComparison.Ordinal);
            }
        }
        finally
        {
            Directory.Delete(webRoot, recursive: true);
        }
    }
}
