using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.Reliability;

/// <summary>
/// Crash safety of the embedded store with the real server process: SIGKILL under concurrent writes loses no
/// acknowledged write and leaves a file that passes SQLite's integrity check; SIGTERM lets in-flight requests
/// finish; a damaged, foreign or locked data file stops the start with a message naming it, untouched.
/// </summary>
public sealed class CrashTests(ITestOutputHelper output) : IDisposable
{
    private const int Writers = 8;
    private const string ClassName = "Ledger";
    private readonly string _dataFolder = Directory.CreateTempSubdirectory("crm-crash-").FullName;

    private string DataFile => Path.Combine(_dataFolder, "crm.db");

    [Fact]
    public async Task sigkill_under_concurrent_writes_loses_no_acknowledged_write()
    {
        var seed = Environment.TickCount & 0x7fffffff;
        var rng = new Random(seed);
        output.WriteLine($"seed {seed}");
        var acknowledged = new ConcurrentDictionary<string, (int Writer, int Seq, string Payload)>();
        var counters = new string[Writers];
        var ackedIncrements = new int[Writers];
        var triedIncrements = new int[Writers];

        const int KillPoints = 3;
        for (var round = 0; round < KillPoints; round++)
        {
            await using var server = ServerProcess.Start(_dataFolder);
            await server.WaitForHealthAsync();
            using var http = server.Client(TimeSpan.FromSeconds(10));
            if (round == 0)
            {
                for (var w = 0; w < Writers; w++)
                    counters[w] = await CreateAsync(http, new JsonObject { ["writer"] = w, ["kind"] = "counter", ["count"] = 0 }) ?? throw new InvalidOperationException("counter");
            }
            else
            {
                await VerifyAsync(http, acknowledged, counters, ackedIncrements, triedIncrements);
            }

            using var stop = new CancellationTokenSource();
            var writers = Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
            {
                for (var seq = 0; !stop.IsCancellationRequested && seq < 100_000; seq++)
                {
                    try
                    {
                        if (seq % 3 == 2)
                        {
                            Interlocked.Increment(ref triedIncrements[w]);
                            using var response = await http.PutAsync($"classes/{ClassName}/{counters[w]}",
                                Json(new JsonObject { ["count"] = new JsonObject { ["__op"] = "Increment", ["amount"] = 1 } }));
                            if (response.IsSuccessStatusCode) Interlocked.Increment(ref ackedIncrements[w]);
                            else Assert.True((int)response.StatusCode < 500, $"increment answered {(int)response.StatusCode}");
                        }
                        else
                        {
                            var payload = $"round {round} writer {w} seq {seq} " + new string('p', Random.Shared.Next(0, 2000) / (w + 1));
                            var id = await CreateAsync(http, new JsonObject { ["writer"] = w, ["seq"] = seq, ["round"] = round, ["payload"] = payload });
                            if (id is not null) acknowledged[id] = (w, seq, payload);
                        }
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
                    {
                        return; // the server is gone: whatever was not answered was not acknowledged
                    }
                }
            })).ToArray();

            // A random moment into the load, different for each round.
            await Task.Delay(rng.Next(300, 1500));
            var before = acknowledged.Count;
            await server.KillAsync();
            await stop.CancelAsync();
            await Task.WhenAll(writers);
            output.WriteLine($"kill point {round + 1}: {before} creates acknowledged before SIGKILL, {acknowledged.Count} in total; increments acknowledged {ackedIncrements.Sum()}");
            Assert.Equal("ok", IntegrityCheck());
        }

