using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.Regressions;

/// <summary>
/// Counting table scans for automatic indexes walked every prepared statement of the SQLite connection; FTS5 prepares
/// statements of its own there, which the managed wrapper does not know, and the walk threw. Every `$text` search
/// answered 500 (and later plain finds on the same pooled connection too).
/// </summary>
public sealed class TextSearchFailedAfterScanCountingTests
{
    [Fact]
    public async Task a_text_search_and_the_finds_after_it_answer()
    {
        using var server = new CrmServer(TestSettings.Fast());
        using var master = server.Client().AsMaster();
        var className = Wire.Unique("Notes");
        await master.CreateAsync(className, new JsonObject { ["title"] = "Quarterly renewal with Northwind" });
        await master.CreateAsync(className, new JsonObject { ["title"] = "Lunch" });

        var text = new JsonObject { ["title"] = new JsonObject { ["$text"] = new JsonObject { ["$search"] = new JsonObject { ["$term"] = "renewal" } } } };
        for (var i = 0; i < 3; i++)
        {
            var found = (await master.QueryAsync(className, text)).EnsureStatus(HttpStatusCode.OK);
            Assert.Single(found.Json!["results"]!.AsArray());
            var all = (await master.QueryAsync(className, new JsonObject())).EnsureStatus(HttpStatusCode.OK);
            Assert.Equal(2, all.Json!["results"]!.AsArray().Count);
        }
    }
}
