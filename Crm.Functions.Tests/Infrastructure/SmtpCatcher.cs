using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.CrmTemplate;

namespace Crm.Functions.Tests.Infrastructure;

/// <summary>
/// A real SMTP server on loopback (npm smtp-server, Crm.Functions.Tests/node/smtp) that keeps every message the app
/// sends, parsed (subject, text, HTML, envelope, who authenticated). Messages also appear at <see cref="MessagesUrl"/>
/// for scripts (the browser run). One process per instance; disposing stops it.
/// </summary>
public sealed class SmtpCatcher : IDisposable
{
    /// <summary>The public URL servers under test put in mailed links: a host nobody resolves, so links are read, never followed as is.</summary>
    public const string PublicServerUrl = "http://crm.mail.test/parse";

    private readonly Process _process;
    private readonly List<JsonObject> _mails = [];
    private readonly StringBuilder _errors = new();
    private TaskCompletionSource _arrived = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int SmtpPort { get; }
    public string MessagesUrl { get; }

    public SmtpCatcher(string? username = null, string? password = null)
    {
        var start = new ProcessStartInfo("node", ["server.mjs"])
        {
            WorkingDirectory = Tools.NodeProject("smtp"),
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (username is not null) start.Environment["SMTP_USER"] = username;
        if (password is not null) start.Environment["SMTP_PASSWORD"] = password;
        _process = Process.Start(start) ?? throw new InvalidOperationException("node did not start");
        var ready = new TaskCompletionSource<JsonNode>(TaskCreationOptions.RunContinuationsAsynchronously);
        _process.ErrorDataReceived += (_, e) => { lock (_errors) _errors.AppendLine(e.Data); };
        _process.OutputDataReceived += (_, e) =>
        {
            if (string.IsNullOrEmpty(e.Data)) return;
            var line = JsonNode.Parse(e.Data)!;
            if (line["mail"] is JsonObject mail)
            {
                lock (_mails)
                {
                    _mails.Add(mail);
                    _arrived.TrySetResult();
                    _arrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
                }
            }
            else ready.TrySetResult(line);
        };
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
        if (!ready.Task.Wait(TimeSpan.FromSeconds(30)))
        {
            Dispose();
            throw new InvalidOperationException($"The SMTP server did not start: {_errors}");
        }
        SmtpPort = ready.Task.Result["smtpPort"]!.GetValue<int>();
        MessagesUrl = $"http://127.0.0.1:{ready.Task.Result["httpPort"]!.GetValue<int>()}/messages";
    }

    /// <summary>Settings that make a server send through this SMTP server (no TLS: loopback), on top of the fast test settings.</summary>
    public Dictionary<string, string?> Settings(params (string Key, string? Value)[] extra)
    {
        var settings = TestSettings.Fast(
            ("Parse:Email:SmtpHost", "127.0.0.1"),
            ("Parse:Email:SmtpPort", SmtpPort.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("Parse:Email:UseTls", "None"),
            ("Parse:Email:From", "CRM Test <no-reply@crm.mail.test>"),
            ("Parse:Email:AppName", "Acme CRM"),
            ("Parse:PublicServerUrl", PublicServerUrl));
        foreach (var (key, value) in extra) settings[key] = value;
        return settings;
    }

    public IReadOnlyList<JsonObject> MailsTo(string address)
    {
        lock (_mails) return _mails.Where(m => m["envelopeTo"]!.AsArray().Any(t => t!.GetValue<string>() == address)).ToList();
    }

    /// <summary>
    /// Waits for the <paramref name="index"/>-th mail (from 0) to an address. The wait is for delivery, which happens
    /// after the request is answered; 30 s only bounds a broken run.
    /// </summary>
    public async Task<JsonObject> MailToAsync(string address, int index = 0)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            Task arrived;
            lock (_mails)
            {
                var found = MailsTo(address);
                if (found.Count > index) return found[index];
                arrived = _arrived.Task;
            }
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || await Task.WhenAny(arrived, Task.Delay(left)) != arrived)
                throw new Xunit.Sdk.XunitException($"No mail #{index} to {address} arrived. Received: {Received()} {_errors}");
        }
    }

    private string Received()
    {
        lock (_mails) return string.Join("; ", _mails.Select(m => $"{m["envelopeTo"]?.ToJsonString()}: {m["subject"]}"));
    }

    /// <summary>The link of a mail (from its text part) that starts with the public URL, made to point at the server under test.</summary>
    public static string LinkIn(JsonObject mail, CrmServer server)
    {
        var text = mail["text"]!.GetValue<string>();
        var start = text.IndexOf(PublicServerUrl, StringComparison.Ordinal);
        Assert.True(start >= 0, $"No link to {PublicServerUrl} in: {text}");
        var end = text.IndexOfAny([' ', '\n', '\r'], start);
        var link = end < 0 ? text[start..] : text[start..end];
        // The HTML part carries the same link.
        Assert.Contains(System.Net.WebUtility.HtmlEncode(link), mail["html"]!.GetValue<string>(), StringComparison.Ordinal);
        return server.ParseUrl + link[PublicServerUrl.Length..];
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
    }
}
