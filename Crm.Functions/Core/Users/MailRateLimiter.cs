using System.Threading.RateLimiting;
using Crm.Functions.Core.Security;
using Microsoft.Extensions.Options;

namespace Crm.Functions.Core.Users;

/// <summary>
/// Limits the routes that send mail: per client address (the log-in and sign-up limit, <see cref="AuthRateLimiter"/>)
/// and per recipient address per hour, so nobody can flood one mailbox or use the server as a mail cannon. The
/// per-recipient limit counts every requested address, whether an account has it or not: being refused says nothing
/// about who has an account.
/// </summary>
internal sealed class MailRateLimiter : IDisposable
{
    private readonly AuthRateLimiter _callers;
    private readonly PartitionedRateLimiter<string>? _recipients;

    public MailRateLimiter(AuthRateLimiter callers, IOptions<ParseSettings> options)
    {
        _callers = callers;
        var perHour = options.Value.Email.MailsPerAddressPerHour;
        if (perHour <= 0) return;
        _recipients = PartitionedRateLimiter.Create<string, string>(address => RateLimitPartition.GetFixedWindowLimiter(address,
            _ => new FixedWindowRateLimiterOptions { PermitLimit = perHour, Window = TimeSpan.FromHours(1), QueueLimit = 0 }));
    }

    public void Check(Auth caller, string recipient)
    {
        if (caller.IsMaster) return;
        _callers.Check(caller);
        if (_recipients is null) return;
        using var lease = _recipients.AttemptAcquire(recipient.Trim().ToLowerInvariant());
        if (!lease.IsAcquired)
            throw new ParseException(ParseError.ConnectionFailed, "Too many mails requested for this address. Please try again later.", 429);
    }

    public void Dispose() => _recipients?.Dispose();
}
