namespace Crm.Functions.Core.Requests;

/// <summary>
/// At most <c>perCaller</c> expensive operations of one caller at a time; the others wait up to <c>wait</c>, then
/// get 155 (Parse's REQUEST_LIMIT_EXCEEDED) with HTTP 429. Entries exist only while someone holds or awaits
/// them, so the table stays as small as the number of callers doing expensive work right now.
/// </summary>
internal sealed class CallerGates(int perCaller, TimeSpan wait)
{
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    internal sealed class Entry(int slots) : IDisposable
    {
        public readonly SemaphoreSlim Slots = new(slots, slots);
        public int Users; // holders and waiters, under the table's lock

        public void Dispose() => Slots.Dispose();
    }

    public async ValueTask<Lease> EnterAsync(string caller, CancellationToken ct)
    {
        Entry entry;
        lock (_entries)
        {
            if (!_entries.TryGetValue(caller, out entry!)) _entries[caller] = entry = new Entry(perCaller);
            entry.Users++;
        }
        var acquired = false;
        try
        {
            acquired = await entry.Slots.WaitAsync(wait, ct);
        }
        finally
        {
            if (!acquired) Leave(caller, entry);
        }
        if (!acquired)
        {
            Telemetry.CrmTelemetry.RecordBudgetRefusal("concurrent_expensive");
            throw new ParseException(ParseError.RequestLimitExceeded,
                $"Too many expensive requests (password hashing, $regex) at once; at most {perCaller} run together (Parse:Limits:MaxExpensivePerCaller). Try again.", 429);
        }
        return new Lease(this, caller, entry);
    }

    private void Leave(string caller, Entry entry)
    {
        lock (_entries)
        {
            if (--entry.Users > 0) return;
            _entries.Remove(caller); // nobody holds or awaits it any more
            entry.Dispose();
        }
    }

    /// <summary>A held slot; the default lease (no caller to limit) holds nothing.</summary>
    public readonly struct Lease : IDisposable
    {
        private readonly CallerGates? _gates;
        private readonly string? _caller;
        private readonly Entry? _entry;

        internal Lease(CallerGates gates, string caller, Entry entry) => (_gates, _caller, _entry) = (gates, caller, entry);

        public void Dispose()
        {
            if (_gates is null) return;
            _entry!.Slots.Release();
            _gates.Leave(_caller!, _entry);
        }
    }
}
