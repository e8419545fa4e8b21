using System.Net;
using System.Security.Cryptography;
using System.Text;
using Crm.Functions.Core;
using Crm.Functions.Core.Security;
using Crm.Functions.Core.Users;
using Microsoft.Extensions.Options;

namespace Crm.Functions.Http;

/// <summary>
/// The pages the account mails link to, at Parse's paths under the mount path: ask for a reset link, choose a new
/// password, confirm an address. Server-rendered HTML with no script at all; a strict CSP (only the page's own style
/// block, forms only to this server, no framing), no caching, and no Referer to other sites (the token is in the URL).
/// CSRF: the pages set no cookie and trust none. The one form that changes an account (choose_password) must carry
/// the reset token, a secret a forging site does not have; and every form post coming from another site (by Origin
/// or Sec-Fetch-Site) is refused before it is read.
/// </summary>
internal static class AccountPages
{
    private const string Style = """
        body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;background:#f4f5f7;font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;color:#1f2933}
        main{background:#fff;border-radius:8px;padding:32px;width:100%;max-width:380px;box-shadow:0 1px 3px rgba(0,0,0,.12)}
        h1{font-size:20px;margin:0 0 16px}p{line-height:1.5}label{display:block;margin:12px 0 4px;font-size:14px}
        input{box-sizing:border-box;width:100%;padding:10px;border:1px solid #cbd2d9;border-radius:6px;font-size:15px}
        button{margin-top:20px;width:100%;padding:11px;border:0;border-radius:6px;background:#2563eb;color:#fff;font-size:15px;cursor:pointer}
        .error{color:#b91c1c;background:#fef2f2;border-radius:6px;padding:10px}.app{color:#52606d;font-size:13px;margin-bottom:4px}
        """;

