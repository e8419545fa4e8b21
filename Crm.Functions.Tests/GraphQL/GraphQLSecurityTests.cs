using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.GraphQL;

/// <summary>The same callers and the same answers as REST: headers, sessions, ACL and the user mutations.</summary>
public sealed class GraphQLSecurityTests(CrmGraphQLFixture fixture) : IClassFixture<CrmGraphQLFixture>
{
    [Fact]
    public async Task sign_up_gives_a_token_that_viewer_accepts_and_log_out_revokes_it()
    {
        using var anonymous = new GraphQLClient(fixture.Server);
        var name = Wire.Unique("flow");
        var signUp = (await anonymous.SendAsync("""
            mutation($u: String!) { signUp(input: {clientMutationId: "s1", fields: {username: $u, password: "correct horse battery", email: "f@example.com"}}) {
              clientMutationId viewer { sessionToken user { id username email } } } }
            """, new JsonObject { ["u"] = name })).Ok()["signUp"]!;
        Assert.Equal("s1", signUp["clientMutationId"]!.GetValue<string>());
        var token = signUp["viewer"]!["sessionToken"]!.GetValue<string>();
        Assert.StartsWith("r:", token, StringComparison.Ordinal);
        Assert.Equal(name, signUp["viewer"]!["user"]!["username"]!.GetValue<string>());

        using var user = new GraphQLClient(fixture.Server).WithSession(token);
        var viewer = (await user.SendAsync("{ viewer { sessionToken user { username email } } }")).Ok()["viewer"]!;
        Assert.Equal(token, viewer["sessionToken"]!.GetValue<string>());
        Assert.Equal("f@example.com", viewer["user"]!["email"]!.GetValue<string>());

        // The session also works over REST: one session store for both doors.
        using var rest = fixture.Server.Client().WithSession(token);
        (await rest.GetAsync("users/me")).EnsureStatus(HttpStatusCode.OK);

        Assert.True((await user.SendAsync("mutation { logOut(input: {clientMutationId: \"o\"}) { ok clientMutationId } }")).Ok()["logOut"]!["ok"]!.GetValue<bool>());
        (await user.SendAsync("{ viewer { sessionToken } }")).Refused(HttpStatusCode.BadRequest, 209);
        (await rest.GetAsync("users/me")).EnsureError(209);

        // Log in again with the password: a new session.
        var logIn = (await anonymous.SendAsync("""
            mutation($u: String!) { logIn(input: {username: $u, password: "correct horse battery"}) { viewer { sessionToken user { objectId } } } }
            """, new JsonObject { ["u"] = name })).Ok()["logIn"]!["viewer"]!;
        Assert.NotEqual(token, logIn["sessionToken"]!.GetValue<string>());
    }

