using System.Runtime.ExceptionServices;
using Crm.Functions.Core.Requests;
using Crm.Functions.Core.Store;
using Microsoft.Data.Sqlite;

namespace Crm.Functions.Storage.Sqlite;

/// <summary>
/// The single writer, and group commit. Every write runs on the one writer connection under <see cref="_writeLock"/>.
/// A commit costs more than the write it ends: each one appends its pages to the write-ahead log, and the log is copied
/// back into the file every thousand pages, on the writer, inside the lock — about 230 µs per commit on this machine's
/// bench, against 80–200 µs for the write itself. So a writer that finishes while other writers are queued for the lock
/// leaves the transaction open, and the queue's last writer (or the <see cref="MaxGroup"/>th) commits it for all.
/// <para>
/// Nobody learns of a write before it is committed: each writer awaits its group's commit before returning, so an answer
/// is sent, and a change event raised, only for what is stored; a failed commit fails every write of the group. A writer
/// joining a group that already holds others' writes runs inside a savepoint: its failure rolls back its own part only.
/// Such a writer's statements are not interrupted when its request runs out of time (SQLite rolls back the whole
/// transaction on an interrupted write): it is one write by id, and the request still answers 124 at its next statement.
/// </para>
/// </summary>
internal sealed partial class SqliteObjectStore
{
    /// <summary>Writes one commit may carry: bounds the wait of a group's first writer under a steady queue.</summary>
    private const int MaxGroup = 32;

    private const string MemberSavepoint = "member";

    /// <summary>The transaction of the unit (<see cref="TransactionAsync"/>) this async flow runs in, if any.</summary>
    private readonly AsyncLocal<SqliteTransaction?> _unit = new();

    /// <summary>Writers waiting for the lock or holding it: while there are some, a finished writer leaves the transaction open for them.</summary>
    private int _queuedWriters;

    /// <summary>The open transaction and the writes it carries; only touched under the lock.</summary>
    private CommitGroup? _group;

    private sealed class CommitGroup(SqliteTransaction transaction)
    {
        public SqliteTransaction Transaction { get; } = transaction;

        /// <summary>Writes done in the transaction, waiting for its commit.</summary>
        public int Members { get; set; }

        public TaskCompletionSource Committed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>
    /// The writer's budget check: as a reader's (<see cref="OpenAsync"/>), but never while others' writes share the
    /// transaction (the group already holds done writes). It runs on the statement's thread, the lock holder's.
    /// </summary>
    private void InterruptOnlyAlone(SqliteConnection writer) =>
        SQLitePCL.raw.sqlite3_progress_handler(writer.Handle, 10_000,
            _ => _group is not { Members: > 0 } && RequestBudget.Current is { OutOfTime: true } ? 1 : 0, null);

    private async Task<T> WriteAsync<T>(Func<SqliteConnection, SqliteTransaction, Task<T>> work, CancellationToken ct)
    {
        // Inside a unit the write joins its transaction: the unit holds the lock and commits or rolls back.
        if (_unit.Value is { } unit)
        {
            try { return await work(unit.Connection!, unit); }
            catch (SqliteException e) when (Translate(e) is { } failure) { throw failure; }
        }
        return await ExclusiveAsync(tx => work(tx.Connection!, tx), asUnit: false, ct);
    }

    /// <summary>
    /// One SQLite transaction on the writer around the whole unit, holding the write lock throughout: other writers
    /// wait, readers keep reading the last committed state (WAL). The unit's own reads go through the writer, so they
    /// see its writes. A rolled-back unit may have created tables (a class first written in it): the table list is
    /// read again from the file.
    /// </summary>
    public async Task<T> TransactionAsync<T>(Func<CancellationToken, Task<T>> work, CancellationToken ct)
    {
        if (_unit.Value is not null) return await work(ct);
        return await ExclusiveAsync(_ => work(ct), asUnit: true, ct);
    }

