using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Crm.Functions.Core.Telemetry;

/// <summary>
/// The app's own traces and metrics, under one name (<see cref="Name"/>) that the OpenTelemetry set-up listens to.
/// Names are low-cardinality (route templates, class names, operation kinds), and no attribute ever carries a
/// value a caller sent: no session token, password, key, field value, or query text.
/// </summary>
/// <remarks>
/// Static, like the <see cref="ActivitySource"/>s and <see cref="Meter"/>s of the libraries around it: the SDK
/// subscribes by name, and instruments nobody listens to cost one branch.
/// </remarks>
internal static class CrmTelemetry
{
    public const string Name = "Crm.Functions";

    public static readonly ActivitySource Source = new(Name);
    public static readonly Meter Meter = new(Name);

    private static readonly Histogram<double> RequestDuration = Meter.CreateHistogram<double>(
        "crm.request.duration", "s", "Requests by door, route template and status.");
    private static readonly Histogram<double> StoreDuration = Meter.CreateHistogram<double>(
        "crm.store.duration", "s", "Store operations by store, operation and class.");
    private static readonly Counter<double> CosmosCharge = Meter.CreateCounter<double>(
        "crm.cosmos.request_units", "{RU}", "Cosmos DB request units consumed, by class and operation.");
    private static readonly Counter<long> BudgetRefusals = Meter.CreateCounter<long>(
        "crm.budget.refusals", "{request}", "Requests refused by their request budget, by reason.");
    private static readonly Counter<long> LogInFailures = Meter.CreateCounter<long>(
        "crm.auth.login_failures", "{attempt}", "Failed log-ins, by reason (credentials, locked, rate_limited).");
    private static readonly Counter<long> Lockouts = Meter.CreateCounter<long>(
        "crm.auth.lockouts", "{account}", "Accounts locked after repeated failed log-ins.");
    private static readonly Counter<long> CacheLookups = Meter.CreateCounter<long>(
        "crm.cache.lookups", "{lookup}", "Cache look-ups by cache (sessions, roles, schema) and result (hit, miss).");

    private static readonly AsyncLocal<StoreOperation?> CurrentStoreOperation = new();

    /// <summary>One request answered by a door (REST, batch, GraphQL, SignalR, …).</summary>
    public static void RecordRequest(string door, string route, int status, TimeSpan duration) =>
        RequestDuration.Record(duration.TotalSeconds, new TagList { { "crm.door", door }, { "http.route", route }, { "http.response.status_code", status } });

    /// <summary>A request refused by its budget (statements, objects, time, regex time, nested creates, password hashes).</summary>
    public static void RecordBudgetRefusal(string reason)
    {
        BudgetRefusals.Add(1, new KeyValuePair<string, object?>("crm.budget.reason", reason));
        Activity.Current?.SetTag("crm.budget.refused", reason);
    }

    public static void RecordLogInFailure(string reason) => LogInFailures.Add(1, new KeyValuePair<string, object?>("crm.auth.reason", reason));

    public static void RecordLockout() => Lockouts.Add(1);

    public static void RecordCacheLookup(string cache, bool hit) =>
        CacheLookups.Add(1, new KeyValuePair<string, object?>("crm.cache", cache), new KeyValuePair<string, object?>("crm.cache.result", hit ? "hit" : "miss"));

    /// <summary>
    /// Starts one store operation: a client span "store {operation}" (when traced) and, on dispose, its duration.
    /// Cosmos DB charges met inside it (<see cref="RecordCosmosCharge"/>) are added to it.
    /// </summary>
    public static StoreOperation Store(string store, string operation, string? className)
    {
        var activity = Source.StartActivity("store " + operation, ActivityKind.Client);
        if (activity is not null)
        {
            activity.SetTag("db.system.name", store == "cosmos" ? "azure.cosmosdb" : store);
            activity.SetTag("db.operation.name", operation);
            if (className is not null) activity.SetTag("crm.class", className);
        }
        var op = new StoreOperation(store, operation, className, activity, CurrentStoreOperation.Value);
        CurrentStoreOperation.Value = op;
        return op;
    }

    /// <summary>One Cosmos DB response's charge and status, counted against the store operation it belongs to.</summary>
    public static void RecordCosmosCharge(double requestUnits, int status)
    {
        var op = CurrentStoreOperation.Value;
        CosmosCharge.Add(requestUnits, new KeyValuePair<string, object?>("crm.class", op?.ClassName ?? "(store)"),
            new KeyValuePair<string, object?>("db.operation.name", op?.Operation ?? "other"));
        op?.AddCharge(requestUnits, status);
    }

    public sealed class StoreOperation : IDisposable
    {
        private readonly long _started = Stopwatch.GetTimestamp();
        private readonly Activity? _activity;
        private readonly StoreOperation? _outer;
        private double _charge;

        internal StoreOperation(string store, string operation, string? className, Activity? activity, StoreOperation? outer)
        {
            Store = store;
            Operation = operation;
            ClassName = className;
            _activity = activity;
            _outer = outer;
        }

        public string Store { get; }
        public string Operation { get; }
        public string? ClassName { get; }

        internal void AddCharge(double requestUnits, int status)
        {
            _charge += requestUnits;
            _activity?.SetTag("azure.cosmosdb.operation.request_charge", _charge);
            _activity?.SetTag("db.response.status_code", status.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        public void Dispose()
        {
            CurrentStoreOperation.Value = _outer;
            StoreDuration.Record(Stopwatch.GetElapsedTime(_started).TotalSeconds, new TagList
            {
                { "db.system.name", Store }, { "db.operation.name", Operation }, { "crm.class", ClassName ?? "(store)" },
            });
            _activity?.Dispose();
        }
    }
}
