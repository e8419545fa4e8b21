using System.Globalization;
using Azure.Core;
using Azure.Identity;

namespace Crm.Functions.Realtime;

/// <summary>
/// An Azure SignalR Service connection string, in the service's own format (keys case-insensitive):
/// <c>Endpoint=https://x.service.signalr.net;AccessKey=…;Version=1.0;</c> (local auth: the app signs tokens), or
/// <c>Endpoint=…;AuthType=azure.msi;[ClientId=…;]Version=1.0;</c> / <c>AuthType=azure</c> (Microsoft Entra ID:
/// the app presents an Entra token and the service signs client tokens). Optional <c>Port=…</c>.
/// </summary>
internal sealed class SignalRConnectionString(Uri endpoint, string? accessKey, string? authType, string? clientId)
{
    // A class, not a record: a record's ToString would print the access key.
    public Uri Endpoint { get; } = endpoint;
    public string? AccessKey { get; } = accessKey;
    public string? AuthType { get; } = authType;
    public string? ClientId { get; } = clientId;

    public const string Setting = "Azure:SignalR:ConnectionString";

    /// <summary>Null when the setting is empty (the app's own hub serves clients); throws when it is unusable.</summary>
    public static SignalRConnectionString? Parse(string? connectionString)
    {
        if (string.IsNullOrWhiteSpace(connectionString)) return null;
        var parts = connectionString.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(p => p.Split('=', 2, StringSplitOptions.TrimEntries)).Where(p => p.Length == 2)
            .GroupBy(p => p[0], StringComparer.OrdinalIgnoreCase)
            .ToDictionary(g => g.Key, g => g.Last()[1], StringComparer.OrdinalIgnoreCase);
        if (!parts.TryGetValue("Endpoint", out var endpoint) || !Uri.TryCreate(endpoint.TrimEnd('/'), UriKind.Absolute, out var uri)
            || uri.Scheme is not ("http" or "https"))
            throw Invalid("needs Endpoint=https://<name>.service.signalr.net");
        if (parts.TryGetValue("Port", out var port))
        {
            if (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var p) || p is < 1 or > 65535) throw Invalid("has an invalid Port");
            uri = new UriBuilder(uri) { Port = p }.Uri;
        }
        var authType = parts.GetValueOrDefault("AuthType")?.ToLowerInvariant();
        var accessKey = parts.GetValueOrDefault("AccessKey");
        if (authType is null && string.IsNullOrEmpty(accessKey))
            throw Invalid("needs AccessKey=… or AuthType=azure.msi (managed identity) / AuthType=azure (DefaultAzureCredential)");
        if (authType is not (null or "azure" or "azure.msi"))
            throw Invalid($"has AuthType={authType}; supported: azure, azure.msi (or an AccessKey)");
        return new SignalRConnectionString(uri, authType is null ? accessKey : null, authType, parts.GetValueOrDefault("ClientId"));
    }

    public bool UsesEntraId => AuthType is not null;

    /// <summary>The credential the service's own SDK would pick for this string: a managed identity (user-assigned when ClientId is given) or the default chain.</summary>
    public TokenCredential CreateCredential() => AuthType == "azure.msi"
        ? (string.IsNullOrEmpty(ClientId) ? new ManagedIdentityCredential(ManagedIdentityId.SystemAssigned) : new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(ClientId)))
        : new DefaultAzureCredential(new DefaultAzureCredentialOptions { ManagedIdentityClientId = ClientId });

    private static InvalidOperationException Invalid(string problem) => new($"Setting {Setting} {problem}.");
}
