using System.Net;
using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Crm.Functions.Core.Mail;

/// <summary>
/// The account mails' templates: <c>{name}.txt</c> (a first line "Subject: …", a blank line, the text) and
/// <c>{name}.html</c>. The built-in ones are embedded; a file of the same name in Parse:Email:TemplatesFolder
/// replaces one. Placeholders are <c>{{name}}</c>; values are HTML-encoded in the HTML part, so a username such as
/// <c>&lt;img src=x&gt;</c> shows as text and never becomes markup in somebody's mail client.
/// </summary>
internal sealed partial class MailTemplates(IOptions<ParseSettings> options)
{
    public const string PasswordReset = "password_reset";
    public const string VerifyEmail = "verify_email";

    [GeneratedRegex(@"\{\{(\w+)\}\}")]
    private static partial Regex Placeholder();

    public OutgoingMail Render(string name, string to, IReadOnlyDictionary<string, string> values)
    {
        var text = Load(name + ".txt").ReplaceLineEndings("\n");
        var html = Load(name + ".html");
        if (!text.StartsWith("Subject:", StringComparison.Ordinal))
            throw new InvalidOperationException($"Mail template {name}.txt must start with a 'Subject:' line.");
        var split = text.IndexOf('\n', StringComparison.Ordinal);
        var subject = (split < 0 ? text : text[..split])["Subject:".Length..].Trim();
        var body = split < 0 ? "" : text[(split + 1)..].TrimStart('\n');
        // A subject is one header line: no line breaks from values can reach it.
        return new OutgoingMail(to, Fill(subject, values, v => v.ReplaceLineEndings(" ")), Fill(body, values, v => v), Fill(html, values, WebUtility.HtmlEncode));
    }

    private static string Fill(string template, IReadOnlyDictionary<string, string> values, Func<string, string> encode) =>
        Placeholder().Replace(template, m => values.TryGetValue(m.Groups[1].Value, out var value) ? encode(value) : m.Value);

    private string Load(string file)
    {
        if (options.Value.Email.TemplatesFolder is { Length: > 0 } folder && File.Exists(Path.Combine(folder, file)))
            return File.ReadAllText(Path.Combine(folder, file));
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("mail/" + file)
            ?? throw new InvalidOperationException($"No built-in mail template {file}.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
