using Crm.Functions.Core.Users;

namespace Crm.Functions.Http;

/// <summary>The mail-sending account routes of Parse REST: password reset and email verification requests.</summary>
internal static class AccountsApi
{
    public static void Map(ParseRouter router, AccountEmails accounts)
    {
        // Always {} (whether or not an account has the address): Parse's advice against user enumeration.
        router.Add("requestPasswordReset", "POST", "/requestPasswordReset", async (call, ct) =>
        {
            await accounts.RequestPasswordResetAsync(call.Auth, call.Body["email"], ct);
            return ApiResult.Empty();
        });
        router.Add("verificationEmailRequest", "POST", "/verificationEmailRequest", async (call, ct) =>
        {
            await accounts.RequestVerificationEmailAsync(call.Auth, call.Body["email"], ct);
            return ApiResult.Empty();
        });
    }
}
