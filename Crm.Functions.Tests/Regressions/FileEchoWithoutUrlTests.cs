using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Files;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.Regressions;

/// <summary>
/// The answer to an Add or Remove on an array echoes the array after the operation; File values in it were echoed as
/// stored, without their url. The JS SDK keeps an echoed value as the field's, so a web app that added an attachment
/// then held a Parse.File with no URL ("Tried to encode an unsaved file"). The echo now carries URLs as a read does,
/// signed when signed URLs are on.
/// </summary>
public sealed class FileEchoWithoutUrlTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task files_in_an_echoed_array_carry_their_url(bool signedUrls)
    {
        using var server = new CrmServer(TestSettings.Fast(("Parse:Files:SignedUrls", signedUrls ? "true" : "false")));
        using var client = server.Client();
        var (_, token) = await client.SignUpAsync(Wire.Unique("attacher"));
        var upload = (await FileHttp.UploadAsync(server, "notes.txt", "call notes"u8.ToArray(), "text/plain", token)).EnsureStatus(HttpStatusCode.Created);
        var name = upload.Json!["name"]!.GetValue<string>();
        using var master = server.Client().AsMaster();
        var id = await master.CreateAsync("Memo", new JsonObject { ["title"] = "with files", ["attachments"] = new JsonArray() });

        var entry = new JsonObject { ["file"] = new JsonObject { ["__type"] = "File", ["name"] = name }, ["size"] = 10 };
        var added = (await client.PutAsync($"classes/Memo/{id}", new JsonObject
        {
            ["attachments"] = new JsonObject { ["__op"] = "Add", ["objects"] = new JsonArray(entry.DeepClone()) },
        })).EnsureStatus(HttpStatusCode.OK).Json!;
        var echoed = added["attachments"]![0]!["file"]!;
        Assert.Equal(name, echoed["name"]!.GetValue<string>());
        var url = echoed["url"]?.GetValue<string>();
        Assert.NotNull(url);
        Assert.StartsWith($"{server.ParseUrl}/files/{CrmServer.AppId}/{name}", url, StringComparison.Ordinal);
        Assert.Equal(signedUrls, url.Contains("signature=", StringComparison.Ordinal));
        // The URL works, and the stored value is still the File alone (a read signs it anew).
        Assert.Equal("call notes", System.Text.Encoding.UTF8.GetString((await FileHttp.DownloadAsync(url)).EnsureStatus(HttpStatusCode.OK).Body));

        // Remove names the entry as the client sees it (with the url); the File matches by name and the entry goes.
        var removed = (await client.PutAsync($"classes/Memo/{id}", new JsonObject
        {
            ["attachments"] = new JsonObject { ["__op"] = "Remove", ["objects"] = new JsonArray(added["attachments"]![0]!.DeepClone()) },
        })).EnsureStatus(HttpStatusCode.OK).Json!;
        Assert.Empty(removed["attachments"]!.AsArray());
    }
}
