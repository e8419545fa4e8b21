namespace Crm.Functions.Core.Requests;

/// <summary>
/// What one request may spend, across everything it causes: a REST call, a whole <c>/batch</c>, a whole GraphQL
/// document, one real-time evaluation. Every door opens one with <see cref="Begin"/> once it knows its caller;
/// the core and the stores charge <see cref="Current"/> (it flows with the request's async calls, like
/// <c>Activity.Current</c>), so a cost cannot be multiplied by splitting it over sub-requests or aliases.
/// Exceeding any part is a <see cref="ParseException"/> (code 124 for time), never a fault.
/// </summary>
/// <remarks>
/// Ambient rather than a parameter: the costs arise deep inside the stores (a regex callback inside SQLite, a
/// Cosmos page), far below the door that owns the request, and every core signature would otherwise carry it.
/// Work outside any request (start-up, the CLI, background pumps) runs without a budget and is not limited.
/// </remarks>
internal sealed class RequestBudget
{
    private static readonly AsyncLocal<RequestBudget?> Ambient = new();

    private readonly long _startTimestamp = System.Diagnostics.Stopwatch.GetTimestamp();
    private long _regexTicks;
    private int _statements;
    private long _objects;
    private int _nestedCreates;
    private int _passwordHashes;

    private RequestBudget(BudgetLimits limits, string? caller)
    {
        Limits = limits;
        Caller = caller;
    }

    public BudgetLimits Limits { get; }

    /// <summary>
    /// Who pays for expensive work: the user id, or the client IP for anonymous callers. Null for the master key
    /// and for work outside any caller, which are not held to the per-caller limits.
    /// </summary>
    public string? Caller { get; }

    /// <summary>The budget of the request running on this async flow, or null outside any request.</summary>
    public static RequestBudget? Current => Ambient.Value;

    /// <summary>Opens a budget for the rest of this async flow; disposing the scope restores the previous one.</summary>
    public static Scope Begin(BudgetLimits limits, string? caller = null)
    {
        var previous = Ambient.Value;
        Ambient.Value = new RequestBudget(limits, caller);
        return new Scope(previous);
    }

    public TimeSpan Elapsed => System.Diagnostics.Stopwatch.GetElapsedTime(_startTimestamp);
    public TimeSpan RegexTime => TimeSpan.FromTicks(Interlocked.Read(ref _regexTicks));
    public int Statements => Volatile.Read(ref _statements);
    public long Objects => Interlocked.Read(ref _objects);
    public int NestedCreates => Volatile.Read(ref _nestedCreates);

    /// <summary>Wall time left for the request (never negative).</summary>
    public TimeSpan TimeLeft => Limits.WallTime - Elapsed is var left && left > TimeSpan.Zero ? left : TimeSpan.Zero;

    /// <summary>Regex matching time left for the request (never negative).</summary>
    public TimeSpan RegexTimeLeft => Limits.RegexTime - RegexTime is var left && left > TimeSpan.Zero ? left : TimeSpan.Zero;

    /// <summary>Throws 124 when the request has run longer than its wall time.</summary>
    public void CheckTime()
    {
        if (OutOfTime) throw TimeExceeded();
    }

    /// <summary>Whether the wall time is spent (cheap enough to ask inside a running statement).</summary>
    public bool OutOfTime => Elapsed > Limits.WallTime;

    /// <summary>The 124 of a request that ran out of wall time.</summary>
    public ParseException TimeExceeded() => Refused("time", new(ParseError.Timeout, $"The request took longer than {Limits.WallTime.TotalMilliseconds:0} ms (Parse:Limits:RequestTimeoutMilliseconds)."));

    /// <summary>One store statement (a query, a count, a write); also checks the wall time.</summary>
    public void ChargeStatement()
    {
        if (Interlocked.Increment(ref _statements) > Limits.Statements)
            throw Refused("statements", new ParseException(ParseError.Timeout, $"The request ran more than {Limits.Statements} store statements (Parse:Limits:MaxStatementsPerRequest)."));
        CheckTime();
    }

    /// <summary>Time spent matching regular expressions; throws 124 once the request's regex time is spent.</summary>
    public void ChargeRegex(TimeSpan spent)
    {
        if (Interlocked.Add(ref _regexTicks, spent.Ticks) > Limits.RegexTime.Ticks)
            throw Refused("regex_time", new ParseException(ParseError.Timeout, $"$regex evaluation timed out: the request spent more than {Limits.RegexTime.TotalMilliseconds:0} ms matching (Parse:Limits:RegexMillisecondsPerRequest)."));
    }

