using global::Crm.Functions.Storage.Sqlite;

namespace Crm.Functions.Tests.Infrastructure;

/// <summary>
/// A test class's own SQLite store in a throwaway folder, for tests of the store itself below any door (query plans,
/// statement reuse): opened before each test, closed and deleted after.
/// </summary>
public abstract class ScratchSqliteStore : IAsyncLifetime
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "crm-store-" + Guid.NewGuid().ToString("N"));

    internal SqliteObjectStore Store { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Store = new SqliteObjectStore(Path.Combine(_folder, "crm.db"));
        await Store.InitializeAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await Store.DisposeAsync();
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
