using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Options;
using MimeKit;

namespace Crm.Functions.Core.Mail;

/// <summary>Sends over SMTP with MailKit, one connection per message (account mails are rare and small).</summary>
internal sealed class SmtpMailSender(IOptions<ParseSettings> options) : IMailSender
{
    private EmailSettings Settings => options.Value.Email;

    public bool Enabled => Settings.Enabled;

    public async Task SendAsync(OutgoingMail mail, CancellationToken ct)
    {
        var settings = Settings;
        if (!settings.Enabled) throw NotConfigured();
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse(settings.From ?? $"no-reply@{settings.SmtpHost}"));
        message.To.Add(MailboxAddress.Parse(mail.To));
        message.Subject = mail.Subject;
        message.Body = new BodyBuilder { TextBody = mail.Text, HtmlBody = mail.Html }.ToMessageBody();

        using var client = new SmtpClient();
        await client.ConnectAsync(settings.SmtpHost!, settings.SmtpPort, Security(settings.UseTls), ct);
        if (!string.IsNullOrEmpty(settings.Username))
            await client.AuthenticateAsync(settings.Username, settings.Password ?? "", ct);
        await client.SendAsync(message, ct);
        await client.DisconnectAsync(true, ct);
    }

    /// <summary>
    /// "StartTls" insists on the upgrade (a relay that does not offer it is refused rather than spoken to in clear
    /// text, which would expose the password and the reset links); certificates are always validated.
    /// </summary>
    public static SecureSocketOptions Security(string useTls) => useTls.ToLowerInvariant() switch
    {
        "starttls" => SecureSocketOptions.StartTls,
        "implicit" => SecureSocketOptions.SslOnConnect,
        "none" => SecureSocketOptions.None,
        _ => throw new InvalidOperationException($"Setting Parse:Email:UseTls has an unknown value '{useTls}'."),
    };

    public static ParseException NotConfigured() => new(ParseError.CommandUnavailable,
        "Email is not configured on this server: password reset and email verification need Parse:Email:SmtpHost (env Parse__Email__SmtpHost).");
}
