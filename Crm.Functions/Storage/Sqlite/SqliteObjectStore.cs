using Crm.Functions.Core.Store;
using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Crm.Functions.Core;
using Crm.Functions.Core.Query;
using Crm.Functions.Core.Requests;
using Crm.Functions.Core.Schema;
using Crm.Functions.Core.Telemetry;
using Microsoft.Data.Sqlite;

namespace Crm.Functions.Storage.Sqlite;

/// <summary>
/// The embedded store: one SQLite file in WAL mode, one table per class holding JSON documents, expression
/// indexes for declared schema indexes, and a relations table. SQLite has a single writer, so writes go
/// through one connection under a lock — which is also what makes read-modify-write (Increment) atomic —
/// and writes that queue for it commit together (SqliteObjectStore.Writes.cs), while reads use a small pool of
/// connections that WAL lets run beside the writer.
/// </summary>
internal sealed partial class SqliteObjectStore : IObjectStore, IReportsTableScans
{
    private readonly string _path;
    private readonly string _connectionString;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly ConcurrentBag<SqliteConnection> _readers = [];
    private readonly ConcurrentDictionary<string, bool> _tables = new(StringComparer.Ordinal);
    private SqliteConnection? _writer;

    public SqliteObjectStore(string path)
    {
        _path = Path.GetFullPath(path);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = _path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
            DefaultTimeout = 30,
        }.ToString();
    }

    public string Kind => "sqlite";

    public bool UnitsSpanClasses => true;

    public string FilePath => _path;

    public async Task InitializeAsync(CancellationToken ct)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
        try
        {
            _writer = await OpenAsync(ct);
            InterruptOnlyAlone(_writer);
            await ExecAsync(_writer, $"PRAGMA cache_size = -{WriterCacheKib};", ct);
            // Checked before anything writes: switching a rollback-journal file to WAL rewrites its header, so a
            // damaged or foreign file must be refused first to stay byte-for-byte as it was.
            var check = await ScalarAsync(_writer, "PRAGMA quick_check;", ct);
            if (!string.Equals(check as string, "ok", StringComparison.Ordinal))
                throw new InvalidOperationException($"The data file {_path} failed SQLite's integrity check ({check}); it was left untouched.");
            var tables = Convert.ToInt64(await ScalarAsync(_writer, "SELECT count(*) FROM sqlite_master WHERE type = 'table';", ct), System.Globalization.CultureInfo.InvariantCulture);
            var ours = Convert.ToInt64(await ScalarAsync(_writer, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_schema';", ct), System.Globalization.CultureInfo.InvariantCulture);
            if (tables > 0 && ours == 0)
                throw new InvalidOperationException($"The data file {_path} is a SQLite database of another application (it has tables but no \"_schema\" table); it was left untouched.");
            await ExecAsync(_writer, "PRAGMA journal_mode = WAL;", ct);
            await ExecAsync(_writer, """
                CREATE TABLE IF NOT EXISTS "_schema" (class_name TEXT PRIMARY KEY, json TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS "_relations" (owner_class TEXT NOT NULL, field TEXT NOT NULL, owner_id TEXT NOT NULL, related_id TEXT NOT NULL,
                    PRIMARY KEY (owner_class, field, owner_id, related_id)) WITHOUT ROWID;
                CREATE INDEX IF NOT EXISTS "_relations_related" ON "_relations" (owner_class, field, related_id);
                """, ct);
        }
        catch (SqliteException e)
        {
            throw new InvalidOperationException($"The data file {_path} cannot be used as a SQLite database: {e.Message} It was left untouched.", e);
        }
    }

    /// <summary>Runs SQLite's full integrity check; returns "ok" or the problems found.</summary>
    public async Task<string> IntegrityCheckAsync(CancellationToken ct)
    {
        var reader = await RentReaderAsync(ct);
        try { return (await ScalarAsync(reader, "PRAGMA integrity_check;", ct))?.ToString() ?? ""; }
        finally { ReturnReader(reader); }
    }

    /// <summary>
    /// The writer's page cache, in KiB (SQLite's default is 2 MB). Past a connection's cache, each page it visits is a
    /// pread and a copy from the OS: with the readers', a third of the server's CPU on the flexible-schema load at 40 MB
    /// of data. The writer touches every index of every class it writes and keeps its pages from one write to the next.
    /// Readers keep the default: a reader's cache is emptied when it starts a read after another connection committed
    /// (WAL), and a larger one measured no faster, only bigger (bench/README.md).
    /// </summary>
    private const int WriterCacheKib = 65536;

    private async Task<SqliteConnection> OpenAsync(CancellationToken ct)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(ct);
        // Lets TakeScannedRows walk the connection's prepared statements (SQLitePCL tracks them only when asked).
        connection.Handle!.enable_sqlite3_next_stmt(true);
        await ExecAsync(connection, "PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = OFF;", ct);
        // A budget of matching time per statement, on top of the per-match timeout: a pattern that takes just
        // under the timeout on each of thousands of rows would otherwise hold a reader (or the write lock) for
        // minutes. Only time inside the regex counts, so fast patterns scanning large tables are not cut short.
        // ParseRegex also charges the request's budget, which is what bounds a request of many statements.
        // A single statement can run long (a large $all, a scan of a big table): SQLite asks this every few thousand
        // instructions, and a request out of wall time interrupts its statement (SQLITE_INTERRUPT, answered 124).
        SQLitePCL.raw.sqlite3_progress_handler(connection.Handle, 10_000, static _ => RequestBudget.Current is { OutOfTime: true } ? 1 : 0, null);
        var budget = RegexBudgets.GetOrCreateValue(connection);
        connection.CreateFunction("crm_regex", (string pattern, string options, object? value) =>
        {
            if (value is not string text) return false;
            try
            {
                if (budget.Spent > budget.Limit) throw ParseRegex.TimedOut();
                var started = System.Diagnostics.Stopwatch.GetTimestamp();
                try { return ParseRegex.IsMatch(pattern, options, text); }
                finally { budget.Spent += System.Diagnostics.Stopwatch.GetElapsedTime(started).Ticks; }
            }
            catch (ParseException e)
            {
                // SQLite passes on only the message; the statement's caller rethrows this one (see Failed).
                budget.Failure = e;
                throw;
            }
        });
        connection.CreateFunction("crm_text_score", (string terms, object? text) =>
            TextSearch.Score(ParsedScoreTerms(terms), text as string), isDeterministic: true);
        return connection;
    }

    /// <summary>Parsed crm_text_score terms: a query passes the same text for every row it ranks.</summary>
    private static readonly ConcurrentDictionary<string, TextTerms> ScoreTerms = new(StringComparer.Ordinal);

    private static TextTerms ParsedScoreTerms(string terms)
    {
        if (ScoreTerms.TryGetValue(terms, out var parsed)) return parsed;
        if (ScoreTerms.Count > 256) ScoreTerms.Clear();
        return ScoreTerms[terms] = SqliteQueryTranslator.FromScoreTerms(terms);
    }

    /// <summary>A pooled reader; inside a unit (<see cref="TransactionAsync"/>) the writer, so the unit reads its own writes.</summary>
    private async Task<SqliteConnection> RentReaderAsync(CancellationToken ct) =>
        _unit.Value is { } unit ? unit.Connection! : _readers.TryTake(out var connection) ? connection : await OpenAsync(ct);

    /// <summary>The transaction a command on this connection must name: the unit's, when it is the writer.</summary>
    private SqliteTransaction? ReaderTx(SqliteConnection connection) =>
        _unit.Value is { } unit && ReferenceEquals(unit.Connection, connection) ? unit : null;

    private void ReturnReader(SqliteConnection connection)
    {
        if (ReferenceEquals(connection, _writer)) return;
        if (_readers.Count < 16) _readers.Add(connection);
        else connection.Dispose();
    }

    internal static async Task ExecAsync(SqliteConnection connection, string sql, CancellationToken ct, SqliteTransaction? tx = null)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = tx;
        await command.ExecuteNonQueryAsync(ct);
    }

    internal static async Task<object?> ScalarAsync(SqliteConnection connection, string sql, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync(ct);
    }

    /// <summary>Regex time spent by the running statement of one connection (a connection runs one statement at a time).</summary>
    private sealed class RegexBudget
    {
        public long Spent;
        public long Limit = long.MaxValue;
        public ParseException? Failure;
    }

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<SqliteConnection, RegexBudget> RegexBudgets = [];

    /// <summary>
    /// The Parse error behind a failed statement: crm_regex's own (SQLite reports it only as a message), the
    /// request's wall time (the progress handler interrupted the statement), or a
    /// query too large for SQLite's fixed limits, which the where parser's bounds should already have refused.
    /// </summary>
    private static ParseException? Failed(SqliteConnection connection, SqliteException e) =>
        RegexBudgets.TryGetValue(connection, out var budget) && budget.Failure is { } failure ? failure
        : e.SqliteErrorCode == 9 && RequestBudget.Current is { OutOfTime: true } request ? request.TimeExceeded()
        : e.SqliteErrorCode == 1 && (e.Message.Contains("too many SQL variables", StringComparison.Ordinal) || e.Message.Contains("Expression tree is too large", StringComparison.Ordinal))
            ? new ParseException(ParseError.InvalidQuery, "The query is too large for this store; use fewer values or less nesting.")
        : null;

    /// <summary>One statement of the request: charged to its budget (statement count and wall time).</summary>
    private static void Charge() => RequestBudget.Current?.ChargeStatement();

    /// <summary>
    /// Prepared statements of one connection by SQL text. Microsoft.Data.Sqlite keeps a command's statements
    /// prepared between executions, and preparing cost as much as running a pipeline query's 50-row page; a
    /// connection serves one caller at a time, and queries repeat a handful of shapes.
    /// </summary>
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<SqliteConnection, Dictionary<string, SqliteCommand>> Prepared = [];

    private const int PreparedPerConnection = 64;

    /// <summary>The connection's command for this SQL, parameters bound. Owned by the connection: not to be disposed.</summary>
    private static SqliteCommand Command(SqliteConnection connection, string sql, SqliteQueryTranslator? translator = null, SqliteTransaction? tx = null)
    {
        if (RegexBudgets.TryGetValue(connection, out var budget))
        {
            budget.Spent = 0;
            budget.Limit = ParseRegex.StatementBudget.Ticks;
            budget.Failure = null;
        }
        var cache = Prepared.GetOrCreateValue(connection);
        if (!cache.TryGetValue(sql, out var command))
        {
            if (cache.Count >= PreparedPerConnection)
            {
                foreach (var old in cache.Values) old.Dispose();
                cache.Clear();
            }
            command = connection.CreateCommand();
            command.CommandText = sql;
            cache[sql] = command;
        }
        command.Transaction = tx;
        command.Parameters.Clear();
        if (translator is not null)
            foreach (var (name, value) in translator.Parameters) command.Parameters.AddWithValue(name, value);
        return command;
    }

    private static string UniqueIndexName(string message)
    {
        // "UNIQUE constraint failed: index 'ix__User_username'"
        var start = message.IndexOf("index '", StringComparison.Ordinal);
        if (start < 0) return "";
        start += 7;
        var end = message.IndexOf('\'', start);
        var name = end > start ? message[start..end] : "";
        var last = name.LastIndexOf("__", StringComparison.Ordinal);
        return last >= 0 ? name[(last + 2)..] : name;
    }

    // ---- schema -------------------------------------------------------------------------------------

    public async Task<IReadOnlyList<ClassSchema>> LoadSchemasAsync(CancellationToken ct)
    {
        var reader = await RentReaderAsync(ct);
        try
        {
            var command = Command(reader, "SELECT json FROM \"_schema\"", null, ReaderTx(reader));
            await using var rows = await command.ExecuteReaderAsync(ct);
            var list = new List<ClassSchema>();
            while (await rows.ReadAsync(ct))
            {
                var schema = SchemaJson.Deserialize(rows.GetString(0));
                list.Add(schema);
                _tables[schema.ClassName] = true;
            }
            return list;
        }
        finally { ReturnReader(reader); }
    }

    public Task SaveSchemaAsync(ClassSchema schema, CancellationToken ct) => WriteAsync(async (connection, tx) =>
    {
        var table = SqliteQueryTranslator.Table(schema.ClassName);
        await ExecAsync(connection, $"""
            CREATE TABLE IF NOT EXISTS {table} (id TEXT PRIMARY KEY, owner_id TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
                version INTEGER NOT NULL, acl TEXT, rperm TEXT, wperm TEXT, data TEXT NOT NULL);
            """, ct, tx);

        // Declared indexes become expression indexes over the same expressions the translator emits.
        var prefix = "ix_" + schema.ClassName + "__";
        var existing = new List<string>();
        var list = Command(connection, "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = $t", null, tx);
        list.Parameters.AddWithValue("$t", "c_" + schema.ClassName);
        await using (var rows = await list.ExecuteReaderAsync(ct))
            while (await rows.ReadAsync(ct)) existing.Add(rows.GetString(0));
        foreach (var stale in existing.Where(n => n.StartsWith(prefix, StringComparison.Ordinal) && !schema.Indexes.ContainsKey(n[prefix.Length..])))
            await ExecAsync(connection, $"DROP INDEX \"{stale}\"", ct, tx);
        await SyncTextIndexesAsync(connection, tx, schema, ct);
        foreach (var (name, index) in schema.Indexes)
        {
            if (index.Text) continue;
            var columns = index.Keys.Select(k =>
            {
                var field = WhereParser.ResolveField(k.Field, schema);
                var expr = SqliteQueryTranslator.SortExpr(field, "");
                if (index.IgnoreCase) expr = $"lower({expr})";
                return k.Direction < 0 ? expr + " DESC" : expr;
            }).ToList();
            // Every query carries the caller's read check on rperm. With rperm in the index, SQLite tests it on the index
            // entry before it opens the row, so a query opens only the rows the caller may read: a count of an amount
            // range over 100,000 records of 16 owners took 1.75 ms instead of 17. (A unique index keeps its own keys
            // only: rperm would widen what is unique.)
            if (!index.Unique) columns.Add("rperm");
            await ExecAsync(connection,
                $"CREATE {(index.Unique ? "UNIQUE " : "")}INDEX IF NOT EXISTS \"{prefix}{name}\" ON {table} ({string.Join(", ", columns)})", ct, tx);
        }

        var upsert = Command(connection, "INSERT INTO \"_schema\" (class_name, json) VALUES ($c, $j) ON CONFLICT(class_name) DO UPDATE SET json = excluded.json", null, tx);
        upsert.Parameters.AddWithValue("$c", schema.ClassName);
        upsert.Parameters.AddWithValue("$j", SchemaJson.Serialize(schema));
        await upsert.ExecuteNonQueryAsync(ct);
        _tables[schema.ClassName] = true;
        return true;
    }, ct);

    /// <summary>
    /// Text indexes: one FTS5 table per indexed field (<see cref="SqliteQueryTranslator.FtsTable"/>), its rows keyed by
    /// the class table's rowid (stable: rows are never moved, and the store never runs VACUUM). Triggers on the class
    /// table keep it in step with every insert, update and delete — inside the same transaction, whichever statement
    /// writes — so no code path can forget it. A new index is filled from the rows already there; an index the
    /// schema no longer has (its field deleted) is dropped with its triggers.
    /// </summary>
    private static async Task SyncTextIndexesAsync(SqliteConnection connection, SqliteTransaction tx, ClassSchema schema, CancellationToken ct)
    {
        var table = SqliteQueryTranslator.Table(schema.ClassName);
        var prefix = SqliteQueryTranslator.FtsPrefix(schema.ClassName);
        var wanted = schema.Indexes.Values.Where(i => i.Text).Select(i => i.Keys[0].Field).ToHashSet(StringComparer.Ordinal);
        foreach (var field in await FtsFieldsAsync(connection, tx, schema.ClassName, ct))
        {
            if (wanted.Remove(field)) continue;
            await ExecAsync(connection, $"""
                DROP TRIGGER IF EXISTS "{prefix}{field}:insert"; DROP TRIGGER IF EXISTS "{prefix}{field}:update"; DROP TRIGGER IF EXISTS "{prefix}{field}:delete";
                DROP TABLE IF EXISTS {SqliteQueryTranslator.FtsTable(schema.ClassName, field)};
                """, ct, tx);
        }
        foreach (var field in wanted)
        {
            var fts = SqliteQueryTranslator.FtsTable(schema.ClassName, field);
            string Text(string row) => $"json_extract({row}.data, '$.{field}')";
            string IsText(string row) => $"json_type({row}.data, '$.{field}') = 'text'";
            await ExecAsync(connection, $"""
                CREATE VIRTUAL TABLE {fts} USING fts5(body, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3');
                INSERT INTO {fts} (rowid, body) SELECT rowid, {Text(table)} FROM {table} WHERE {IsText(table)};
                CREATE TRIGGER "{prefix}{field}:insert" AFTER INSERT ON {table} WHEN {IsText("new")}
                BEGIN INSERT INTO {fts} (rowid, body) VALUES (new.rowid, {Text("new")}); END;
                CREATE TRIGGER "{prefix}{field}:update" AFTER UPDATE OF data ON {table} WHEN {Text("old")} IS NOT {Text("new")}
                BEGIN
                    DELETE FROM {fts} WHERE rowid = old.rowid;
                    INSERT INTO {fts} (rowid, body) SELECT new.rowid, {Text("new")} WHERE {IsText("new")};
                END;
                CREATE TRIGGER "{prefix}{field}:delete" AFTER DELETE ON {table}
                BEGIN DELETE FROM {fts} WHERE rowid = old.rowid; END;
                """, ct, tx);
        }
    }

    /// <summary>The fields of a class that have an FTS5 table.</summary>
    private static async Task<List<string>> FtsFieldsAsync(SqliteConnection connection, SqliteTransaction tx, string className, CancellationToken ct)
    {
        var prefix = SqliteQueryTranslator.FtsPrefix(className);
        var list = Command(connection, "SELECT name FROM sqlite_master WHERE type = 'table' AND substr(name, 1, length($p)) = $p AND sql LIKE 'CREATE VIRTUAL TABLE%'", null, tx);
        list.Parameters.AddWithValue("$p", prefix);
        var fields = new List<string>();
        await using var rows = await list.ExecuteReaderAsync(ct);
        // FTS5 keeps its data in shadow tables named after the index (…_data, …_idx): plain tables, so not listed.
        while (await rows.ReadAsync(ct)) fields.Add(rows.GetString(0)[prefix.Length..]);
        return fields;
    }

    public Task DropClassAsync(string className, CancellationToken ct) => WriteAsync(async (connection, tx) =>
    {
        foreach (var field in await FtsFieldsAsync(connection, tx, className, ct))
            await ExecAsync(connection, $"DROP TABLE IF EXISTS {SqliteQueryTranslator.FtsTable(className, field)}", ct, tx);
        await ExecAsync(connection, $"DROP TABLE IF EXISTS {SqliteQueryTranslator.Table(className)}", ct, tx);
        var command = Command(connection, "DELETE FROM \"_schema\" WHERE class_name = $c; DELETE FROM \"_relations\" WHERE owner_class = $c;", null, tx);
        command.Parameters.AddWithValue("$c", className);
        await command.ExecuteNonQueryAsync(ct);
        _tables.TryRemove(className, out _);
        return true;
    }, ct);

    public Task DeleteFieldAsync(string className, string field, bool isRelation, CancellationToken ct) => WriteAsync(async (connection, tx) =>
    {
        if (isRelation)
        {
            var rel = Command(connection, "DELETE FROM \"_relations\" WHERE owner_class = $c AND field = $f", null, tx);
            rel.Parameters.AddWithValue("$c", className);
            rel.Parameters.AddWithValue("$f", field);
            await rel.ExecuteNonQueryAsync(ct);
        }
        else
        {
            await ExecAsync(connection, $"UPDATE {SqliteQueryTranslator.Table(className)} SET data = json_remove(data, '$.{field}') WHERE json_type(data, '$.{field}') IS NOT NULL", ct, tx);
        }
        return true;
    }, ct);

    // ---- objects ------------------------------------------------------------------------------------

    private const string Columns = "id, owner_id, created_at, updated_at, version, acl, data";

    /// <summary>The columns under the alias of a find's table, which is always the translator's first ("t0").</summary>
    private static readonly string FirstAliasColumns = string.Join(", ", Columns.Split(", ").Select(c => "t0." + c));

    private static string SelectList(string alias) =>
        alias == "t0" ? FirstAliasColumns : string.Join(", ", Columns.Split(", ").Select(c => alias + "." + c));

    public async Task<IReadOnlyList<StoredObject>> FindAsync(StoreQuery query, CancellationToken ct)
    {
        using var operation = CrmTelemetry.Store(Kind, "find", query.ClassName);
        if (!_tables.ContainsKey(query.ClassName) || query.Limit <= 0) return [];
        Charge();
        var translator = new SqliteQueryTranslator();
        var alias = translator.NewAlias();
        var where = translator.Where(query.Where, alias, query.ClassName);
        // A $text query ranks its rows: the relevance is one more column, which order=$score sorts by.
        var ranking = TextSearch.Ranking(query.Where);
        var score = ranking.Count == 0 ? "" : $", ({translator.Score(ranking, alias)}) AS {SqliteQueryTranslator.ScoreColumn}";
        var sql = $"SELECT {SelectList(alias)}{score} FROM {SqliteQueryTranslator.Table(query.ClassName)} {alias} WHERE {where}"
                  + SqliteQueryTranslator.OrderBy(query.Order.Where(k => ranking.Count > 0 || !k.Field.IsScore).ToList(), alias)
                  + SqliteQueryTranslator.LimitOffset(query.Limit, query.Skip, translator);
        var reader = await RentReaderAsync(ct);
        try
        {
            var command = Command(reader, sql, translator, ReaderTx(reader));
            await using var rows = await command.ExecuteReaderAsync(ct);
            var list = new List<StoredObject>();
            while (await rows.ReadAsync(ct))
            {
                var obj = Read(rows, query.ClassName);
                if (ranking.Count > 0) obj.Score = rows.IsDBNull(7) ? 0 : rows.GetDouble(7);
                list.Add(obj);
            }
            RequestBudget.Current?.ChargeObjects(list.Count);
            ReportScan(reader, query.ClassName, query.Where, query.Order);
            return list;
        }
        catch (SqliteException e) when (Failed(reader, e) is { } failure)
        {
            throw failure;
        }
        finally { ReturnReader(reader); }
    }

    public event Action<TableScan>? TableScanned;

    /// <summary>
    /// Reports the read that just ran on the connection when it stepped through a table scan (SQLite's own count of
    /// full-scan steps), for <see cref="AutomaticIndexes"/>. A get by id never scans and is not looked at.
    /// </summary>
    private void ReportScan(SqliteConnection connection, string className, QueryNode where, IReadOnlyList<SortKey> order)
    {
        if (TableScanned is not { } handler) return;
        if (where is CompareNode { Field.IsObjectId: true, Op: CompareOp.Eq } || where is AndNode { Children: var terms } && terms.Any(t => t is CompareNode { Field.IsObjectId: true, Op: CompareOp.Eq }))
            return;
        var rows = TakeScannedRows(connection);
        if (rows > 0) handler(new TableScan(className, where, order, rows));
    }

    /// <summary>
    /// The rows stepped through by table scans since the last call, summed over the connection's prepared statements
    /// and reset. A connection runs one statement at a time, so after a read that is the read's own count (plus that of
    /// any unreported read before it on the same connection: aggregates, which scan by design, drain it too).
    /// </summary>
    private static long TakeScannedRows(SqliteConnection connection)
    {
        long rows = 0;
        var db = connection.Handle!;
        try
        {
            for (var statement = SQLitePCL.raw.sqlite3_next_stmt(db, null); statement is not null; statement = SQLitePCL.raw.sqlite3_next_stmt(db, statement))
                rows += SQLitePCL.raw.sqlite3_stmt_status(statement, SQLitePCL.raw.SQLITE_STMTSTATUS_FULLSCAN_STEP, 1);
        }
        catch (KeyNotFoundException)
        {
            // A statement SQLite prepared itself (FTS5 keeps its own on a connection that has run a $text search) has no
            // managed handle to walk past. The count is a hint for automatic indexes: it stops there, the read goes on.
        }
        return rows;
    }

    /// <summary>SQLITE_STMTSTATUS_REPREPARE (sqlite3.h), which SQLitePCLRaw does not name.</summary>
    private const int StatementStatusReprepare = 5;

    /// <summary>
    /// How many times SQLite compiled the idle pooled readers' kept statements again (SQLITE_STMTSTATUS_REPREPARE): a kept
    /// statement is only worth keeping while this stays flat, since a recompile costs a parse and a plan.
    /// </summary>
    internal long RecompiledStatements()
    {
        long total = 0;
        foreach (var connection in _readers)
            for (var statement = SQLitePCL.raw.sqlite3_next_stmt(connection.Handle!, null); statement is not null; statement = SQLitePCL.raw.sqlite3_next_stmt(connection.Handle!, statement))
                total += SQLitePCL.raw.sqlite3_stmt_status(statement, StatementStatusReprepare, 0);
        return total;
    }

    /// <summary>The query plan SQLite picks for a find; used to show that pipeline queries are served by indexes.</summary>
    public async Task<string> ExplainAsync(StoreQuery query, CancellationToken ct)
    {
        var translator = new SqliteQueryTranslator();
        var alias = translator.NewAlias();
        var sql = $"EXPLAIN QUERY PLAN SELECT {alias}.id FROM {SqliteQueryTranslator.Table(query.ClassName)} {alias} WHERE {translator.Where(query.Where, alias, query.ClassName)}"
                  + SqliteQueryTranslator.OrderBy(query.Order, alias) + $" LIMIT {query.Limit}";
        var reader = await RentReaderAsync(ct);
        try
        {
            // SQLite plans an EXPLAIN on the connection's cached schema and, opening no transaction, never checks that
            // it is current: a reader that ran nothing since an index was made would explain the plan from before it.
            // A read of the schema table notices the change and reloads it; and the EXPLAIN gets a statement of its own.
            await using (var refresh = reader.CreateCommand())
            {
                refresh.CommandText = "SELECT count(*) FROM sqlite_master";
                refresh.Transaction = ReaderTx(reader);
                await refresh.ExecuteScalarAsync(ct);
            }
            await using var command = reader.CreateCommand();
            command.CommandText = sql;
            command.Transaction = ReaderTx(reader);
            foreach (var (name, value) in translator.Parameters) command.Parameters.AddWithValue(name, value);
            await using var rows = await command.ExecuteReaderAsync(ct);
            var lines = new List<string>();
            while (await rows.ReadAsync(ct)) lines.Add(rows.GetString(3));
            return string.Join('\n', lines);
        }
        finally { ReturnReader(reader); }
    }

    public async Task<long> CountAsync(string className, QueryNode where, CancellationToken ct)
    {
        using var operation = CrmTelemetry.Store(Kind, "count", className);
        if (!_tables.ContainsKey(className)) return 0;
        Charge();
        var translator = new SqliteQueryTranslator();
        var alias = translator.NewAlias();
        var sql = $"SELECT COUNT(*) FROM {SqliteQueryTranslator.Table(className)} {alias} WHERE {translator.Where(where, alias, className)}";
        var reader = await RentReaderAsync(ct);
        try
        {
            var command = Command(reader, sql, translator, ReaderTx(reader));
            var count = Convert.ToInt64(await command.ExecuteScalarAsync(ct), System.Globalization.CultureInfo.InvariantCulture);
            ReportScan(reader, className, where, []);
            return count;
        }
        catch (SqliteException e) when (Failed(reader, e) is { } failure)
        {
            throw failure;
        }
        finally { ReturnReader(reader); }
    }

    public async Task<IReadOnlyList<AggregateRow>> AggregateAsync(AggregateQuery query, CancellationToken ct)
    {
        using var operation = CrmTelemetry.Store(Kind, "aggregate", query.ClassName);
        if (!_tables.ContainsKey(query.ClassName) || query.Limit <= 0) return [];
        Charge();
        var translator = new SqliteQueryTranslator();
        var sql = SqliteAggregate.Sql(query, translator);
        var reader = await RentReaderAsync(ct);
        try
        {
            var command = Command(reader, sql, translator, ReaderTx(reader));
            await using var rows = await command.ExecuteReaderAsync(ct);
            var list = new List<AggregateRow>();
            while (await rows.ReadAsync(ct))
            {
                var key = new JsonNode?[query.Key.Count];
                for (var i = 0; i < key.Length; i++)
                    key[i] = rows.IsDBNull(i) ? null : query.Key[i].Part is null ? JsonNode.Parse(rows.GetString(i)) : JsonValue.Create(rows.GetInt64(i));
                var values = new JsonNode?[query.Accumulators.Count];
                for (var i = 0; i < values.Length; i++)
                {
                    var column = key.Length + i;
                    values[i] = rows.IsDBNull(column) ? null : query.Accumulators[i].Op switch
                    {
                        AggregateOp.Count => JsonValue.Create(rows.GetInt64(column)),
                        AggregateOp.Min or AggregateOp.Max => JsonNode.Parse(rows.GetString(column)),
                        _ => JsonValue.Create(rows.GetDouble(column)),
                    };
                }
                list.Add(new AggregateRow(key, values));
            }
            if (TableScanned is not null) TakeScannedRows(reader);
            RequestBudget.Current?.ChargeObjects(list.Count);
            return list;
        }
        catch (SqliteException e) when (Failed(reader, e) is { } failure)
        {
            throw failure;
        }
        finally { ReturnReader(reader); }
    }

    // The JSON columns are taken as their UTF-8 bytes (SQLite hands TEXT out as bytes without conversion), and
    // parsed only if the core needs a tree.
    private static StoredObject Read(SqliteDataReader rows, string className) => StoredObject.FromText(
        className,
        objectId: rows.GetString(0),
        ownerId: rows.GetString(1),
        createdAt: rows.GetString(2),
        updatedAt: rows.GetString(3),
        etag: rows.GetInt64(4).ToString(System.Globalization.CultureInfo.InvariantCulture),
        acl: rows.IsDBNull(5) ? null : rows.GetFieldValue<byte[]>(5),
        data: rows.GetFieldValue<byte[]>(6));

    private static void Bind(SqliteCommand command, StoredObject obj)
    {
        command.Parameters.AddWithValue("$id", obj.ObjectId);
        command.Parameters.AddWithValue("$owner", obj.OwnerId);
        command.Parameters.AddWithValue("$created", obj.CreatedAt);
        command.Parameters.AddWithValue("$updated", obj.UpdatedAt);
        command.Parameters.AddWithValue("$acl", (object?)obj.Acl?.ToJsonString(SqliteJson.Options) ?? DBNull.Value);
        command.Parameters.AddWithValue("$rperm", Perms(obj.ReadPermissions));
        command.Parameters.AddWithValue("$wperm", Perms(obj.WritePermissions));
        command.Parameters.AddWithValue("$data", obj.Data.ToJsonString(SqliteJson.Options));
    }

    private static object Perms(IReadOnlyList<string>? perms) =>
        perms is null ? DBNull.Value : JsonSerializer.Serialize(perms, SqliteJson.Options);

    public async Task InsertAsync(StoredObject obj, IReadOnlyList<RelationChange> relations, CancellationToken ct)
    {
        using var operation = CrmTelemetry.Store(Kind, "insert", obj.ClassName);
        await WriteAsync(async (connection, tx) =>
        {
            Charge();
            var command = Command(connection,
                $"INSERT INTO {SqliteQueryTranslator.Table(obj.ClassName)} (id, owner_id, created_at, updated_at, version, acl, rperm, wperm, data) VALUES ($id, $owner, $created, $updated, 1, $acl, $rperm, $wperm, $data)",
                null, tx);
            Bind(command, obj);
            try
            {
                await command.ExecuteNonQueryAsync(ct);
            }
            catch (SqliteException e) when (e.SqliteErrorCode == 19 && e.Message.Contains("PRIMARY KEY", StringComparison.Ordinal))
            {
                throw new DuplicateKeyException("objectId");
            }
            obj.ETag = "1";
            await ApplyRelationsAsync(connection, tx, obj.ClassName, obj.ObjectId, relations, ct);
            return true;
        }, ct);
    }

    public async Task<StoredObject?> UpdateAsync(string className, string objectId, QueryNode restriction,
        Func<StoredObject, ValueTask<ObjectWrite?>> mutate, CancellationToken ct)
    {
        using var operation = CrmTelemetry.Store(Kind, "update", className);
        if (!_tables.ContainsKey(className)) return null;
        Charge();
        return await WriteAsync<StoredObject?>(async (connection, tx) =>
        {
            var current = await ReadOneAsync(connection, tx, className, objectId, restriction, ct);
            if (current is null) return null;
            var write = await mutate(current.Clone());
            if (write is null) return null;
            var next = write.Object;
            var command = Command(connection,
                $"UPDATE {SqliteQueryTranslator.Table(className)} SET updated_at = $updated, version = version + 1, acl = $acl, rperm = $rperm, wperm = $wperm, data = $data WHERE id = $id",
                null, tx);
            Bind(command, next);
            await command.ExecuteNonQueryAsync(ct);
            next.ETag = (long.Parse(current.ETag ?? "0", System.Globalization.CultureInfo.InvariantCulture) + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
            await ApplyRelationsAsync(connection, tx, className, objectId, write.Relations, ct);
            return next;
        }, ct);
    }

    public async Task<StoredObject?> DeleteAsync(string className, string objectId, QueryNode restriction, CancellationToken ct)
    {
        using var operation = CrmTelemetry.Store(Kind, "delete", className);
        if (!_tables.ContainsKey(className)) return null;
        Charge();
        return await WriteAsync<StoredObject?>(async (connection, tx) =>
        {
            var current = await ReadOneAsync(connection, tx, className, objectId, restriction, ct);
            if (current is null) return null;
            var command = Command(connection,
                $"DELETE FROM {SqliteQueryTranslator.Table(className)} WHERE id = $id; DELETE FROM \"_relations\" WHERE owner_class = $c AND owner_id = $id;", null, tx);
            command.Parameters.AddWithValue("$id", objectId);
            command.Parameters.AddWithValue("$c", className);
            await command.ExecuteNonQueryAsync(ct);
            return current;
        }, ct);
    }

    private static async Task<StoredObject?> ReadOneAsync(SqliteConnection connection, SqliteTransaction tx, string className, string objectId, QueryNode restriction, CancellationToken ct)
    {
        var translator = new SqliteQueryTranslator();
        var alias = translator.NewAlias();
        var where = translator.Where(QueryNode.And(new CompareNode(FieldRef.Of("objectId"), CompareOp.Eq, new StringValue(objectId)), restriction), alias, className);
        var command = Command(connection,
            $"SELECT {string.Join(", ", Columns.Split(", ").Select(c => alias + "." + c))} FROM {SqliteQueryTranslator.Table(className)} {alias} WHERE {where}", translator, tx);
        await using var rows = await command.ExecuteReaderAsync(ct);
        return await rows.ReadAsync(ct) ? Read(rows, className) : null;
    }

    private static async Task ApplyRelationsAsync(SqliteConnection connection, SqliteTransaction tx, string className, string ownerId, IReadOnlyList<RelationChange> relations, CancellationToken ct)
    {
        foreach (var change in relations)
        {
            foreach (var id in change.Ids)
            {
                var command = Command(connection, change.Add
                    ? "INSERT OR IGNORE INTO \"_relations\" (owner_class, field, owner_id, related_id) VALUES ($c, $f, $o, $r)"
                    : "DELETE FROM \"_relations\" WHERE owner_class = $c AND field = $f AND owner_id = $o AND related_id = $r", null, tx);
                command.Parameters.AddWithValue("$c", className);
                command.Parameters.AddWithValue("$f", change.Field);
                command.Parameters.AddWithValue("$o", ownerId);
                command.Parameters.AddWithValue("$r", id);
                await command.ExecuteNonQueryAsync(ct);
            }
        }
    }

    public async Task<IReadOnlyList<string>> RelatedIdsAsync(string ownerClass, string ownerId, string field, CancellationToken ct)
    {
        using var operation = CrmTelemetry.Store(Kind, "related", ownerClass);
        Charge();
        var reader = await RentReaderAsync(ct);
        try
        {
            var command = Command(reader, "SELECT related_id FROM \"_relations\" WHERE owner_class = $c AND field = $f AND owner_id = $o", null, ReaderTx(reader));
            command.Parameters.AddWithValue("$c", ownerClass);
            command.Parameters.AddWithValue("$f", field);
            command.Parameters.AddWithValue("$o", ownerId);
            await using var rows = await command.ExecuteReaderAsync(ct);
            var ids = new List<string>();
            while (await rows.ReadAsync(ct)) ids.Add(rows.GetString(0));
            return ids;
        }
        finally { ReturnReader(reader); }
    }

    public Task PurgeAsync(string className, CancellationToken ct) =>
        !_tables.ContainsKey(className) ? Task.CompletedTask : WriteAsync(async (connection, tx) =>
        {
            await ExecAsync(connection, $"DELETE FROM {SqliteQueryTranslator.Table(className)}", ct, tx);
            var command = Command(connection, "DELETE FROM \"_relations\" WHERE owner_class = $c", null, tx);
            command.Parameters.AddWithValue("$c", className);
            await command.ExecuteNonQueryAsync(ct);
            return true;
        }, ct);

    public async ValueTask DisposeAsync()
    {
        while (_readers.TryTake(out var reader)) await reader.DisposeAsync();
        if (_writer is not null)
        {
            await _writeLock.WaitAsync();
            if (_group is { } open) await CommitAsync(open);
            await _writer.DisposeAsync();
            _writer = null;
            _writeLock.Release();
        }
        _writeLock.Dispose();
    }
}