    private async Task<T> ExclusiveAsync<T>(Func<SqliteTransaction, Task<T>> work, bool asUnit, CancellationToken ct)
    {
        Interlocked.Increment(ref _queuedWriters);
        try
        {
            await _writeLock.WaitAsync(ct);
        }
        catch
        {
            // Leaving the queue without writing: the last holder may have left the transaction open for this writer.
            if (Interlocked.Decrement(ref _queuedWriters) == 0) await CommitLeftOpenAsync();
            throw;
        }

        CommitGroup? joined = null;
        Exception? failure = null;
        T result = default!;
        try
        {
            try
            {
                var group = _group ??= new CommitGroup((SqliteTransaction)await (_writer ?? throw new InvalidOperationException("Store not initialized."))
                    .BeginTransactionAsync(CancellationToken.None));
                result = await RunInGroupAsync(group, work, asUnit);
                joined = group;
            }
            catch (Exception e)
            {
                failure = e;
            }
            var othersQueued = Interlocked.Decrement(ref _queuedWriters) > 0;
            if (_group is { } open && (!othersQueued || open.Members >= MaxGroup)) await CommitAsync(open);
        }
        finally
        {
            _writeLock.Release();
        }

        if (joined is not null) await joined.Committed.Task;
        if (failure is not null) ExceptionDispatchInfo.Throw(failure);
        return result;
    }

    /// <summary>
    /// Runs one write in the open transaction; on failure undoes only its own part (throwing the translated error), or,
    /// when the transaction itself is gone, fails the group.
    /// </summary>
    private async Task<T> RunInGroupAsync<T>(CommitGroup group, Func<SqliteTransaction, Task<T>> work, bool asUnit)
    {
        var shared = group.Members > 0;
        if (shared) group.Transaction.Save(MemberSavepoint);
        if (asUnit) _unit.Value = group.Transaction;
        try
        {
            var result = await work(group.Transaction);
            if (shared) group.Transaction.Release(MemberSavepoint);
            group.Members++;
            return result;
        }
        catch (Exception e)
        {
            var failure = Translated(e);
            if (shared && InTransaction())
            {
                group.Transaction.Rollback(MemberSavepoint);
                group.Transaction.Release(MemberSavepoint);
            }
            else
            {
                // Alone in it, or SQLite rolled the whole transaction back (a full disk, an I/O error): it ends here.
                Abandon(group, failure);
            }
            if (asUnit) await ReloadTablesAsync();
            if (ReferenceEquals(failure, e)) throw;
            throw failure;
        }
        finally
        {
            if (asUnit) _unit.Value = null;
        }
    }

    private Exception? Translate(SqliteException e) =>
        e.SqliteErrorCode == 19 && e.Message.Contains("UNIQUE", StringComparison.Ordinal) ? new DuplicateKeyException(UniqueIndexName(e.Message))
        : Failed(_writer!, e);

    /// <summary>The Parse error behind a failed statement or commit, or the exception itself.</summary>
    private Exception Translated(Exception e) => e is SqliteException sqlite && Translate(sqlite) is { } translated ? translated : e;

    private bool InTransaction() => _writer is { } writer && SQLitePCL.raw.sqlite3_get_autocommit(writer.Handle) == 0;

    private async Task CommitAsync(CommitGroup group)
    {
        _group = null;
        try
        {
            await group.Transaction.CommitAsync(CancellationToken.None);
            group.Committed.TrySetResult();
        }
        catch (Exception e)
        {
            if (InTransaction()) await group.Transaction.RollbackAsync(CancellationToken.None);
            group.Committed.TrySetException(Translated(e));
        }
        finally
        {
            await group.Transaction.DisposeAsync();
        }
    }

    /// <summary>Rolls the open transaction back; the writes already in it learn it failed with <paramref name="cause"/>.</summary>
    private void Abandon(CommitGroup group, Exception cause)
    {
        _group = null;
        if (InTransaction()) group.Transaction.Rollback();
        group.Transaction.Dispose();
        if (group.Members > 0) group.Committed.TrySetException(cause);
        else group.Committed.TrySetResult();
    }

    /// <summary>A writer gave up waiting and the queue is empty: commits what the last holder left open for it.</summary>
    private async Task CommitLeftOpenAsync()
    {
        await _writeLock.WaitAsync(CancellationToken.None);
        try
        {
            if (_group is { } open && Volatile.Read(ref _queuedWriters) == 0) await CommitAsync(open);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>After a rolled-back unit: tables it created are gone again.</summary>
    private async Task ReloadTablesAsync()
    {
        _tables.Clear();
        await using var command = _writer!.CreateCommand();
        command.CommandText = "SELECT class_name FROM \"_schema\"";
        command.Transaction = _group?.Transaction;
        await using var rows = await command.ExecuteReaderAsync(CancellationToken.None);
        while (await rows.ReadAsync(CancellationToken.None)) _tables[rows.GetString(0)] = true;
    }
}