    [Fact]
    public async Task wrong_password_viewer_without_session_and_bad_headers_answer_like_rest()
    {
        using var anonymous = new GraphQLClient(fixture.Server);
        (await anonymous.SendAsync("""mutation { logIn(input: {username: "nobody-here", password: "whatever1"}) { viewer { sessionToken } } }""")).ParseError(101);
        (await anonymous.SendAsync("{ viewer { sessionToken } }")).ParseError(209);

        using var noApp = new GraphQLClient(fixture.Server) { AppId = null };
        var forbidden = (await noApp.SendAsync("{ health }")).Refused(HttpStatusCode.Forbidden, 119);
        Assert.Equal("unauthorized", forbidden["message"]!.GetValue<string>());
        using var wrongApp = new GraphQLClient(fixture.Server) { AppId = "other" };
        (await wrongApp.SendAsync("{ health }")).Refused(HttpStatusCode.Forbidden, 119);

        using var badToken = new GraphQLClient(fixture.Server).WithSession("r:not-a-session");
        var invalid = (await badToken.SendAsync("{ health }")).Refused(HttpStatusCode.BadRequest, 209);
        Assert.Equal("Invalid session token", invalid["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task another_users_private_deal_is_an_error_101_absent_from_finds_and_not_writable()
    {
        var (owner, ownerId) = await fixture.UserAsync("own");
        var (other, _) = await fixture.UserAsync("oth");
        using var _o = owner;
        using var _t = other;
        var tag = Wire.Unique("t");
        var dealId = (await owner.SendAsync("""
            mutation($t: String!, $me: ID!) { createDeal(input: {fields: {title: $t, ACL: {users: [{userId: $me, read: true, write: true}]}}}) { deal { id } } }
            """, new JsonObject { ["t"] = "secret " + tag, ["me"] = ownerId })).Ok()["createDeal"]!["deal"]!["id"]!.GetValue<string>();
        (await owner.SendAsync("query($id: ID!) { deal(id: $id) { title } }", new JsonObject { ["id"] = dealId })).Ok();

        (await other.SendAsync("query($id: ID!) { deal(id: $id) { title } }", new JsonObject { ["id"] = dealId })).ParseError(101);
        (await other.SendAsync("query($id: ID!) { node(id: $id) { id } }", new JsonObject { ["id"] = dealId })).ParseError(101);
        var found = (await other.SendAsync("query($t: String!) { deals(where: {title: {equalTo: $t}}) { count edges { node { id } } } }",
            new JsonObject { ["t"] = "secret " + tag })).Ok()["deals"]!;
        Assert.Equal(0, found["count"]!.GetValue<int>());
        Assert.Empty(found["edges"]!.AsArray());
        (await other.SendAsync("""mutation($id: ID!) { updateDeal(input: {id: $id, fields: {title: "stolen"}}) { deal { id } } }""", new JsonObject { ["id"] = dealId })).ParseError(101);
        (await other.SendAsync("""mutation($id: ID!) { deleteDeal(input: {id: $id}) { deal { id } } }""", new JsonObject { ["id"] = dealId })).ParseError(101);

        // REST gives the same answer for the same caller.
        using var rest = fixture.Server.Client().WithSession(other.SessionToken);
        var objectId = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(dealId)).Split(':')[1];
        (await rest.GetAsync($"classes/Deal/{objectId}")).EnsureError(101);

        // A pointer to it from a readable object resolves to null for the other user, not to the hidden deal.
        var activityId = (await owner.SendAsync("""
            mutation($d: ID!) { createActivity(input: {fields: {subject: "public note", relatedTo: {link: $d}}}) { activity { id } } }
            """, new JsonObject { ["d"] = dealId })).Ok()["createActivity"]!["activity"]!["id"]!.GetValue<string>();
        var seen = (await other.SendAsync("query($a: ID!) { activity(id: $a) { subject relatedTo { ... on Deal { title } } } }",
            new JsonObject { ["a"] = activityId })).Ok()["activity"]!;
        Assert.Equal("public note", seen["subject"]!.GetValue<string>());
        Assert.Null(seen["relatedTo"]);
    }

    [Fact]
    public async Task the_crm_classes_refuse_anonymous_callers_as_rest_does()
    {
        using var anonymous = new GraphQLClient(fixture.Server);
        // Parse answers 101 "Permission denied, user needs to be authenticated." for requiresAuthentication.
        var error = (await anonymous.SendAsync("{ deals { count } }")).ParseError(101);
        Assert.Contains("authenticated", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        using var rest = fixture.Server.Client();
        var restError = (await rest.QueryAsync("Deal")).EnsureError(101);
        Assert.Equal(restError.Json!["error"]!.GetValue<string>(), error["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task the_master_key_is_accepted_from_loopback_and_bypasses_acls()
    {
        var (owner, ownerId) = await fixture.UserAsync("mst");
        using var _o = owner;
        var dealId = (await owner.SendAsync("""
            mutation($me: ID!) { createDeal(input: {fields: {title: "for master", ACL: {users: [{userId: $me, read: true, write: true}]}}}) { deal { id } } }
            """, new JsonObject { ["me"] = ownerId })).Ok()["createDeal"]!["deal"]!["id"]!.GetValue<string>();
        using var master = new GraphQLClient(fixture.Server).AsMaster();
        Assert.Equal("for master", (await master.SendAsync("query($id: ID!) { deal(id: $id) { title } }", new JsonObject { ["id"] = dealId }))
            .Ok()["deal"]!["title"]!.GetValue<string>());
    }

    [Fact]
    public async Task client_keys_are_required_and_accepted_by_both_doors_alike()
    {
        using var server = new CrmServer(new Dictionary<string, string?> { ["Parse:RestApiKey"] = "rest-key-123" });
        using var anonymous = new GraphQLClient(server);
        var graphql = await anonymous.SendAsync("{ health }");
        using var restClient = server.Client();
        var rest = await restClient.QueryAsync("Deal");
        Assert.Equal(HttpStatusCode.Forbidden, rest.Status);
        var error = graphql.Refused(HttpStatusCode.Forbidden, rest.Code!.Value);
        Assert.Equal(rest.Json!["error"]!.GetValue<string>(), error["message"]!.GetValue<string>());

        using var http = new HttpClient();
        async Task<HttpStatusCode> GraphQLWith(string header, string value)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, server.BaseUrl + "/graphql") { Content = new StringContent("""{"query":"{ health }"}""") };
            request.Headers.Add("X-Parse-Application-Id", CrmServer.AppId);
            request.Headers.Add(header, value);
            using var response = await http.SendAsync(request);
            return response.StatusCode;
        }
        Assert.Equal(HttpStatusCode.OK, await GraphQLWith("X-Parse-REST-API-Key", "rest-key-123"));
        Assert.Equal(HttpStatusCode.Forbidden, await GraphQLWith("X-Parse-REST-API-Key", "wrong"));
        Assert.Equal(HttpStatusCode.Forbidden, await GraphQLWith("X-Parse-Master-Key", "not-the-master-key"));
        Assert.Equal(HttpStatusCode.OK, await GraphQLWith("X-Parse-Master-Key", CrmServer.MasterKey));
    }

    [Fact]
    public async Task log_in_attempts_share_the_rest_rate_limit()
    {
        using var server = new CrmServer(new Dictionary<string, string?> { ["Parse:Accounts:AuthRequestsPerMinute"] = "2" });
        using var client = new GraphQLClient(server);
        const string LogIn = """mutation { logIn(input: {username: "nobody", password: "wrong-password"}) { viewer { sessionToken } } }""";
        (await client.SendAsync(LogIn)).ParseError(101);
        (await client.SendAsync(LogIn)).ParseError(101);
        (await client.SendAsync(LogIn)).ParseError(100);
        using var rest = server.Client();
        var limited = await rest.PostAsync("login", new { username = "nobody", password = "wrong-password" });
        Assert.Equal((HttpStatusCode)429, limited.Status);
    }
}
