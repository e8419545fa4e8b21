using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.CrmTemplate;
using Crm.Functions.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace Crm.Functions.Tests.Operations;

/// <summary>
/// <c>backup</c> and <c>restore</c> of the embedded store, run as the separate command-line process an operator runs
/// beside the serving server. These are about the SQLite file, so they run on SQLite in both test passes.
/// </summary>
public sealed class BackupTests(ITestOutputHelper output) : IDisposable
{
    private const int Writers = 8;
    private readonly string _folder = NewFolder();
    private readonly string _backups = NewFolder();

    private static string NewFolder()
    {
        var folder = Path.Combine(Path.GetTempPath(), "crm-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        return folder;
    }

    private static Dictionary<string, string?> Sqlite(string folder) => new() { ["Parse:Store"] = "sqlite", ["Parse:DataFolder"] = folder };

    private static Task<Tools.Run> CliAsync(string folder, params string[] args) => Tools.CliAsync(folder, [.. args, "--Parse:Store=sqlite"]);

    private static async Task CreateNotesClassAsync(CrmServer server)
    {
        using var master = server.Client().AsMaster();
        (await master.PostAsync("schemas/Note", new JsonObject
        {
            ["className"] = "Note",
            ["fields"] = new JsonObject { ["writer"] = new JsonObject { ["type"] = "Number" }, ["n"] = new JsonObject { ["type"] = "Number" } },
        })).EnsureStatus(HttpStatusCode.OK);
    }

    private static List<string> Ids(string file)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id FROM c_Note";
        using var rows = command.ExecuteReader();
        var ids = new List<string>();
        while (rows.Read()) ids.Add(rows.GetString(0));
        return ids;
    }

