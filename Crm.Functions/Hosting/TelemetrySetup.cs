using Azure.Monitor.OpenTelemetry.AspNetCore;
using Crm.Functions.Core.Telemetry;
using Crm.Functions.Http;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Crm.Functions.Hosting;

/// <summary>
/// OpenTelemetry: the app's own spans and metrics (<see cref="CrmTelemetry"/>) plus ASP.NET Core, HttpClient and
/// runtime instrumentation, exported to Azure Monitor when <c>APPLICATIONINSIGHTS_CONNECTION_STRING</c> is set
/// (the Bicep sets it) and over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (with the usual <c>OTEL_*</c>
/// variables). With neither, nothing is collected: no exporter, no sampling cost on the request path.
/// </summary>
internal static class TelemetrySetup
{
    public static void AddCrmTelemetry(this WebApplicationBuilder builder)
    {
        var azureMonitor = !string.IsNullOrWhiteSpace(builder.Configuration["APPLICATIONINSIGHTS_CONNECTION_STRING"]);
        var otlp = !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        if (!azureMonitor && !otlp) return;

        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("crm-functions", serviceVersion: ServerApi.Version))
            .WithTracing(tracing => tracing
                .AddSource(CrmTelemetry.Name)
                // Query strings stay redacted (the instrumentation's default): GET /login carries a password there.
                .AddAspNetCoreInstrumentation(options => options.RecordException = false)
                .AddHttpClientInstrumentation(options => options.RecordException = false))
            .WithMetrics(metrics => metrics
                .AddMeter(CrmTelemetry.Name)
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation())
            // Log records join their trace (trace and span ids) and keep their scopes (the request id).
            .WithLogging(_ => { }, options => options.IncludeScopes = true);
        if (azureMonitor)
        {
            // "ClientId=…;Authorization=AAD" (the Bicep sets it, as the Functions host reads it): publish with the
            // app's managed identity; the Application Insights resource refuses key-only ingestion.
            var authentication = builder.Configuration["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"];
            var clientId = authentication?.Split(';').Select(p => p.Split('=', 2)).FirstOrDefault(p => p.Length == 2 && p[0].Trim() == "ClientId")?[1].Trim();
            telemetry.UseAzureMonitor(options =>
            {
                if (authentication?.Contains("Authorization=AAD", StringComparison.OrdinalIgnoreCase) == true)
                    options.Credential = string.IsNullOrEmpty(clientId)
                        ? new Azure.Identity.ManagedIdentityCredential(Azure.Identity.ManagedIdentityId.SystemAssigned)
                        : new Azure.Identity.ManagedIdentityCredential(Azure.Identity.ManagedIdentityId.FromUserAssignedClientId(clientId));
            });
        }
        if (otlp) telemetry.UseOtlpExporter();
    }
}
