namespace Crm.Functions.Core.Security;

/// <summary>The caller of one request, resolved once by the HTTP layer and passed to every core call.</summary>
internal sealed class Auth
{
    public static readonly Auth Master = new() { IsMaster = true };
    public static readonly Auth Anonymous = new();

    public bool IsMaster { get; init; }
    public string? UserId { get; init; }
    public string? Username { get; init; }
    public string? SessionToken { get; init; }
    public string? InstallationId { get; init; }
    /// <summary>Role names held, including inherited ones (without the "role:" prefix).</summary>
    public IReadOnlySet<string> Roles { get; init; } = new HashSet<string>();
    /// <summary>
    /// The network address the request came from, when a door knows it. The core limits some work per address
    /// (sign-ups), whichever door the request used; null for work that starts inside the server (start-up, the CLI).
    /// </summary>
    public string? RemoteIp { get; init; }

    public bool IsAuthenticated => UserId is not null;

    /// <summary>The same caller, seen at <paramref name="remoteIp"/>.</summary>
    public Auth At(string? remoteIp) => new()
    {
        IsMaster = IsMaster, UserId = UserId, Username = Username, SessionToken = SessionToken, InstallationId = InstallationId,
        Roles = Roles, RemoteIp = remoteIp,
    };

    /// <summary>The ACL keys that apply to this caller: "*", the user id, and "role:Name" for each role held.</summary>
    public IReadOnlyList<string> AclGroups => _groups ??= BuildGroups();
    private IReadOnlyList<string>? _groups;

    private List<string> BuildGroups()
    {
        var groups = new List<string> { "*" };
        if (UserId is not null) groups.Add(UserId);
        groups.AddRange(Roles.Select(r => "role:" + r));
        return groups;
    }
}
