// The CRM from .NET (a console app here; the same code serves Blazor and MAUI): REST with HttpClient and the typed
// models of GET /docs/models/csharp (Models.cs), live updates with the SignalR client. The .NET guide quotes this file
// region by region, and the test suite builds and runs it against a started server (GuideSampleTests).
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Crm.Models;
using Microsoft.AspNetCore.SignalR.Client;

var (serverRoot, appId, username) = (args[0].TrimEnd('/'), args[1], args[2]);
const string password = "Guide-sample-1";

// #region connect
// serverRoot is the app's address, e.g. https://<app>.azurewebsites.net; REST lives under /parse.
var http = new HttpClient { BaseAddress = new Uri(serverRoot + "/parse/") };
http.DefaultRequestHeaders.Add("X-Parse-Application-Id", appId);
var json = new JsonSerializerOptions(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };
// #endregion

// #region errors
// Every error is {"code": N, "error": "..."}: 101 not found (or not yours), 209 invalid session (log in again),
// 119 forbidden, 142 validation, 155 too many requests (honour Retry-After).
async Task<T> Send<T>(HttpRequestMessage request)
{
    using var response = await http.SendAsync(request);
    if (response.IsSuccessStatusCode) return (await response.Content.ReadFromJsonAsync<T>(json))!;
    var error = await response.Content.ReadFromJsonAsync<JsonObject>();
    throw new ParseError(error?["code"]?.GetValue<int>() ?? 0, error?["error"]?.GetValue<string>() ?? response.ReasonPhrase ?? "");
}
Task<T> Post<T>(string path, object body) => Send<T>(new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body, options: json) });
Task<T> Put<T>(string path, object body) => Send<T>(new HttpRequestMessage(HttpMethod.Put, path) { Content = JsonContent.Create(body, options: json) });
Task<T> Get<T>(string path) => Send<T>(new HttpRequestMessage(HttpMethod.Get, path));
string Where(object where) => Uri.EscapeDataString(JsonSerializer.Serialize(where, json));
// #endregion

// #region sign-up
var signedUp = await Post<JsonObject>("users", new { username, password, email = $"{username}@example.com" });
var session = signedUp["sessionToken"]!.GetValue<string>();
// #endregion

// #region log-in
http.DefaultRequestHeaders.Add("X-Parse-Session-Token", session);
await Post<JsonObject>("logout", new { });            // ends that session on the server
http.DefaultRequestHeaders.Remove("X-Parse-Session-Token");
var loggedIn = await Post<JsonObject>("login", new { username, password });
session = loggedIn["sessionToken"]!.GetValue<string>();
http.DefaultRequestHeaders.Add("X-Parse-Session-Token", session); // every later call acts as this user
// #endregion

// #region restore
// A stored session token is checked, and the user read, with /users/me; error 209 means log in again.
var me = await Get<User>("users/me");
// #endregion

// #region live
// SignalR: the client negotiates at the server root with the session token, then receives created/updated/deleted.
var events = new List<string>();
var connection = new HubConnectionBuilder()
    .WithUrl(serverRoot, options =>
    {
        options.Headers["X-Parse-Application-Id"] = appId;
        options.AccessTokenProvider = () => Task.FromResult<string?>(session);
    })
    .WithAutomaticReconnect()
    .Build();
connection.On<JsonObject>("created", e => { if ($"{e["className"]}" == "Deal") lock (events) events.Add($"created:{e["object"]?["title"]}"); });
connection.On<JsonObject>("updated", e => { if ($"{e["className"]}" == "Deal") lock (events) events.Add($"updated:{e["object"]?["stage"]}"); });
await connection.StartAsync();
// #endregion

// #region create-deal
var contact = await Post<Contact>("classes/Contact", new Contact { Name = "Ada Lovelace" });
var deal = await Post<Deal>("classes/Deal", new Deal
{
    Title = "Fleet renewal", Amount = 12000, Stage = DealStage.Lead,
    Contact = new(contact.ObjectId!), ExpectedCloseDate = DateTimeOffset.UtcNow.AddDays(30),
});
await Put<JsonObject>($"classes/Deal/{deal.ObjectId}", new Deal { Stage = DealStage.Qualified }); // only the fields set are sent
// #endregion

// #region pipeline
var column = await Get<ParseResults<Deal>>($"classes/Deal?where={Where(new { stage = "qualified" })}&order=expectedCloseDate&include=contact&limit=100");
// #endregion

// #region activities
await Post<JsonObject>("classes/Activity", new Activity
{
    Type = ActivityType.Call, Subject = "Kick-off call", RelatedTo = new ParsePointer(Deal.ParseClassName, deal.ObjectId!),
});
var activities = await Get<ParseResults<Activity>>(
    $"classes/Activity?where={Where(new { relatedTo = new ParsePointer(Deal.ParseClassName, deal.ObjectId!) })}&order=-createdAt");
// #endregion

// #region files
using var upload = new ByteArrayContent("%PDF-1.4 sample"u8.ToArray());
upload.Headers.ContentType = new MediaTypeHeaderValue("application/pdf");
using var uploaded = await http.PostAsync("files/proposal.pdf", upload);
var file = (await uploaded.Content.ReadFromJsonAsync<ParseFile>(json))!; // file.Url is where it is served from
// #endregion

string notFound;
try { await Get<Deal>("classes/Deal/doesNotExist1"); notFound = "found"; }
catch (ParseError e) { notFound = $"{e.Code}"; }

// Live events arrive asynchronously: wait (bounded) for the create and the update.
for (var i = 0; i < 100; i++) { lock (events) if (events.Count >= 2) break; await Task.Delay(50); }
await connection.DisposeAsync();
var downloaded = await new HttpClient().GetStringAsync(file.Url);

Console.WriteLine(JsonSerializer.Serialize(new
{
    me = me.Username,
    column = column.Results.Select(d => d.Title),
    stage = column.Results.Single().Stage.ToString(),
    activities = activities.Results.Select(a => a.Subject),
    events = events.Order(),
    notFound,
    downloaded,
}));

/// <summary>A Parse error answer: its code and message.</summary>
sealed class ParseError(int code, string message) : Exception(message)
{
    public int Code { get; } = code;
}
