using Crm.Functions.Core;
using Crm.Functions.Core.Security;
using Crm.Functions.Core.Users;
using GraphQL;

namespace Crm.Functions.GraphQL;

/// <summary>What every resolver of one request needs: the caller (resolved once, like a REST request), the core and the pointer loader.</summary>
internal sealed class GraphQLRequestContext : Dictionary<string, object?>
{
    public required Auth Auth { get; init; }
    public required DataService Data { get; init; }
    public required UserService Users { get; init; }
    public required SessionService Sessions { get; init; }
    public required AuthRateLimiter RateLimiter { get; init; }
    public required PointerLoader Loader { get; init; }
    public required Core.Config.GlobalConfig Config { get; init; }
    public required Core.History.HistoryService History { get; init; }

    public static GraphQLRequestContext Of(IResolveFieldContext context) => (GraphQLRequestContext)context.UserContext;

    /// <summary>Log-in shares the REST rate limit, so GraphQL is no way around it (sign-ups are charged by the core).</summary>
    public void CheckRateLimit() => RateLimiter.Check(Auth);
}
