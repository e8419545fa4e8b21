using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;
using Crm.Functions.Tests.Realtime;
using Microsoft.Extensions.DependencyInjection;

namespace Crm.Functions.Tests.Files;

/// <summary>What one upload or download answered.</summary>
public sealed record FileResponse(HttpStatusCode Status, byte[] Body, JsonNode? Json, HttpResponseHeaders Headers, HttpContentHeaders Content)
{
    public int? Code => Json?["code"]?.GetValue<int>();

    public string? Header(string name) =>
        Headers.TryGetValues(name, out var values) || Content.TryGetValues(name, out values) ? string.Join(", ", values) : null;

    public FileResponse EnsureStatus(HttpStatusCode expected)
    {
        if (Status != expected) throw new Xunit.Sdk.XunitException($"Expected HTTP {(int)expected} but got {(int)Status}: {Encoding.UTF8.GetString(Body)}");
        return this;
    }

    public FileResponse EnsureError(HttpStatusCode status, int code)
    {
        if (Status != status || Code != code)
            throw new Xunit.Sdk.XunitException($"Expected HTTP {(int)status} code {code} but got {(int)Status}: {Encoding.UTF8.GetString(Body)}");
        Assert.False(string.IsNullOrEmpty(Json?["error"]?.GetValue<string>()));
        return this;
    }
}

/// <summary>Raw HTTP for files: bytes up and down, with the Parse headers a caller chooses.</summary>
public static class FileHttp
{
    public static async Task<FileResponse> SendAsync(HttpClient http, HttpMethod method, string url, HttpContent? content = null,
        string? session = null, bool master = false, bool appId = true, IDictionary<string, string>? headers = null)
    {
        using var request = new HttpRequestMessage(method, url) { Content = content };
        if (appId) request.Headers.Add("X-Parse-Application-Id", CrmServer.AppId);
        if (master) request.Headers.Add("X-Parse-Master-Key", CrmServer.MasterKey);
        if (session is not null) request.Headers.Add("X-Parse-Session-Token", session);
        foreach (var (k, v) in headers ?? new Dictionary<string, string>()) request.Headers.TryAddWithoutValidation(k, v);
        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsByteArrayAsync();
        JsonNode? json = null;
        if (response.Content.Headers.ContentType?.MediaType == "application/json")
            try { json = JsonNode.Parse(body); } catch (System.Text.Json.JsonException) { }
        return new FileResponse(response.StatusCode, body, json, response.Headers, response.Content.Headers);
    }

    public static ByteArrayContent Bytes(byte[] bytes, string? contentType)
    {
        var content = new ByteArrayContent(bytes);
        if (contentType is not null) content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        return content;
    }

    public static Task<FileResponse> UploadAsync(CrmServer server, string name, byte[] bytes, string? contentType, string? session = null, bool master = false,
        IDictionary<string, string>? headers = null) =>
        SendAsync(Http, HttpMethod.Post, $"{server.ParseUrl}/files/{name}", Bytes(bytes, contentType), session, master, headers: headers);

    /// <summary>A GET without any Parse header, as a browser's img or a tag sends it.</summary>
    public static Task<FileResponse> DownloadAsync(string url, IDictionary<string, string>? headers = null) =>
        SendAsync(Http, HttpMethod.Get, url, appId: false, headers: headers);

    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromMinutes(2) };
}

/// <summary>
/// The /files routes over real HTTP, one suite run on both file stores (a folder, Blob Storage on Azurite) and, with
/// CRM_TEST_STORE=cosmos, over Cosmos objects: uploads raw and in the JS SDK's form, streamed downloads with Range and
/// ETag, who may upload, limits, names and extensions, the shapes of stored-XSS uploads and how they are served, file
/// values in objects (REST, GraphQL, real time), deletes, and signed URLs.
/// </summary>
public abstract class FilesRestContract(FilesFixture fixture)
{
    private CrmServer Server => fixture.Default;
    private static byte[] Random(int length) => RandomNumberGenerator.GetBytes(length);