    private static string IntegrityCheck(string file)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA integrity_check";
        return command.ExecuteScalar()?.ToString() ?? "";
    }

    [Fact]
    public async Task a_backup_taken_under_eight_writers_holds_every_write_acknowledged_before_it_began()
    {
        var file = Path.Combine(_backups, "crm-backup.db");
        var before = new ConcurrentBag<string>();
        var all = new ConcurrentBag<string>();
        var started = 0;
        using var stop = new CancellationTokenSource();
        Tools.Run run;
        var watch = Stopwatch.StartNew();
        using (var server = new CrmServer(Sqlite(_folder)))
        {
            await CreateNotesClassAsync(server);
            var writers = Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
            {
                using var client = server.Client().AsMaster();
                for (var n = 0; !stop.IsCancellationRequested; n++)
                {
                    var id = (await client.PostAsync("classes/Note", new JsonObject { ["writer"] = w, ["n"] = n }))
                        .EnsureStatus(HttpStatusCode.Created).Json!["objectId"]!.GetValue<string>();
                    all.Add(id);
                    // Read after the answer: a write counted here was acknowledged before the backup process started.
                    if (Volatile.Read(ref started) == 0) before.Add(id);
                }
            })).ToList();

            while (before.Count < 400) await Task.Delay(20);
            Volatile.Write(ref started, 1);
            var backupStarted = watch.Elapsed;
            run = await CliAsync(_folder, "backup", file);
            var backupTook = watch.Elapsed - backupStarted;
            var duringBackup = all.Count - before.Count;
            await Task.Delay(200); // writers go on after the backup, too
            await stop.CancelAsync();
            await Task.WhenAll(writers);
            Assert.True(run.ExitCode == 0, run.ToString());
            output.WriteLine($"writers: {Writers}; acknowledged before the backup began: {before.Count}; during the backup: {duringBackup}; in all: {all.Count}");
            output.WriteLine($"backup process: {backupTook.TotalMilliseconds:0} ms end to end (start-up included); {run.StdOut.Trim()}");
        }

        Assert.Equal("ok", IntegrityCheck(file));
        var inBackup = Ids(file).ToHashSet(StringComparer.Ordinal);
        var missing = before.Where(id => !inBackup.Contains(id)).ToList();
        Assert.True(missing.Count == 0, $"{missing.Count} acknowledged writes are missing from the backup.");
        Assert.True(inBackup.IsSubsetOf(all), "The backup holds a Note nobody wrote.");
        Assert.False(File.Exists(file + "-wal"), "The backup must be one self-contained file.");
        output.WriteLine($"objects in the backup: {inBackup.Count}; file: {new FileInfo(file).Length} bytes");

        // Restore: refused over the live file without --force; with it, the server serves the backup's data.
        var refused = await CliAsync(_folder, "restore", file);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("--force", refused.StdErr, StringComparison.Ordinal);
        var restored = await CliAsync(_folder, "restore", file, "--force");
        Assert.True(restored.ExitCode == 0, restored.ToString());
        using (var server = new CrmServer(Sqlite(_folder)))
        {
            using var master = server.Client().AsMaster();
            var count = (await master.GetAsync("classes/Note?count=1&limit=0")).EnsureStatus(HttpStatusCode.OK).Json!["count"]!.GetValue<long>();
            Assert.Equal(inBackup.Count, count);
        }
    }

    [Fact]
    public async Task restore_refuses_damaged_and_foreign_files_and_fills_an_empty_folder()
    {
        string backup;
        using (var server = new CrmServer(Sqlite(_folder)))
        {
            await CreateNotesClassAsync(server);
            using var master = server.Client().AsMaster();
            for (var n = 0; n < 5; n++) (await master.PostAsync("classes/Note", new JsonObject { ["n"] = n })).EnsureStatus(HttpStatusCode.Created);
            backup = Path.Combine(_backups, "good.db");
            var run = await CliAsync(_folder, "backup", backup);
            Assert.True(run.ExitCode == 0, run.ToString());
            // An existing backup file is not overwritten without --force.
            var again = await CliAsync(_folder, "backup", backup);
            Assert.Equal(1, again.ExitCode);
            Assert.Contains("--force", again.StdErr, StringComparison.Ordinal);
        }

        var empty = NewFolder();
        try
        {
            // Not SQLite at all.
            var garbage = Path.Combine(_backups, "garbage.db");
            await File.WriteAllBytesAsync(garbage, [.. Enumerable.Range(0, 8192).Select(i => (byte)(i * 7))]);
            var run = await CliAsync(empty, "restore", garbage);
            Assert.Equal(1, run.ExitCode);
            Assert.Contains("cannot be read as a SQLite database", run.StdErr, StringComparison.Ordinal);

            // SQLite, but another application's.
            var foreign = Path.Combine(_backups, "foreign.db");
            using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = foreign, Pooling = false }.ToString()))
            {
                connection.Open();
                using var command = connection.CreateCommand();
                command.CommandText = "CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL); INSERT INTO invoices (total) VALUES (12.5);";
                command.ExecuteNonQuery();
            }
            run = await CliAsync(empty, "restore", foreign);
            Assert.Equal(1, run.ExitCode);
            Assert.Contains("not a backup of this app", run.StdErr, StringComparison.Ordinal);

            // A damaged backup: pages overwritten in the middle of the file.
            var damaged = Path.Combine(_backups, "damaged.db");
            var bytes = await File.ReadAllBytesAsync(backup);
            for (var i = 4096; i < Math.Min(bytes.Length, 4096 * 3); i++) bytes[i] = 0x5A;
            await File.WriteAllBytesAsync(damaged, bytes);
            run = await CliAsync(empty, "restore", damaged);
            Assert.Equal(1, run.ExitCode);
            Assert.False(File.Exists(Path.Combine(empty, "crm.db")) && new FileInfo(Path.Combine(empty, "crm.db")).Length > 0, "A refused restore must not leave a data file.");

            run = await CliAsync(empty, "restore", backup);
            Assert.True(run.ExitCode == 0, run.ToString());
            using var server = new CrmServer(Sqlite(empty));
            using var master = server.Client().AsMaster();
            Assert.Equal(5, (await master.GetAsync("classes/Note?count=1&limit=0")).EnsureStatus(HttpStatusCode.OK).Json!["count"]!.GetValue<long>());
        }
        finally
        {
            try { Directory.Delete(empty, recursive: true); } catch (IOException) { }
        }
    }

    public void Dispose()
    {
        foreach (var folder in new[] { _folder, _backups })
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
    }
}
