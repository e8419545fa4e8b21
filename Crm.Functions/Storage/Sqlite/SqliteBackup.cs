using Microsoft.Data.Sqlite;

namespace Crm.Functions.Storage.Sqlite;

/// <summary>
/// Online backup and restore of the embedded store's data file, with SQLite's backup API: the copy is one
/// consistent snapshot taken while the server goes on serving reads and writes (WAL readers never block writers),
/// and a restore writes pages into the live file under SQLite's own locks instead of replacing the file under an
/// open connection.
/// </summary>
internal static class SqliteBackup
{
    /// <summary>Copies the live data file to <paramref name="target"/> (a single file, checked before it is kept).</summary>
    public static async Task BackupAsync(string liveFile, string target, bool overwrite, CancellationToken ct)
    {
        if (!File.Exists(liveFile)) throw new InvalidOperationException($"There is no data file at {liveFile} to back up.");
        target = Path.GetFullPath(target);
        if (File.Exists(target) && !overwrite) throw new InvalidOperationException($"{target} exists; pass --force to overwrite it.");
        if (Path.GetDirectoryName(target) is { Length: > 0 } folder) Directory.CreateDirectory(folder);
        var partial = target + ".partial";
        File.Delete(partial);
        try
        {
            await using (var source = await OpenAsync(liveFile, SqliteOpenMode.ReadWrite, ct))
            await using (var copy = await OpenAsync(partial, SqliteOpenMode.ReadWriteCreate, ct))
            {
                // One step holding one read transaction: the copy is the database as of the step's start.
                source.BackupDatabase(copy);
                // The backup is one self-contained file (no -wal beside it).
                await SqliteObjectStore.ExecAsync(copy, "PRAGMA journal_mode = DELETE;", ct);
                var check = await CheckAsync(copy, ct);
                if (check is not null) throw new InvalidOperationException($"The backup failed SQLite's integrity check ({check}); nothing was kept.");
            }
            File.Move(partial, target, overwrite: true);
        }
        finally
        {
            File.Delete(partial);
            File.Delete(partial + "-journal");
        }
    }

    /// <summary>
    /// Puts a backup back into the live data file. Refuses a file that is damaged or not this app's, and never
    /// overwrites an existing data file unless <paramref name="force"/> is set.
    /// </summary>
    public static async Task RestoreAsync(string backup, string liveFile, bool force, CancellationToken ct)
    {
        if (!File.Exists(backup)) throw new InvalidOperationException($"There is no backup file at {backup}.");
        await using (var source = await OpenAsync(backup, SqliteOpenMode.ReadOnly, ct, checkFirst: true))
        {
            if (await CheckAsync(source, ct) is { } problem)
                throw new InvalidOperationException($"{backup} failed SQLite's integrity check ({problem}); nothing was restored.");
            if (Convert.ToInt64(await SqliteObjectStore.ScalarAsync(source, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_schema';", ct), System.Globalization.CultureInfo.InvariantCulture) == 0)
                throw new InvalidOperationException($"{backup} is not a backup of this app's data (it has no \"_schema\" table); nothing was restored.");
            if (File.Exists(liveFile) && !force)
                throw new InvalidOperationException($"The data file {liveFile} exists; restoring replaces all of its data. Pass --force to do so (stop the server first, or restart it after: it holds the schema in memory).");
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(liveFile))!);
            await using var live = await OpenAsync(liveFile, SqliteOpenMode.ReadWriteCreate, ct);
            source.BackupDatabase(live);
            if (await CheckAsync(live, ct) is { } after)
                throw new InvalidOperationException($"The restored data file failed SQLite's integrity check ({after}).");
        }
    }

    private static async Task<SqliteConnection> OpenAsync(string file, SqliteOpenMode mode, CancellationToken ct, bool checkFirst = false)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Mode = mode, Pooling = false, DefaultTimeout = 30 }.ToString());
        try
        {
            await connection.OpenAsync(ct);
            // A file that is not SQLite at all fails here, on its first read, instead of in the middle of a copy.
            if (checkFirst) await SqliteObjectStore.ScalarAsync(connection, "SELECT count(*) FROM sqlite_master;", ct);
            return connection;
        }
        catch (SqliteException e)
        {
            await connection.DisposeAsync();
            throw new InvalidOperationException($"{file} cannot be read as a SQLite database: {e.Message}", e);
        }
    }

    /// <summary>Null when the database passes <c>integrity_check</c>; the problems found otherwise.</summary>
    private static async Task<string?> CheckAsync(SqliteConnection connection, CancellationToken ct)
    {
        try
        {
            var result = (await SqliteObjectStore.ScalarAsync(connection, "PRAGMA integrity_check;", ct))?.ToString();
            return result == "ok" ? null : result ?? "no answer";
        }
        catch (SqliteException e)
        {
            return e.Message;
        }
    }
}