    /// <summary>Records matching time without judging it (the next <see cref="ChargeRegex"/> does), for use in a finally.</summary>
    public void AddRegexTime(TimeSpan spent) => Interlocked.Add(ref _regexTicks, spent.Ticks);

    /// <summary>Objects read or returned.</summary>
    public void ChargeObjects(int count)
    {
        if (Interlocked.Add(ref _objects, count) > Limits.Objects)
            throw Refused("objects", new ParseException(ParseError.InvalidQuery, $"The request read more than {Limits.Objects} objects (Parse:Limits:MaxObjectsPerRequest)."));
    }

    /// <summary>Objects created as part of another write (GraphQL createAndAdd, nested pointers).</summary>
    public void ChargeNestedCreate()
    {
        if (Interlocked.Increment(ref _nestedCreates) > Limits.NestedCreates)
            throw Refused("nested_creates", new ParseException(ParseError.InvalidQuery, $"The request creates more than {Limits.NestedCreates} nested objects (Parse:Limits:MaxNestedCreates)."));
    }

    /// <summary>
    /// One bcrypt hash or verification. A caller's requests may hash only a few passwords each (a /batch of password
    /// changes would otherwise buy seconds of CPU), and at most a few such requests of one caller run at once.
    /// </summary>
    public static ValueTask<CallerGates.Lease> PasswordHashAsync(CancellationToken ct)
    {
        if (Current is not { Caller: { } caller } budget) return ValueTask.FromResult(default(CallerGates.Lease));
        if (Interlocked.Increment(ref budget._passwordHashes) > budget.Limits.PasswordHashes)
            throw Refused("password_hashes", new ParseException(ParseError.RequestLimitExceeded, $"The request hashes more than {budget.Limits.PasswordHashes} passwords (Parse:Limits:MaxPasswordHashesPerRequest).", 429));
        return budget.Limits.Gates.EnterAsync(caller, ct);
    }

    /// <summary>
    /// Work whose cost the caller controls and cannot be bounded up front (queries with <c>$regex</c>): at most
    /// <see cref="LimitSettings.MaxExpensivePerCaller"/> of one caller's run at once, so one caller cannot occupy
    /// every core with parallel requests or aliases.
    /// </summary>
    public static ValueTask<CallerGates.Lease> ExpensiveAsync(CancellationToken ct) =>
        Current is { Caller: { } caller } budget ? budget.Limits.Gates.EnterAsync(caller, ct) : ValueTask.FromResult(default(CallerGates.Lease));

    /// <summary>Counts a refusal by its reason (metrics and the request's span), then hands the error back to throw.</summary>
    private static ParseException Refused(string reason, ParseException error)
    {
        Telemetry.CrmTelemetry.RecordBudgetRefusal(reason);
        return error;
    }

    /// <summary>
    /// Leaves the rest of this async flow outside any budget, for work that must finish once its write committed: a
    /// refusal there would answer an error for a change that is stored (and the client would make it again).
    /// </summary>
    public static Scope Suspend()
    {
        var previous = Ambient.Value;
        Ambient.Value = null;
        return new Scope(previous);
    }

    /// <summary>Restores the budget that was current before <see cref="Begin"/> or <see cref="Suspend"/>.</summary>
    public readonly struct Scope(RequestBudget? previous) : IDisposable
    {
        public void Dispose() => Ambient.Value = previous;
    }
}

/// <summary>The limits of one <see cref="RequestBudget"/>, read from <c>Parse:Limits</c>.</summary>
internal sealed record BudgetLimits(TimeSpan WallTime, TimeSpan RegexTime, int Statements, long Objects, int NestedCreates, int PasswordHashes, CallerGates Gates)
{
    // One table of per-caller gates per server (its settings object), however often the limits are built.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<LimitSettings, CallerGates> GatesBySettings = [];

    public static BudgetLimits From(LimitSettings limits) => new(
        TimeSpan.FromMilliseconds(limits.RequestTimeoutMilliseconds),
        TimeSpan.FromMilliseconds(limits.RegexMillisecondsPerRequest),
        limits.MaxStatementsPerRequest,
        limits.MaxObjectsPerRequest,
        limits.MaxNestedCreates,
        limits.MaxPasswordHashesPerRequest,
        GatesBySettings.GetValue(limits, l => new CallerGates(l.MaxExpensivePerCaller, TimeSpan.FromMilliseconds(l.ExpensiveWaitMilliseconds))));
}