    private static readonly string StyleHash = Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(Style)));

    public static void MapAccountPages(this WebApplication app, ParseSettings settings)
    {
        var pages = app.MapGroup(settings.MountPath + "/apps/{appId}").WithTags("Account pages");
        pages.MapGet("/request_password_reset", RequestResetPage).WithSummary("Ask for a password reset link (or follow one)")
            .WithDescription("Without a token: a form asking for the account's email. With ?token= (the mailed link): on to choose_password.");
        pages.MapPost("/request_password_reset", RequestResetSubmit).WithSummary("Send a password reset link")
            .WithDescription("Form post (email); the same answer whether or not an account has the address.");
        pages.MapGet("/choose_password", ChoosePasswordPage).WithSummary("Choose a new password (the mailed link)");
        pages.MapPost("/choose_password", ChoosePasswordSubmit).WithSummary("Set the new password")
            .WithDescription("Form post (token, new_password, confirm_password); spends the token, revokes every session.");
        pages.MapGet("/verify_email", VerifyEmail).WithSummary("Confirm an email address (the mailed link)");
    }

    private static async Task<IResult> RequestResetPage(HttpContext context, string appId, string? token, AccountEmails accounts, IOptions<ParseSettings> options)
    {
        if (UnknownApp(context, appId, options, out var notFound)) return notFound;
        if (token is null) return RequestForm(context, options, null, 200);
        // Parse's link shape: the mailed link lands here and goes on to the page that asks for the password.
        if (await accounts.PasswordResetUserAsync(token, context.RequestAborted) is null) return InvalidLink(context, options);
        context.Response.Headers.CacheControl = "no-store";
        context.Response.Headers["Referrer-Policy"] = "same-origin";
        return Results.Redirect($"choose_password?token={Uri.EscapeDataString(token)}");
    }

    private static async Task<IResult> RequestResetSubmit(HttpContext context, string appId, AccountEmails accounts, ParseDoor door, IOptions<ParseSettings> options)
    {
        if (UnknownApp(context, appId, options, out var notFound)) return notFound;
        if (await ReadFormAsync(context, options) is not { } form) return Page(context, options, "Not allowed", "<p class=\"error\">This form can only be sent from this server's own page.</p>", 403);
        var email = form["email"].ToString();
        var caller = Auth.Anonymous.At(context.Connection.RemoteIpAddress?.ToString());
        using var budget = door.OpenBudget(caller, context.Connection.RemoteIpAddress);
        try
        {
            await accounts.RequestPasswordResetAsync(caller, email.Length == 0 ? null : email, context.RequestAborted);
        }
        catch (ParseException e)
        {
            return RequestForm(context, options, e.Message, e.HttpStatus ?? 400);
        }
        return Page(context, options, "Check your inbox",
            $"<p>If an account uses <strong>{Encode(email)}</strong>, a link to choose a new password is on its way.</p>", 200);
    }

    private static async Task<IResult> ChoosePasswordPage(HttpContext context, string appId, string? token, AccountEmails accounts, IOptions<ParseSettings> options)
    {
        if (UnknownApp(context, appId, options, out var notFound)) return notFound;
        if (await accounts.PasswordResetUserAsync(token, context.RequestAborted) is not { } user) return InvalidLink(context, options);
        return PasswordForm(context, options, token!, user.Data["username"]?.ToString(), null, 200);
    }

    private static async Task<IResult> ChoosePasswordSubmit(HttpContext context, string appId, AccountEmails accounts, ParseDoor door, IOptions<ParseSettings> options)
    {
        if (UnknownApp(context, appId, options, out var notFound)) return notFound;
        if (await ReadFormAsync(context, options) is not { } form) return Page(context, options, "Not allowed", "<p class=\"error\">This form can only be sent from this server's own page.</p>", 403);
        var token = form["token"].ToString();
        var password = form["new_password"].ToString();
        var caller = Auth.Anonymous.At(context.Connection.RemoteIpAddress?.ToString());
        using var budget = door.OpenBudget(caller, context.Connection.RemoteIpAddress);
        if (await accounts.PasswordResetUserAsync(token, context.RequestAborted) is not { } user) return InvalidLink(context, options);
        var username = user.Data["username"]?.ToString();
        if (password != form["confirm_password"].ToString())
            return PasswordForm(context, options, token, username, "The two passwords differ.", 400);
        try
        {
            await accounts.ResetPasswordAsync(token, password, context.RequestAborted);
        }
        catch (ParseException e) when (e.Code == ParseError.OtherCause)
        {
            return InvalidLink(context, options);
        }
        catch (ParseException e)
        {
            return PasswordForm(context, options, token, username, e.Message, 400);
        }
        return Page(context, options, "Password changed",
            "<p>Your password has been changed, and every device signed in to your account has been signed out. Sign in with your new password.</p>", 200);
    }

    private static async Task<IResult> VerifyEmail(HttpContext context, string appId, string? token, AccountEmails accounts, IOptions<ParseSettings> options)
    {
        if (UnknownApp(context, appId, options, out var notFound)) return notFound;
        if (!await accounts.VerifyEmailAsync(token, context.RequestAborted)) return InvalidLink(context, options);
        return Page(context, options, "Email confirmed", "<p>Thank you: your email address is confirmed.</p>", 200);
    }

    private static IResult RequestForm(HttpContext context, IOptions<ParseSettings> options, string? error, int status) => Page(context, options, "Reset your password",
        $"""
        {Error(error)}<p>Enter the email address of your account; we will send you a link to choose a new password.</p>
        <form method="post" action="request_password_reset">
        <label for="email">Email</label><input id="email" name="email" type="email" autocomplete="email" required maxlength="256">
        <button type="submit">Send the link</button></form>
        """, status);

    private static IResult PasswordForm(HttpContext context, IOptions<ParseSettings> options, string token, string? username, string? error, int status) =>
        Page(context, options, "Choose a new password",
            $"""
            {Error(error)}<p>For the account <strong>{Encode(username ?? "")}</strong>. At least {options.Value.Accounts.MinPasswordLength} characters.</p>
            <form method="post" action="choose_password">
            <input type="hidden" name="token" value="{Encode(token)}">
            <label for="new_password">New password</label><input id="new_password" name="new_password" type="password" autocomplete="new-password" required minlength="{options.Value.Accounts.MinPasswordLength}" maxlength="256">
            <label for="confirm_password">Repeat it</label><input id="confirm_password" name="confirm_password" type="password" autocomplete="new-password" required maxlength="256">
            <button type="submit">Change my password</button></form>
            """, status);

    private static IResult InvalidLink(HttpContext context, IOptions<ParseSettings> options) => Page(context, options, "This link does not work",
        "<p class=\"error\">This link is invalid, has expired, or has been used already.</p><p><a href=\"request_password_reset\">Ask for a new password reset link</a></p>", 400);

    private static bool UnknownApp(HttpContext context, string appId, IOptions<ParseSettings> options, out IResult result)
    {
        var unknown = !string.Equals(appId, options.Value.AppId, StringComparison.Ordinal);
        result = unknown ? Page(context, options, "Not found", "<p>This page does not exist.</p>", 404) : Results.Empty;
        return unknown;
    }

    /// <summary>The posted form; null when the post comes from another site (a forged cross-site form).</summary>
    private static async Task<IFormCollection?> ReadFormAsync(HttpContext context, IOptions<ParseSettings> options)
    {
        var headers = context.Request.Headers;
        var site = headers["Sec-Fetch-Site"].ToString();
        if (site.Length > 0 && site is not ("same-origin" or "none")) return null;
        var origin = headers.Origin.ToString();
        if (origin.Length > 0 && !SameOrigin(origin, context, options.Value.PublicServerUrl)) return null;
        if (!context.Request.HasFormContentType) return new FormCollection([]);
        try
        {
            return await context.Request.ReadFormAsync(context.RequestAborted);
        }
        // A malformed body (a broken multipart, fields over the form limits) is a form with nothing usable in it.
        catch (Exception e) when (e is InvalidDataException or BadHttpRequestException or IOException)
        {
            return new FormCollection([]);
        }
    }

    private static bool SameOrigin(string origin, HttpContext context, string? publicServerUrl)
    {
        if (!Uri.TryCreate(origin, UriKind.Absolute, out var from)) return false;
        if (string.Equals(from.Authority, context.Request.Host.Value, StringComparison.OrdinalIgnoreCase)) return true;
        return Uri.TryCreate(publicServerUrl, UriKind.Absolute, out var own)
               && string.Equals(from.Scheme, own.Scheme, StringComparison.OrdinalIgnoreCase)
               && string.Equals(from.Authority, own.Authority, StringComparison.OrdinalIgnoreCase);
    }

    private static IResult Page(HttpContext context, IOptions<ParseSettings> options, string title, string body, int status)
    {
        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = $"default-src 'none'; style-src 'sha256-{StyleHash}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
        headers.XFrameOptions = "DENY";
        headers.XContentTypeOptions = "nosniff";
        headers.CacheControl = "no-store";
        // Not no-referrer: under it browsers send "Origin: null" with the page's own form posts, which the CSRF check
        // refuses. same-origin still keeps the token in the URL from ever reaching another site.
        headers["Referrer-Policy"] = "same-origin";
        var app = Encode(options.Value.Email.AppName);
        var html = $"""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>{Encode(title)} · {app}</title><style>{Style}</style></head>
            <body><main><div class="app">{app}</div><h1>{Encode(title)}</h1>
            {body}
            </main></body></html>
            """;
        return Results.Content(html, "text/html; charset=utf-8", Encoding.UTF8, status);
    }

    private static string Error(string? message) => message is null ? "" : $"<p class=\"error\" role=\"alert\">{Encode(message)}</p>";

    private static string Encode(string value) => WebUtility.HtmlEncode(value);
}
