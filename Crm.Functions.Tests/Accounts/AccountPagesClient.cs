using System.Net;
using System.Text.RegularExpressions;

namespace Crm.Functions.Tests.Accounts;

/// <summary>A browser-like client of the account pages: plain GETs and form posts, redirects not followed (they are asserted).</summary>
internal sealed partial class AccountPagesClient : IDisposable
{
    private readonly HttpClient _http = new(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false });

    public sealed record Page(HttpStatusCode Status, string Html, HttpResponseMessage Response)
    {
        public string? Header(string name) =>
            Response.Headers.TryGetValues(name, out var v) || Response.Content.Headers.TryGetValues(name, out v) ? string.Join(", ", v) : null;

        /// <summary>The value of a hidden input of the page's form.</summary>
        public string Hidden(string name)
        {
            var match = Regex.Match(Html, $"<input type=\"hidden\" name=\"{Regex.Escape(name)}\" value=\"([^\"]*)\">");
            Assert.True(match.Success, $"No hidden {name} in {Html}");
            return WebUtility.HtmlDecode(match.Groups[1].Value);
        }
    }

    public async Task<Page> GetAsync(string url)
    {
        var response = await _http.GetAsync(url);
        return new Page(response.StatusCode, await response.Content.ReadAsStringAsync(), response);
    }

    public async Task<Page> PostFormAsync(string url, IDictionary<string, string> fields, IDictionary<string, string>? headers = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new FormUrlEncodedContent(fields) };
        foreach (var (k, v) in headers ?? new Dictionary<string, string>()) request.Headers.TryAddWithoutValidation(k, v);
        var response = await _http.SendAsync(request);
        return new Page(response.StatusCode, await response.Content.ReadAsStringAsync(), response);
    }

    /// <summary>Follows a mailed reset link to the choose-password page, asserting Parse's redirect on the way.</summary>
    public async Task<(Page Page, string Url)> OpenResetLinkAsync(string link)
    {
        var landing = await GetAsync(link);
        Assert.Equal(HttpStatusCode.Redirect, landing.Status);
        var target = new Uri(new Uri(link), landing.Response.Headers.Location!).ToString();
        Assert.Contains("/choose_password?token=", target, StringComparison.Ordinal);
        return (await GetAsync(target), target);
    }

    public void Dispose() => _http.Dispose();
}