        await using (var server = ServerProcess.Start(_dataFolder))
        {
            await server.WaitForHealthAsync();
            using var http = server.Client();
            await VerifyAsync(http, acknowledged, counters, ackedIncrements, triedIncrements);
        }
        Assert.Equal("ok", IntegrityCheck());
        Assert.True(acknowledged.Count > 50, $"only {acknowledged.Count} writes were acknowledged: the load did not run");
        output.WriteLine($"verified {acknowledged.Count} acknowledged creates and {ackedIncrements.Sum()} acknowledged increments over {KillPoints} kill points");
    }

    [Fact]
    public async Task sigterm_under_load_finishes_in_flight_requests_and_loses_nothing()
    {
        var acknowledged = new ConcurrentDictionary<string, (int Writer, int Seq, string Payload)>();
        var serverErrors = new ConcurrentQueue<string>();
        await using (var server = ServerProcess.Start(_dataFolder, new Dictionary<string, string> { ["Parse__ShutdownTimeoutSeconds"] = "10" }))
        {
            await server.WaitForHealthAsync();
            using var http = server.Client();
            using var stop = new CancellationTokenSource();
            var writers = Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
            {
                for (var seq = 0; !stop.IsCancellationRequested && seq < 100_000; seq++)
                {
                    try
                    {
                        var payload = $"writer {w} seq {seq}";
                        using var response = await http.PostAsync($"classes/{ClassName}", Json(new JsonObject { ["writer"] = w, ["seq"] = seq, ["payload"] = payload }));
                        if ((int)response.StatusCode >= 500) serverErrors.Enqueue($"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                        else if (response.StatusCode == HttpStatusCode.Created)
                            acknowledged[JsonNode.Parse(await response.Content.ReadAsStringAsync())!["objectId"]!.GetValue<string>()] = (w, seq, payload);
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
                    {
                        return; // refused once the server stopped listening
                    }
                }
            })).ToArray();
            await Task.Delay(1000);
            var watch = Stopwatch.StartNew();
            server.Terminate();
            var exitCode = await server.WaitForExitAsync(TimeSpan.FromSeconds(30));
            watch.Stop();
            await stop.CancelAsync();
            await Task.WhenAll(writers);
            output.WriteLine($"SIGTERM: exited with {exitCode} after {watch.ElapsedMilliseconds} ms; {acknowledged.Count} creates acknowledged; 5xx {serverErrors.Count}");
            Assert.Equal(0, exitCode);
            Assert.True(serverErrors.IsEmpty, "5xx during shutdown: " + serverErrors.FirstOrDefault());
            Assert.True(acknowledged.Count > 20, "the load did not run");
        }

        Assert.Equal("ok", IntegrityCheck());
        await using (var server = ServerProcess.Start(_dataFolder))
        {
            await server.WaitForHealthAsync();
            using var http = server.Client();
            await VerifyAsync(http, acknowledged, [], [], []);
        }
    }

    [Fact]
    public async Task start_refuses_a_damaged_data_file_naming_it_and_leaves_it_untouched()
    {
        // A real data file first, then damage in the middle of it (the header stays valid).
        await using (var server = ServerProcess.Start(_dataFolder))
        {
            await server.WaitForHealthAsync();
            using var http = server.Client();
            for (var i = 0; i < 200; i++) await CreateAsync(http, new JsonObject { ["seq"] = i, ["payload"] = new string('d', 500) });
            server.Terminate();
            await server.WaitForExitAsync(TimeSpan.FromSeconds(30));
        }
        foreach (var suffix in new[] { "-wal", "-shm" }) File.Delete(DataFile + suffix);
        var bytes = await File.ReadAllBytesAsync(DataFile);
        Assert.True(bytes.Length > 8 * 4096, "the data file is too small to damage");
        for (var i = 2 * 4096; i < 2 * 4096 + 3000; i++) bytes[i] = 0x5A;
        await File.WriteAllBytesAsync(DataFile, bytes);

        await AssertStartRefusedAsync(bytes);
    }

    [Fact]
    public async Task start_refuses_a_foreign_file_naming_it_and_leaves_it_untouched()
    {
        var bytes = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("this is somebody's notes file, not a database\n", 500)));
        await File.WriteAllBytesAsync(DataFile, bytes);
        await AssertStartRefusedAsync(bytes);

        // Another application's SQLite database (rollback journal, its own tables) is not taken over either.
        File.Delete(DataFile);
        using (var other = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = DataFile, Pooling = false }.ToString()))
        {
            other.Open();
            using var command = other.CreateCommand();
            command.CommandText = "CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL); INSERT INTO invoices (total) VALUES (12.5), (99);";
            command.ExecuteNonQuery();
        }
        await AssertStartRefusedAsync(await File.ReadAllBytesAsync(DataFile));
    }

    [Fact]
    public async Task start_refuses_a_data_file_locked_by_another_process_naming_it()
    {
        await using (var server = ServerProcess.Start(_dataFolder))
        {
            await server.WaitForHealthAsync();
            server.Terminate();
            await server.WaitForExitAsync(TimeSpan.FromSeconds(30));
        }
        var bytes = await File.ReadAllBytesAsync(DataFile);
        using var holder = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = DataFile, Pooling = false }.ToString());
        holder.Open();
        using (var command = holder.CreateCommand())
        {
            // An exclusive lock, held for the whole start attempt, as another tool writing the file would.
            command.CommandText = "PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS _lock_probe (x); ROLLBACK; BEGIN EXCLUSIVE;";
            command.ExecuteNonQuery();
        }
        await AssertStartRefusedAsync(null, "locked");
        using (var command = holder.CreateCommand())
        {
            command.CommandText = "ROLLBACK;";
            command.ExecuteNonQuery();
        }
        holder.Close();
        Assert.Equal(bytes, await File.ReadAllBytesAsync(DataFile));
    }

    private async Task AssertStartRefusedAsync(byte[]? expectedBytes, string? reason = null)
    {
        await using var server = ServerProcess.Start(_dataFolder);
        var exit = await server.WaitForExitAsync(TimeSpan.FromSeconds(60));
        output.WriteLine(server.Output);
        Assert.NotEqual(0, exit);
        Assert.Contains(DataFile, server.Output, StringComparison.Ordinal);
        Assert.Contains("Start-up failed", server.Output, StringComparison.Ordinal);
        if (reason is not null) Assert.Contains(reason, server.Output, StringComparison.OrdinalIgnoreCase);
        if (expectedBytes is not null) Assert.Equal(expectedBytes, await File.ReadAllBytesAsync(DataFile));
    }

    /// <summary>Every acknowledged create is there with its values; each counter holds at least its acknowledged increments.</summary>
    private static async Task VerifyAsync(HttpClient http, ConcurrentDictionary<string, (int Writer, int Seq, string Payload)> acknowledged,
        string[] counters, int[] ackedIncrements, int[] triedIncrements)
    {
        var stored = new Dictionary<string, JsonNode>(StringComparer.Ordinal);
        string? after = null;
        for (var page = 0; page < 1000; page++)
        {
            var where = new JsonObject { ["payload"] = new JsonObject { ["$exists"] = true } };
            if (after is not null) where["objectId"] = new JsonObject { ["$gt"] = after };
            var json = JsonNode.Parse(await http.GetStringAsync($"classes/{ClassName}?limit=1000&order=objectId&where={Uri.EscapeDataString(where.ToJsonString())}"))!;
            var results = json["results"]!.AsArray();
            foreach (var row in results) stored[row!["objectId"]!.GetValue<string>()] = row;
            if (results.Count < 1000) break;
            after = results[^1]!["objectId"]!.GetValue<string>();
        }
        foreach (var (id, (writer, seq, payload)) in acknowledged)
        {
            Assert.True(stored.TryGetValue(id, out var row), $"acknowledged object {id} (writer {writer}, seq {seq}) is missing");
            Assert.Equal(writer, row!["writer"]!.GetValue<int>());
            Assert.Equal(seq, row["seq"]!.GetValue<int>());
            Assert.Equal(payload, row["payload"]!.GetValue<string>());
        }
        for (var w = 0; w < counters.Length; w++)
        {
            var counter = JsonNode.Parse(await http.GetStringAsync($"classes/{ClassName}/{counters[w]}"))!;
            var count = counter["count"]!.GetValue<int>();
            Assert.True(count >= ackedIncrements[w] && count <= triedIncrements[w],
                $"counter {w} holds {count}; {ackedIncrements[w]} increments were acknowledged, {triedIncrements[w]} tried");
        }
    }

    private static async Task<string?> CreateAsync(HttpClient http, JsonObject body)
    {
        using var response = await http.PostAsync($"classes/{ClassName}", Json(body));
        Assert.True((int)response.StatusCode < 500, $"create answered {(int)response.StatusCode}");
        return response.StatusCode == HttpStatusCode.Created
            ? JsonNode.Parse(await response.Content.ReadAsStringAsync())!["objectId"]!.GetValue<string>()
            : null;
    }

    private static StringContent Json(JsonNode body) => new(body.ToJsonString(), Encoding.UTF8, "application/json");

    /// <summary>SQLite's full check, on the file as the stopped server left it (read-only: nothing is repaired).</summary>
    private string IntegrityCheck()
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = DataFile, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA integrity_check;";
        return command.ExecuteScalar()?.ToString() ?? "";
    }

    public void Dispose()
    {
        try { Directory.Delete(_dataFolder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