    [Fact]
    public async Task a_user_uploads_raw_bytes_and_anyone_downloads_them_streamed_with_length_etag_and_safe_headers()
    {
        var (_, _, token) = await Server.UserAsync("uploader");
        var bytes = Random(200_000);
        var upload = (await FileHttp.UploadAsync(Server, "proposal.pdf", bytes, "application/pdf", token)).EnsureStatus(HttpStatusCode.Created);
        var name = upload.Json!["name"]!.GetValue<string>();
        var url = upload.Json!["url"]!.GetValue<string>();
        Assert.Matches("^[0-9a-f]{32}_proposal\\.pdf$", name);
        Assert.Equal($"{Server.ParseUrl}/files/{CrmServer.AppId}/{name}", url);
        Assert.Equal(url, upload.Headers.Location!.ToString());

        var download = (await FileHttp.DownloadAsync(url)).EnsureStatus(HttpStatusCode.OK);
        Assert.Equal(bytes, download.Body);
        Assert.Equal(bytes.Length, download.Content.ContentLength);
        Assert.Equal("application/pdf", download.Content.ContentType!.MediaType);
        Assert.NotNull(download.Headers.ETag);
        Assert.Equal("bytes", download.Header("Accept-Ranges"));
        Assert.Equal("nosniff", download.Header("X-Content-Type-Options"));
        Assert.Equal("default-src 'none'; sandbox", download.Header("Content-Security-Policy"));
        Assert.Equal("attachment", download.Content.ContentDisposition!.DispositionType);

        // The same ETag again: 304 without a body.
        var again = await FileHttp.DownloadAsync(url, new Dictionary<string, string> { ["If-None-Match"] = download.Headers.ETag!.Tag });
        Assert.Equal(HttpStatusCode.NotModified, again.Status);
        Assert.Empty(again.Body);
    }

