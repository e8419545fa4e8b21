using System.Threading.RateLimiting;
using Crm.Functions.Core.Security;
using Microsoft.Extensions.Options;

namespace Crm.Functions.Core.Users;

/// <summary>
/// Limits log-in and sign-up attempts per client address (a fixed window per minute), so password guessing
/// and mass account creation are slowed before bcrypt even runs. Account lockout covers a single account;
/// this covers many accounts from one place. The answer is Parse's 429 with code 100.
/// </summary>
/// <remarks>
/// It lives in the core because sign-ups are charged by <see cref="UserRules"/> on every non-master create of
/// _User: a door-side check missed the creates hidden inside other writes (GraphQL nested creates). Log-ins
/// are charged by the doors that offer them. The address comes with the caller (<see cref="Auth.RemoteIp"/>).
/// </remarks>
internal sealed class AuthRateLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<string>? _limiter;

    public AuthRateLimiter(IOptions<ParseSettings> options)
    {
        var perMinute = options.Value.Accounts.AuthRequestsPerMinute;
        if (perMinute <= 0) return;
        _limiter = PartitionedRateLimiter.Create<string, string>(address => RateLimitPartition.GetFixedWindowLimiter(address,
            _ => new FixedWindowRateLimiterOptions { PermitLimit = perMinute, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 }));
    }

    /// <summary>Charges one attempt to the caller's address; the master key is not limited.</summary>
    public void Check(Auth caller)
    {
        if (_limiter is null || caller.IsMaster) return;
        using var lease = _limiter.AttemptAcquire(caller.RemoteIp ?? "unknown");
        if (!lease.IsAcquired)
        {
            Telemetry.CrmTelemetry.RecordLogInFailure("rate_limited");
            throw new ParseException(ParseError.ConnectionFailed, "Too many log-in or sign-up attempts. Please try again in a minute.", 429);
        }
    }

    public void Dispose() => _limiter?.Dispose();
}
