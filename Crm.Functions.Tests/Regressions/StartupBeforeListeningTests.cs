using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace Crm.Functions.Tests.Regressions;

/// <summary>
/// Issue 27 item 8: the app opened its store (and on Cosmos, its account) before Kestrel listened, so a slow start
/// outlasted the Functions host's wait for the custom handler's port. It now listens first: while starting,
/// <c>/health</c> answers 503 <c>{"status":"starting"}</c> with <c>Retry-After: 1</c> (readiness), <c>/health/live</c>
/// answers 200 (liveness), and every other request a 503 Parse error; once started, everything answers as usual.
/// The start-up is held by a real SQLite lock on the data file: the store's first check waits for it.
/// </summary>
public sealed class StartupBeforeListeningTests
{
    [Fact]
    public async Task the_server_listens_and_answers_starting_until_its_store_is_open()
    {
        var folder = Path.Combine(Path.GetTempPath(), "crm-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        var file = Path.Combine(folder, "crm.db");
        // Another process's exclusive transaction on the data file: the store's integrity check waits for it (busy timeout).
        var holder = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Pooling = false }.ToString());
        holder.Open();
        using (var command = holder.CreateCommand())
        {
            command.CommandText = "PRAGMA journal_mode = DELETE; BEGIN EXCLUSIVE; CREATE TABLE held (x);";
            command.ExecuteNonQuery();
        }

        var settings = new Dictionary<string, string?> { ["Parse:Store"] = "sqlite", ["Parse:DataFolder"] = folder };
        var starting = Task.Run(() => new CrmServer(settings, waitUntilReady: false));
        CrmServer? server = null;
        try
        {
            // A bound, not a timing: well inside SQLite's 30 s busy timeout, after which start-up would fail.
            var first = await Task.WhenAny(starting, Task.Delay(TimeSpan.FromSeconds(20)));
            Assert.True(first == starting, "The server did not listen while its start-up was held.");
            server = await starting;
            using var http = new HttpClient();

            using (var health = await http.GetAsync(server.ParseUrl + "/health"))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
                Assert.Equal("1", health.Headers.RetryAfter?.ToString());
                Assert.Equal("starting", JsonNode.Parse(await health.Content.ReadAsStringAsync())!["status"]!.GetValue<string>());
            }
            using (var live = await http.GetAsync(server.ParseUrl + "/health/live"))
            {
                Assert.Equal(HttpStatusCode.OK, live.StatusCode);
                Assert.Equal("alive", JsonNode.Parse(await live.Content.ReadAsStringAsync())!["status"]!.GetValue<string>());
            }
            using var master = server.Client().AsMaster();
            var early = await master.PostAsync("classes/Note", new JsonObject { ["text"] = "too early" });
            Assert.Equal(HttpStatusCode.ServiceUnavailable, early.Status);
            Assert.Equal(1, early.Json!["code"]!.GetValue<int>());

            // Released: the start-up finishes, readiness turns 200, and the app serves (nothing of the early write stored).
            using (var command = holder.CreateCommand())
            {
                command.CommandText = "ROLLBACK;";
                command.ExecuteNonQuery();
            }
            holder.Dispose();
            HttpStatusCode status;
            do
            {
                await Task.Delay(20);
                using var health = await http.GetAsync(server.ParseUrl + "/health");
                status = health.StatusCode;
                Assert.True(status is HttpStatusCode.OK or HttpStatusCode.ServiceUnavailable, $"/health answered {(int)status}");
            }
            while (status != HttpStatusCode.OK);
            Assert.Empty(await master.IdsAsync("Note", new JsonObject()));
            (await master.PostAsync("classes/Note", new JsonObject { ["text"] = "on time" })).EnsureStatus(HttpStatusCode.Created);
        }
        finally
        {
            holder.Dispose();
            server ??= await starting;
            server.Dispose();
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
        }
    }
}
