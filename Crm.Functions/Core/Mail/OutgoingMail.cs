namespace Crm.Functions.Core.Mail;

/// <summary>One message to one recipient, in plain text and HTML (clients show whichever they prefer).</summary>
internal sealed record OutgoingMail(string To, string Subject, string Text, string Html);

/// <summary>The mail seam: the server sends through it, never through an SMTP client directly.</summary>
internal interface IMailSender
{
    /// <summary>Whether mail is configured; when not, the mail routes refuse with code 108 before doing anything.</summary>
    bool Enabled { get; }

    Task SendAsync(OutgoingMail mail, CancellationToken ct);
}
