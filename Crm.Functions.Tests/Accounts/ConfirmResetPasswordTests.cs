using System.Net;
using System.Text.Json.Nodes;
using System.Web;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.Accounts;

/// <summary>
/// GraphQL <c>confirmResetPassword</c> (parse-server's name and shape: {username, password, token} → {ok}) with the
/// token of a real reset mail: it sets the password once, revokes the sessions, and refuses a wrong username or token.
/// </summary>
public sealed class ConfirmResetPasswordTests : IDisposable
{
    private const string Mutation = "mutation($input: ConfirmResetPasswordInput!) { confirmResetPassword(input: $input) { ok clientMutationId } }";
    private readonly SmtpCatcher _smtp = new();
    private readonly CrmServer _server;

    public ConfirmResetPasswordTests() => _server = new CrmServer(_smtp.Settings());

    public void Dispose()
    {
        _server.Dispose();
        _smtp.Dispose();
    }

    [Fact]
    public async Task the_mailed_token_sets_a_new_password_once()
    {
        using var client = _server.Client();
        var username = Wire.Unique("confirm");
        var email = $"{username}@example.com";
        var (_, oldToken) = await client.SignUpAsync(username, "old password 1", email);
        (await client.PostAsync("requestPasswordReset", new JsonObject { ["email"] = email })).EnsureStatus(HttpStatusCode.OK);
        var link = SmtpCatcher.LinkIn(await _smtp.MailToAsync(email), _server);
        var token = HttpUtility.ParseQueryString(new Uri(link).Query)["token"]!;

        using var graphql = new GraphQLClient(_server);
        // A wrong username or token fails like an expired link and leaves the token usable.
        Assert.Equal(-1, (await graphql.SendAsync(Mutation, new { input = new { username = "someone-else", password = "new password 22", token } })).ParseError(-1)["extensions"]!["code"]!.GetValue<int>());
        (await graphql.SendAsync(Mutation, new { input = new { username, password = "new password 22", token = token + "x" } })).ParseError(-1);
        // The password policy applies (the token stays usable).
        (await graphql.SendAsync(Mutation, new { input = new { username, password = "short", token } })).ParseError(142);

        var done = (await graphql.SendAsync(Mutation, new { input = new { username, password = "new password 22", token, clientMutationId = "c1" } })).Ok();
        Assert.True(done["confirmResetPassword"]!["ok"]!.GetValue<bool>());
        Assert.Equal("c1", done["confirmResetPassword"]!["clientMutationId"]!.GetValue<string>());
        (await graphql.SendAsync(Mutation, new { input = new { username, password = "another password 3", token } })).ParseError(-1);

        using var stale = _server.Client().WithSession(oldToken);
        (await stale.GetAsync("users/me")).EnsureError(209);
        (await client.LogInAsync(username, "old password 1")).EnsureError(101);
        (await client.LogInAsync(username, "new password 22")).EnsureStatus(HttpStatusCode.OK);
    }
}