    [Fact]
    public async Task range_requests_answer_206_with_exactly_the_bytes_asked_for()
    {
        var bytes = Random(3 * 1024 * 1024);
        var url = (await FileHttp.UploadAsync(Server, "deck.bin", bytes, "application/octet-stream", master: true)).EnsureStatus(HttpStatusCode.Created).Json!["url"]!.GetValue<string>();

        var middle = await FileHttp.DownloadAsync(url, new Dictionary<string, string> { ["Range"] = "bytes=1048570-1048589" });
        Assert.Equal(HttpStatusCode.PartialContent, middle.Status);
        Assert.Equal(bytes.AsSpan(1048570, 20).ToArray(), middle.Body);
        Assert.Equal($"bytes 1048570-1048589/{bytes.Length}", middle.Content.ContentRange!.ToString());

        var tail = await FileHttp.DownloadAsync(url, new Dictionary<string, string> { ["Range"] = "bytes=-100" });
        Assert.Equal(HttpStatusCode.PartialContent, tail.Status);
        Assert.Equal(bytes.AsSpan(bytes.Length - 100).ToArray(), tail.Body);

        var beyond = await FileHttp.DownloadAsync(url, new Dictionary<string, string> { ["Range"] = $"bytes={bytes.Length + 10}-" });
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, beyond.Status);
        Assert.Equal(162, beyond.Code);
        Assert.Equal($"bytes */{bytes.Length}", beyond.Content.ContentRange!.ToString());
    }

    [Fact]
    public async Task the_js_sdk_json_form_carries_base64_type_metadata_and_the_credentials_inside()
    {
        var (_, _, token) = await Server.UserAsync("sdk");
        var bytes = Random(5000);
        var envelope = new JsonObject
        {
            ["base64"] = Convert.ToBase64String(bytes),
            ["_ContentType"] = "image/png",
            ["fileData"] = new JsonObject { ["metadata"] = new JsonObject { ["dealId"] = "D42" }, ["tags"] = new JsonObject { ["kind"] = "logo" } },
            ["_ApplicationId"] = CrmServer.AppId,
            ["_SessionToken"] = token,
            ["_ClientVersion"] = "js8.6.2",
        };
        var upload = (await FileHttp.SendAsync(FileHttpClient, HttpMethod.Post, $"{Server.ParseUrl}/files/logo.png",
            new StringContent(envelope.ToJsonString(), Encoding.UTF8, "text/plain"), appId: false)).EnsureStatus(HttpStatusCode.Created);
        var name = upload.Json!["name"]!.GetValue<string>();
        var download = (await FileHttp.DownloadAsync(upload.Json!["url"]!.GetValue<string>())).EnsureStatus(HttpStatusCode.OK);
        Assert.Equal(bytes, download.Body);
        Assert.Equal("image/png", download.Content.ContentType!.MediaType);
        // A plain image whose name says so is shown inline.
        Assert.Equal("inline", download.Content.ContentDisposition!.DispositionType);

        var metadata = (await FileHttp.DownloadAsync($"{Server.ParseUrl}/files/{CrmServer.AppId}/metadata/{name}")).EnsureStatus(HttpStatusCode.OK);
        Assert.Equal("D42", metadata.Json!["metadata"]!["dealId"]!.GetValue<string>());
        Assert.Equal("logo", metadata.Json!["tags"]!["kind"]!.GetValue<string>());
        Assert.Equal(5000, metadata.Json!["size"]!.GetValue<long>());
        var unknown = (await FileHttp.DownloadAsync($"{Server.ParseUrl}/files/{CrmServer.AppId}/metadata/{new string('0', 32)}_none.txt")).EnsureStatus(HttpStatusCode.OK);
        Assert.Empty(unknown.Json!.AsObject());

        // The envelope without credentials, or with a wrong application id, is refused like any request.
        envelope.Remove("_SessionToken");
        (await FileHttp.SendAsync(FileHttpClient, HttpMethod.Post, $"{Server.ParseUrl}/files/logo.png",
            new StringContent(envelope.ToJsonString(), Encoding.UTF8, "text/plain"), appId: false)).EnsureError(HttpStatusCode.BadRequest, 130);
        envelope["_ApplicationId"] = "other";
        (await FileHttp.SendAsync(FileHttpClient, HttpMethod.Post, $"{Server.ParseUrl}/files/logo.png",
            new StringContent(envelope.ToJsonString(), Encoding.UTF8, "text/plain"), appId: false)).EnsureError(HttpStatusCode.Forbidden, 119);
        // Broken JSON and broken base64 are Parse errors too.
        (await FileHttp.SendAsync(FileHttpClient, HttpMethod.Post, $"{Server.ParseUrl}/files/logo.png",
            new StringContent("{\"base64\":", Encoding.UTF8, "text/plain"), appId: false)).EnsureError(HttpStatusCode.BadRequest, 107);
        (await FileHttp.SendAsync(FileHttpClient, HttpMethod.Post, $"{Server.ParseUrl}/files/logo.png",
            new StringContent($$"""{"base64":"%%%","_ApplicationId":"crm","_SessionToken":"{{token}}"}""", Encoding.UTF8, "text/plain"), appId: false))
            .EnsureError(HttpStatusCode.BadRequest, 130);
    }

    private static readonly HttpClient FileHttpClient = new();

    [Fact]
    public async Task uploads_follow_parse_file_upload_options_public_no_anonymous_no_users_yes_master_always()
    {
        var bytes = "notes"u8.ToArray();
        (await FileHttp.UploadAsync(Server, "notes.txt", bytes, "text/plain")).EnsureError(HttpStatusCode.BadRequest, 130);
        var (_, _, token) = await Server.UserAsync("member");
        (await FileHttp.UploadAsync(Server, "notes.txt", bytes, "text/plain", token)).EnsureStatus(HttpStatusCode.Created);
        (await FileHttp.UploadAsync(Server, "notes.txt", bytes, "text/plain", master: true)).EnsureStatus(HttpStatusCode.Created);
        (await FileHttp.UploadAsync(Server, "notes.txt", bytes, "text/plain", "r:not-a-session")).EnsureError(HttpStatusCode.BadRequest, 209);

        // An anonymous user (signed in with Parse's anonymous provider only) is refused by default.
        var anonymousToken = await AnonymousUserTokenAsync(Server);
        (await FileHttp.UploadAsync(Server, "notes.txt", bytes, "text/plain", anonymousToken)).EnsureError(HttpStatusCode.BadRequest, 130);

        // The options turned around: public and anonymous yes, signed-in users no.
        using var open = new CrmServer(fixture.Settings(("Parse:Files:EnableForPublic", "true"), ("Parse:Files:EnableForAnonymousUser", "true"),
            ("Parse:Files:EnableForAuthenticatedUser", "false")));
        (await FileHttp.UploadAsync(open, "notes.txt", bytes, "text/plain")).EnsureStatus(HttpStatusCode.Created);
        (await FileHttp.UploadAsync(open, "notes.txt", bytes, "text/plain", await AnonymousUserTokenAsync(open))).EnsureStatus(HttpStatusCode.Created);
        var (_, _, userToken) = await open.UserAsync("member");
        (await FileHttp.UploadAsync(open, "notes.txt", bytes, "text/plain", userToken)).EnsureError(HttpStatusCode.BadRequest, 130);
    }

    /// <summary>A user whose only sign-in is authData.anonymous (made with the master key: authData is server-managed), and a session of it.</summary>
    private static async Task<string> AnonymousUserTokenAsync(CrmServer server)
    {
        using var master = server.Client().AsMaster();
        var id = (await master.PostAsync("users", new JsonObject
        {
            ["username"] = Wire.Unique("anon"),
            ["authData"] = new JsonObject { ["anonymous"] = new JsonObject { ["id"] = Guid.NewGuid().ToString() } },
        })).EnsureStatus(HttpStatusCode.Created).Json!["objectId"]!.GetValue<string>();
        return (await master.PostAsync("loginAs", new JsonObject { ["userId"] = id })).EnsureStatus(HttpStatusCode.OK).Json!["sessionToken"]!.GetValue<string>();
    }

    [Fact]
    public async Task names_must_be_parse_names_and_empty_bodies_are_refused()
    {
        var bytes = "x"u8.ToArray();
        (await FileHttp.SendAsync(FileHttpClient, HttpMethod.Post, $"{Server.ParseUrl}/files", FileHttp.Bytes(bytes, "text/plain"), master: true))
            .EnsureError(HttpStatusCode.BadRequest, 122);
        foreach (var bad in new[] { ".htaccess", "evil.txt.", "trailing%20", "a%3Cb%3E.txt", "semi%3Bcolon.txt", "%2E%2E%2Fup.txt", "quote%22.txt", new string('a', 129) })
            (await FileHttp.UploadAsync(Server, bad, bytes, "text/plain", master: true)).EnsureError(HttpStatusCode.BadRequest, 122);
        (await FileHttp.UploadAsync(Server, "empty.txt", [], "text/plain", master: true)).EnsureError(HttpStatusCode.BadRequest, 130);
        // No extension and no type: stored, and served, as bytes to download.
        var readme = (await FileHttp.UploadAsync(Server, "README", "<script>x</script>"u8.ToArray(), null, master: true)).EnsureStatus(HttpStatusCode.Created);
        var served = (await FileHttp.DownloadAsync(readme.Json!["url"]!.GetValue<string>())).EnsureStatus(HttpStatusCode.OK);
        Assert.Equal("application/octet-stream", served.Content.ContentType!.MediaType);
        Assert.Equal("attachment", served.Content.ContentDisposition!.DispositionType);
        // A name without an extension takes the one of its type, as Parse does.
        var named = (await FileHttp.UploadAsync(Server, "report", "%PDF-1.4"u8.ToArray(), "application/pdf", master: true)).EnsureStatus(HttpStatusCode.Created);
        Assert.EndsWith("_report.pdf", named.Json!["name"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task pages_and_scripts_are_refused_by_extension_and_by_type_by_default()
    {
        var page = "<html><script>alert(document.cookie)</script></html>"u8.ToArray();
        foreach (var (name, type) in new[]
        {
            ("page.html", "text/html"), ("page.HTM", "text/plain"), ("logo.svg", "image/svg+xml"), ("feed.xml", "application/xml"),
            ("app.js", "text/javascript"), ("page.xhtml", "application/xhtml+xml"), ("archive.mhtml", "message/rfc822"),
            // Mismatched types: a harmless name with an executable type.
            ("notes.txt", "text/html"), ("photo.png", "image/svg+xml"), ("data.json", "application/javascript"), ("doc.pdf", "text/xml; charset=utf-8"),
        })
        {
            var refused = await FileHttp.UploadAsync(Server, name, page, type, master: true);
            refused.EnsureError(HttpStatusCode.BadRequest, 130);
        }
        // A malformed type is refused, not guessed at.
        (await FileHttp.UploadAsync(Server, "notes.txt", page, "text/", master: true)).EnsureError(HttpStatusCode.BadRequest, 130);
    }

    [Fact]
    public async Task allowed_risky_uploads_are_served_as_inert_attachments_and_only_plain_media_inline()
    {
        var server = fixture.Open;
        var payload = "<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>"u8.ToArray();
        // (name, type sent, served type, inline?)
        var shapes = new (string Name, string? Type, string Served, bool Inline)[]
        {
            ("page.html", "text/html", "application/octet-stream", false),
            ("logo.svg", "image/svg+xml", "application/octet-stream", false),
            ("feed.xml", "text/xml", "application/octet-stream", false),
            ("app.js", "text/javascript", "application/octet-stream", false),
            ("image.png", "text/html", "application/octet-stream", false),   // the type lies about the name
            ("notes.txt", "image/png", "image/png", false),                  // the name lies about the type
            ("photo.weird", "image/png", "image/png", false),                // an extension no browser knows
            ("data.bin", "application/x-unknown", "application/x-unknown", false),
            ("photo.png", "image/png", "image/png", true),
            ("notes.txt", "text/plain", "text/plain", true),
            ("report.pdf", "application/pdf", "application/pdf", false),
        };
        foreach (var (name, type, served, inline) in shapes)
        {
            var upload = (await FileHttp.UploadAsync(server, name, payload, type, master: true)).EnsureStatus(HttpStatusCode.Created);
            var download = (await FileHttp.DownloadAsync(upload.Json!["url"]!.GetValue<string>())).EnsureStatus(HttpStatusCode.OK);
            Assert.True(served == download.Content.ContentType!.MediaType, $"{name} sent as {type} was served as {download.Content.ContentType}");
            Assert.True((inline ? "inline" : "attachment") == download.Content.ContentDisposition!.DispositionType, $"{name} sent as {type}: {download.Content.ContentDisposition}");
            Assert.Equal("nosniff", download.Header("X-Content-Type-Options"));
            Assert.Equal("default-src 'none'; sandbox", download.Header("Content-Security-Policy"));
            Assert.Equal(payload, download.Body);
        }
    }

    [Fact]
    public async Task uploads_over_the_limit_answer_413_with_code_130_however_they_are_sent()
    {
        var server = fixture.Open; // Parse:Files:MaxUploadBytes = 65536
        (await FileHttp.UploadAsync(server, "big.bin", Random(65_537), "application/octet-stream", master: true)).EnsureError(HttpStatusCode.RequestEntityTooLarge, 130);
        (await FileHttp.UploadAsync(server, "fits.bin", Random(65_536), "application/octet-stream", master: true)).EnsureStatus(HttpStatusCode.Created);

        // Chunked: no length up front, the limit is found while streaming.
        var chunked = new StreamContent(new MemoryStream(Random(200_000)));
        chunked.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using (var request = new HttpRequestMessage(HttpMethod.Post, $"{server.ParseUrl}/files/chunked.bin") { Content = chunked })
        {
            request.Headers.TransferEncodingChunked = true;
            request.Headers.Add("X-Parse-Application-Id", CrmServer.AppId);
            request.Headers.Add("X-Parse-Master-Key", CrmServer.MasterKey);
            using var response = await FileHttpClient.SendAsync(request);
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
            Assert.Equal(130, JsonNode.Parse(await response.Content.ReadAsStringAsync())!["code"]!.GetValue<int>());
        }

        // The JS SDK's base64 form of a file over the limit.
        var envelope = new JsonObject { ["base64"] = Convert.ToBase64String(Random(65_537)), ["_ApplicationId"] = CrmServer.AppId, ["_MasterKey"] = CrmServer.MasterKey };
        (await FileHttp.SendAsync(FileHttpClient, HttpMethod.Post, $"{server.ParseUrl}/files/big.bin",
            new StringContent(envelope.ToJsonString(), Encoding.UTF8, "text/plain"), appId: false)).EnsureError(HttpStatusCode.RequestEntityTooLarge, 130);
    }

    [Fact]
    public async Task the_default_limit_takes_a_20_mb_file_over_the_10_mb_json_body_limit_and_refuses_one_byte_more()
    {
        var bytes = Random(20 * 1024 * 1024);
        var upload = (await FileHttp.UploadAsync(Server, "video.mp4", bytes, "video/mp4", master: true)).EnsureStatus(HttpStatusCode.Created);
        var download = (await FileHttp.DownloadAsync(upload.Json!["url"]!.GetValue<string>())).EnsureStatus(HttpStatusCode.OK);
        Assert.True(bytes.AsSpan().SequenceEqual(download.Body));
        (await FileHttp.UploadAsync(Server, "video.mp4", Random(20 * 1024 * 1024 + 1), "video/mp4", master: true)).EnsureError(HttpStatusCode.RequestEntityTooLarge, 130);
    }

    [Fact]
    public async Task downloads_check_the_application_id_and_unknown_files_are_404_json()
    {
        var url = (await FileHttp.UploadAsync(Server, "a.txt", "a"u8.ToArray(), "text/plain", master: true)).EnsureStatus(HttpStatusCode.Created).Json!["url"]!.GetValue<string>();
        (await FileHttp.DownloadAsync(url.Replace($"/files/{CrmServer.AppId}/", "/files/other/", StringComparison.Ordinal))).EnsureError(HttpStatusCode.Forbidden, 119);
        (await FileHttp.DownloadAsync($"{Server.ParseUrl}/files/{CrmServer.AppId}/{new string('0', 32)}_missing.txt")).EnsureError(HttpStatusCode.NotFound, 101);
        (await FileHttp.DownloadAsync($"{Server.ParseUrl}/files/{CrmServer.AppId}/..%2F..%2Fcrm.db")).EnsureError(HttpStatusCode.NotFound, 101);
        // Files cannot be reached through /batch, whose sub-requests are JSON.
        using var master = Server.Client().AsMaster();
        var batch = (await master.BatchAsync([("POST", "/files/x.txt", new JsonObject()), ("GET", url[url.IndexOf("/files/", StringComparison.Ordinal)..], null)])).EnsureStatus(HttpStatusCode.OK);
        Assert.All(batch.Json!.AsArray(), item => Assert.Equal(107, item!["error"]!["code"]!.GetValue<int>()));
    }

    [Fact]
    public async Task only_the_master_key_deletes_and_a_deleted_file_is_gone()
    {
        var (_, _, token) = await Server.UserAsync("owner");
        var upload = (await FileHttp.UploadAsync(Server, "contract.pdf", "%PDF"u8.ToArray(), "application/pdf", token)).EnsureStatus(HttpStatusCode.Created);
        var name = upload.Json!["name"]!.GetValue<string>();
        var url = upload.Json!["url"]!.GetValue<string>();
        (await FileHttp.SendAsync(FileHttpClient, HttpMethod.Delete, $"{Server.ParseUrl}/files/{name}", session: token)).EnsureError(HttpStatusCode.Forbidden, 119);
        (await FileHttp.SendAsync(FileHttpClient, HttpMethod.Delete, $"{Server.ParseUrl}/files/{name}")).EnsureError(HttpStatusCode.Forbidden, 119);
        (await FileHttp.DownloadAsync(url)).EnsureStatus(HttpStatusCode.OK);
        (await FileHttp.SendAsync(FileHttpClient, HttpMethod.Delete, $"{Server.ParseUrl}/files/{name}", master: true)).EnsureStatus(HttpStatusCode.OK);
        (await FileHttp.DownloadAsync(url)).EnsureError(HttpStatusCode.NotFound, 101);
        (await FileHttp.SendAsync(FileHttpClient, HttpMethod.Delete, $"{Server.ParseUrl}/files/{name}", master: true)).EnsureError(HttpStatusCode.BadRequest, 153);
    }

    [Fact]
    public async Task file_values_in_objects_carry_this_servers_url_in_rest_graphql_and_real_time()
    {
        using var server = RealtimeFixtures.FeedServer(fixture.Settings());
        await RealtimeFixtures.CreateDealClassAsync(server);
        using (var master = server.Client().AsMaster())
            (await master.PutAsync("schemas/Deal", new JsonObject { ["fields"] = new JsonObject { ["proposal"] = new JsonObject { ["type"] = "File" } } }))
                .EnsureStatus(HttpStatusCode.OK);
        var (client, userId, token) = await server.UserAsync("seller");
        var bytes = Random(4096);
        var upload = (await FileHttp.UploadAsync(server, "proposal.pdf", bytes, "application/pdf", token)).EnsureStatus(HttpStatusCode.Created);
        var name = upload.Json!["name"]!.GetValue<string>();
        var expected = $"{server.ParseUrl}/files/{CrmServer.AppId}/{name}";

        await using var live = await RealtimeClient.ConnectAsync(server, token);
        var dealId = await RealtimeFixtures.CreateDealAsync(client, new JsonObject
        {
            ["title"] = "Acme", ["proposal"] = new JsonObject { ["__type"] = "File", ["name"] = name }, ["ACL"] = RealtimeFixtures.Acl((userId, true)),
        });

        var fetched = (await client.GetAsync($"classes/Deal/{dealId}")).EnsureStatus(HttpStatusCode.OK);
        Assert.Equal(expected, fetched.Json!["proposal"]!["url"]!.GetValue<string>());
        Assert.Equal(bytes, (await FileHttp.DownloadAsync(fetched.Json!["proposal"]!["url"]!.GetValue<string>())).EnsureStatus(HttpStatusCode.OK).Body);

        using var graphql = new GraphQLClient(server).WithSession(token);
        var answer = (await graphql.SendAsync("query { deals { edges { node { objectId proposal { name url } } } } }")).Ok();
        var node = answer["deals"]!["edges"]!.AsArray().Single(e => e!["node"]!["objectId"]!.GetValue<string>() == dealId)!["node"]!;
        Assert.Equal(expected, node["proposal"]!["url"]!.GetValue<string>());
        Assert.Equal(name, node["proposal"]!["name"]!.GetValue<string>());

        var (target, created) = await live.NextAsync("the deal with its proposal");
        Assert.Equal("created", target);
        Assert.Equal(expected, created["object"]!["proposal"]!["url"]!.GetValue<string>());
    }

    [Fact]
    public async Task signed_urls_are_required_and_refused_once_expired_or_altered()
    {
        var time = new AdjustableTime();
        using var server = new CrmServer(fixture.Settings(("Parse:Files:SignedUrls", "true"), ("Parse:Files:SignedUrlLifetimeSeconds", "600")),
            services => services.AddSingleton<TimeProvider>(time));
        var (_, _, token) = await server.UserAsync("private");
        using var client = server.Client().AsMaster();
        var bytes = Random(10_000);
        var upload = (await FileHttp.UploadAsync(server, "private.pdf", bytes, "application/pdf", token)).EnsureStatus(HttpStatusCode.Created);
        var name = upload.Json!["name"]!.GetValue<string>();
        var url = upload.Json!["url"]!.GetValue<string>();
        Assert.Matches("\\?expires=\\d+&signature=[A-Za-z0-9_-]{43}$", url);

        // The signed URL reads (Blob Storage answers it through a short-lived SAS it redirects to); ranges too.
        Assert.Equal(bytes, (await FileHttp.DownloadAsync(url)).EnsureStatus(HttpStatusCode.OK).Body);
        var range = await FileHttp.DownloadAsync(url, new Dictionary<string, string> { ["Range"] = "bytes=100-199" });
        Assert.Equal(HttpStatusCode.PartialContent, range.Status);
        Assert.Equal(bytes.AsSpan(100, 100).ToArray(), range.Body);

        var plain = $"{server.ParseUrl}/files/{CrmServer.AppId}/{name}";
        (await FileHttp.DownloadAsync(plain)).EnsureError(HttpStatusCode.Forbidden, 119);
        (await FileHttp.DownloadAsync($"{server.ParseUrl}/files/{CrmServer.AppId}/metadata/{name}")).EnsureError(HttpStatusCode.Forbidden, 119);
        var expires = long.Parse(System.Text.RegularExpressions.Regex.Match(url, "expires=(\\d+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        (await FileHttp.DownloadAsync(url.Replace($"expires={expires}", $"expires={expires + 3600}", StringComparison.Ordinal))).EnsureError(HttpStatusCode.Forbidden, 119);
        (await FileHttp.DownloadAsync(url[..^4] + "AAAA")).EnsureError(HttpStatusCode.Forbidden, 119);
        // A signature is for one name only.
        var other = (await FileHttp.UploadAsync(server, "other.pdf", bytes, "application/pdf", token)).EnsureStatus(HttpStatusCode.Created).Json!["name"]!.GetValue<string>();
        (await FileHttp.DownloadAsync(url.Replace(name, other, StringComparison.Ordinal))).EnsureError(HttpStatusCode.Forbidden, 119);
        // The master key reads without a signature.
        (await FileHttp.SendAsync(FileHttpClient, HttpMethod.Get, plain, master: true)).EnsureStatus(HttpStatusCode.OK);

        // Objects hand out freshly signed URLs on every read.
        var dealId = await client.CreateAsync("Deal", new JsonObject { ["proposal"] = new JsonObject { ["__type"] = "File", ["name"] = name } });
        var fromObject = (await client.GetAsync($"classes/Deal/{dealId}")).Json!["proposal"]!["url"]!.GetValue<string>();
        Assert.StartsWith(plain + "?expires=", fromObject, StringComparison.Ordinal);
        (await FileHttp.DownloadAsync(fromObject)).EnsureStatus(HttpStatusCode.OK);

        // Ten minutes later neither URL opens the file.
        time.Offset = TimeSpan.FromSeconds(601);
        (await FileHttp.DownloadAsync(url)).EnsureError(HttpStatusCode.Forbidden, 119);
        (await FileHttp.DownloadAsync(fromObject)).EnsureError(HttpStatusCode.Forbidden, 119);
    }
}

/// <summary>The servers of one file store: defaults, and one that allows risky extensions with a 64 KB limit.</summary>
public abstract class FilesFixture : IDisposable
{
    private readonly Lazy<CrmServer> _default;
    private readonly Lazy<CrmServer> _open;

    protected FilesFixture()
    {
        _default = new(() => new CrmServer(Settings()));
        _open = new(() => new CrmServer(Settings(
            ("Parse:Files:MaxUploadBytes", "65536"),
            ("Parse:Files:AllowedExtensions:0", "html"), ("Parse:Files:AllowedExtensions:1", "svg"), ("Parse:Files:AllowedExtensions:2", "xml"),
            ("Parse:Files:AllowedExtensions:3", "js"), ("Parse:Files:AllowedExtensions:4", "png"), ("Parse:Files:AllowedExtensions:5", "txt"),
            ("Parse:Files:AllowedExtensions:6", "weird"), ("Parse:Files:AllowedExtensions:7", ""), ("Parse:Files:AllowedExtensions:8", "bin"),
            ("Parse:Files:AllowedExtensions:9", "pdf"))));
    }

    public CrmServer Default => _default.Value;
    public CrmServer Open => _open.Value;

    /// <summary>The settings of a server on this file store, plus extras.</summary>
    public Dictionary<string, string?> Settings(params (string Key, string? Value)[] extra)
    {
        var settings = TestSettings.Fast(extra);
        foreach (var (key, value) in StoreSettings()) settings.TryAdd(key, value);
        return settings;
    }

    protected abstract Dictionary<string, string?> StoreSettings();

    public void Dispose()
    {
        if (_default.IsValueCreated) _default.Value.Dispose();
        if (_open.IsValueCreated) _open.Value.Dispose();
        GC.SuppressFinalize(this);
    }
}

public sealed class LocalFilesFixture : FilesFixture
{
    protected override Dictionary<string, string?> StoreSettings() => new(StringComparer.Ordinal) { ["Parse:Files:Store"] = "local" };
}

public sealed class BlobFilesFixture : FilesFixture
{
    protected override Dictionary<string, string?> StoreSettings() => AzuriteServer.Instance.Settings();
}

public sealed class LocalFilesRestTests(LocalFilesFixture fixture) : FilesRestContract(fixture), IClassFixture<LocalFilesFixture>;

public sealed class BlobFilesRestTests(BlobFilesFixture fixture) : FilesRestContract(fixture), IClassFixture<BlobFilesFixture>;
