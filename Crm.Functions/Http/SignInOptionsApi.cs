using System.Text.Json.Nodes;
using Crm.Functions.Core;
using Crm.Functions.Core.Users;

namespace Crm.Functions.Http;

/// <summary>
/// <c>GET /signInOptions</c>: what a sign-in screen may offer, for clients that have only the application id — whether
/// mail goes out (password reset, verification), whether new addresses must be verified, and, when the server accepts
/// Microsoft Entra ID tokens, what MSAL in a browser needs to get one (client id, authority, scopes). All of it is
/// public by nature: a single-page app ships the same values in its code. No secrets, no tenant list.
/// </summary>
internal static class SignInOptionsApi
{
    public static void Map(ParseRouter router, AccountEmails accounts, ParseSettings settings, IConfiguration configuration)
    {
        var answer = Options(accounts.Enabled, settings, configuration);
        router.Add("signInOptions", "GET", "/signInOptions", (_, _) => Task.FromResult(ApiResult.Ok((JsonObject)answer.DeepClone())));
    }

    public static JsonObject Options(bool mail, ParseSettings settings, IConfiguration configuration)
    {
        var options = new JsonObject { ["mail"] = mail, ["verifyUserEmails"] = settings.Accounts.VerifyUserEmails };
        // The same section that turns bearer-token validation on (ServerSetup): no client id, no Entra sign-in.
        var entra = configuration.GetSection("AzureAd");
        if (string.IsNullOrEmpty(entra["ClientId"])) return options;
        var instance = (entra["Instance"] is { Length: > 0 } i ? i : "https://login.microsoftonline.com/").TrimEnd('/');
        var tenant = entra["TenantId"] is { Length: > 0 } t ? t : "organizations";
        var audience = entra["Audience"] is { Length: > 0 } a ? a : $"api://{entra["ClientId"]}";
        var scope = settings.Entra.RequiredScope is { Length: > 0 } required ? $"{audience}/{required.Trim()}" : $"{audience}/.default";
        options["entra"] = new JsonObject
        {
            // The browser app's own registration when it has one (Parse:Entra:WebClientId), else the API's.
            ["clientId"] = settings.Entra.WebClientId is { Length: > 0 } web ? web : entra["ClientId"],
            ["authority"] = $"{instance}/{tenant}",
            ["scopes"] = new JsonArray(scope),
        };
        return options;
    }
}
