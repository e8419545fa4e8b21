using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Crm.Functions.Tests.Operations;

/// <summary>
/// The app's OpenTelemetry, switched on the way an operator does (<c>OTEL_EXPORTER_OTLP_ENDPOINT</c>), exporting to a
/// real OTLP/HTTP receiver on loopback; an in-memory exporter beside it lets the test read the spans, metrics and log
/// records themselves: names, the span tree, attributes, and that no secret or field value is in any of them.
/// </summary>
public sealed class TelemetryTests : IDisposable
{
    private const string Password = "pw-Secret-7d3f9a1c";
    private const string Marker = "FIELD-VALUE-5be0c4";

    private readonly OtlpReceiver _receiver = new();
    private readonly List<Activity> _spans = [];
    private readonly List<Metric> _metrics = [];
    private readonly List<LogRecord> _logs = [];
    private readonly CrmServer _server;

    private readonly Xunit.Abstractions.ITestOutputHelper _output;

    public TelemetryTests(Xunit.Abstractions.ITestOutputHelper output)
    {
        _output = output;
        _server = new CrmServer(new Dictionary<string, string?>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = _receiver.Url,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "500",
            ["Logging:LogLevel:Crm.Functions.Http.WebEdgeMiddleware"] = "Debug",
        }, services => services.AddOpenTelemetry()
            .WithTracing(t => t.AddInMemoryExporter(_spans))
            .WithMetrics(m => m.AddInMemoryExporter(_metrics))
            .WithLogging(l => l.AddInMemoryExporter(_logs)));
    }

    public void Dispose()
    {
        _server.Dispose();
        _receiver.Dispose();
    }

    private void Flush()
    {
        _server.Services.GetRequiredService<TracerProvider>().ForceFlush();
        _server.Services.GetRequiredService<MeterProvider>().ForceFlush();
        _server.Services.GetRequiredService<LoggerProvider>().ForceFlush();
    }

    [Fact]
    public async Task requests_store_work_and_fanout_are_traced_and_measured_without_secrets()
    {
        using (var admin = _server.Client().AsMaster())
            (await admin.PostAsync("schemas/Deal", new JsonObject
            {
                ["className"] = "Deal",
                ["fields"] = new JsonObject { ["title"] = new JsonObject { ["type"] = "String" }, ["amount"] = new JsonObject { ["type"] = "Number" } },
            })).EnsureStatus(HttpStatusCode.OK);
        using var client = _server.Client();
        var username = Wire.Unique("otel");
        var (userId, token) = await client.SignUpAsync(username, Password);
        // A log-in with the password in the query string (as GET /login allows), and a failed one.
        (await client.GetAsync($"login?username={username}&password={Password}")).EnsureStatus(HttpStatusCode.OK);
        (await client.GetAsync($"login?username={username}&password=wrong-{Password}")).EnsureError(101);
        var created = (await client.PostAsync("classes/Deal", new JsonObject { ["title"] = Marker, ["amount"] = 5 })).EnsureStatus(HttpStatusCode.Created);
        var dealId = created.Json!["objectId"]!.GetValue<string>();
        (await client.GetAsync("classes/Deal?where=" + Uri.EscapeDataString($$"""{"title":"{{Marker}}"}"""))).EnsureStatus(HttpStatusCode.OK);
        using (var master = _server.Client().AsMaster())
            (await master.GetAsync("serverInfo")).EnsureStatus(HttpStatusCode.OK);

        // The fan-out of the create runs on the real-time pump after the answer; its span ends shortly after.
        var deadline = Stopwatch.StartNew();
        Activity? fanout = null;
        while (fanout is null && deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            Flush();
            lock (_spans) fanout = _spans.FirstOrDefault(s => s.DisplayName == "realtime fanout" && (string?)s.GetTagItem("crm.change") == "created" && (string?)s.GetTagItem("crm.class") == "Deal");
            if (fanout is null) await Task.Delay(50);
        }
        Flush();
        List<Activity> spans;
        lock (_spans) spans = [.. _spans];

        // The create: a server span named by its route template, tagged with door and class, with its budget spent,
        // and a store span beneath it; the fan-out continues the same trace.
        var create = Assert.Single(spans, s => s.Kind == ActivityKind.Server && s.DisplayName == "POST /parse/classes/{className}"
                                                 && (string?)s.GetTagItem("crm.class") == "Deal");
        Assert.Equal("rest", create.GetTagItem("crm.door"));
        Assert.Equal("/parse/classes/{className}", create.GetTagItem("http.route"));
        Assert.True(Convert.ToInt32(create.GetTagItem("crm.budget.statements"), System.Globalization.CultureInfo.InvariantCulture) >= 1);
        // The deal's own insert; its history entry (Deal is a recorded class) is written in the same unit, under the same request.
        var insert = Assert.Single(spans, s => s.DisplayName == "store insert" && s.ParentSpanId == create.SpanId && (string?)s.GetTagItem("crm.class") == "Deal");
        Assert.Equal(ActivityKind.Client, insert.Kind);
        Assert.Equal(CrmServer.UsesCosmos ? "azure.cosmosdb" : "sqlite", insert.GetTagItem("db.system.name"));
        if (CrmServer.UsesCosmos) Assert.NotNull(insert.GetTagItem("azure.cosmosdb.operation.request_charge"));
        Assert.NotNull(fanout);
        Assert.Equal(create.TraceId, fanout.TraceId);
        // The trace of the create, as a span tree (printed: what an operator sees in the trace view).
        foreach (var span in spans.Where(s => s.TraceId == create.TraceId).OrderBy(s => s.StartTimeUtc))
            _output.WriteLine($"{(span.ParentSpanId == default ? "" : span.ParentSpanId == create.SpanId ? "  " : "    ")}{span.DisplayName} [{span.Kind}] {span.Duration.TotalMilliseconds:0.0} ms "
                              + string.Join(' ', span.TagObjects.Where(t => t.Key.StartsWith("crm.", StringComparison.Ordinal) || t.Key.StartsWith("db.", StringComparison.Ordinal) || t.Key.StartsWith("azure.", StringComparison.Ordinal)).Select(t => $"{t.Key}={t.Value}")));
        Assert.Contains(spans, s => s.DisplayName == "GET /parse/login" && (string?)s.GetTagItem("crm.door") == "rest");

        // Nothing secret anywhere: no password, session token, master key or field value in names, tags or events.
        string[] secrets = [Password, token, CrmServer.MasterKey, Marker];
        foreach (var span in spans)
        {
            var text = new StringBuilder(span.DisplayName);
            foreach (var (key, value) in span.TagObjects) text.Append(' ').Append(key).Append('=').Append(value);
            foreach (var e in span.Events) text.Append(' ').Append(e.Name);
            foreach (var secret in secrets) Assert.DoesNotContain(secret, text.ToString(), StringComparison.Ordinal);
        }

        // Metrics: request durations by door and route, store time, log-in failures, session cache look-ups.
        List<Metric> metrics;
        lock (_metrics) metrics = [.. _metrics];
        Assert.Contains(Points(metrics, "crm.request.duration"), p => Tag(p, "crm.door") == "rest" && Tag(p, "http.route") == "/parse/classes/{className}");
        Assert.Contains(Points(metrics, "crm.store.duration"), p => Tag(p, "db.operation.name") == "insert" && Tag(p, "crm.class") == "Deal");
        Assert.Contains(Points(metrics, "crm.auth.login_failures"), p => Tag(p, "crm.auth.reason") == "credentials" && p.GetSumLong() >= 1);
        Assert.Contains(Points(metrics, "crm.cache.lookups"), p => Tag(p, "crm.cache") == "sessions");
        Assert.Contains(Points(metrics, "crm.realtime.fanout.duration"), p => Tag(p, "crm.class") == "Deal");
        foreach (var metric in metrics)
            foreach (var point in Points(metrics, metric.Name))
                foreach (var tag in point.Tags)
                    foreach (var secret in secrets) Assert.DoesNotContain(secret, tag.Value?.ToString() ?? "", StringComparison.Ordinal);

        // Logs join their trace and keep the request id.
        List<LogRecord> logs;
        lock (_logs) logs = [.. _logs];
        var answered = Assert.Single(logs, l => l.CategoryName == "Crm.Functions.Http.WebEdgeMiddleware" && l.TraceId == create.TraceId);
        var scopes = new List<KeyValuePair<string, object?>>();
        answered.ForEachScope((scope, list) => { foreach (var item in scope) list.Add(item); }, scopes);
        Assert.Contains(scopes, s => s.Key == "RequestId");

        // The OTLP receiver got both signals, as protobuf, from this service.
        await _receiver.WaitForAsync("/v1/traces", "store insert");
        await _receiver.WaitForAsync("/v1/metrics", "crm.request.duration");
        Assert.All(_receiver.ContentTypes, type => Assert.Equal("application/x-protobuf", type));
        Assert.Contains(_receiver.Bodies("/v1/traces"), body => body.Contains("crm-functions", StringComparison.Ordinal));
        _ = userId;
        _ = dealId;
    }

    private static List<MetricPoint> Points(List<Metric> metrics, string name)
    {
        var points = new List<MetricPoint>();
        foreach (var metric in metrics.Where(m => m.Name == name))
            foreach (ref readonly var point in metric.GetMetricPoints()) points.Add(point);
        return points;
    }

    private static string? Tag(MetricPoint point, string key)
    {
        foreach (var tag in point.Tags)
            if (tag.Key == key) return tag.Value?.ToString();
        return null;
    }

    /// <summary>An OTLP/HTTP receiver: accepts every export, keeps each body (protobuf strings are plain UTF-8 inside).</summary>
    private sealed class OtlpReceiver : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly ConcurrentQueue<(string Path, string ContentType, string Body)> _received = new();

        public OtlpReceiver()
        {
            using var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            var port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            Url = $"http://127.0.0.1:{port}";
            _listener.Prefixes.Add(Url + "/");
            _listener.Start();
            _ = Task.Run(LoopAsync);
        }

        public string Url { get; }

        public IEnumerable<string> ContentTypes => _received.Select(r => r.ContentType);

        public IEnumerable<string> Bodies(string path) => _received.Where(r => r.Path == path).Select(r => r.Body);

        private async Task LoopAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try { context = await _listener.GetContextAsync(); }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException) { return; }
                using var body = new MemoryStream();
                await context.Request.InputStream.CopyToAsync(body);
                _received.Enqueue((context.Request.Url!.AbsolutePath, context.Request.ContentType ?? "", Encoding.UTF8.GetString(body.ToArray())));
                context.Response.StatusCode = 200;
                context.Response.ContentType = "application/x-protobuf";
                context.Response.Close();
            }
        }

        public async Task WaitForAsync(string path, string text)
        {
            // A bound on the exporters' schedule (200 ms spans, 500 ms metrics), not a timing assertion.
            var deadline = Stopwatch.StartNew();
            while (!Bodies(path).Any(b => b.Contains(text, StringComparison.Ordinal)))
            {
                Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(20), $"No OTLP export to {path} mentioned {text}; received: {string.Join(", ", _received.Select(r => r.Path))}");
                await Task.Delay(100);
            }
        }

        public void Dispose() => _listener.Close();
    }
}
