using System.Net;
using System.Text;
using global::Crm.Functions.Core;
using global::Crm.Functions.Core.Query;
using global::Crm.Functions.Core.Schema;
using global::Crm.Functions.Hosting;

namespace Crm.Functions.Tests.Storage;

/// <summary>
/// Failures the local API server never produces, provoked in front of the real SDK by a handler (the SDK and
/// the store run unchanged), and the start-up validation of the Cosmos settings.
/// </summary>
public sealed class CosmosFailureTests
{
    /// <summary>Answers 429 (request rate too large) to every document query while enabled.</summary>
    private sealed class ThrottlingHandler : DelegatingHandler
    {
        public volatile bool Enabled;
        public int Throttled;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (!Enabled || request.Method != HttpMethod.Post || !request.Headers.Contains("x-ms-documentdb-isquery")) return base.SendAsync(request, cancellationToken);
            Interlocked.Increment(ref Throttled);
            var response = new HttpResponseMessage((HttpStatusCode)429)
            {
                RequestMessage = request,
                Content = new StringContent("""{"code":"TooManyRequests","message":"Request rate is large."}""", Encoding.UTF8, "application/json"),
            };
            response.Headers.Add("x-ms-retry-after-ms", "1");
            response.Headers.Add("x-ms-substatus", "3200");
            response.Headers.Add("x-ms-activity-id", Guid.NewGuid().ToString());
            return Task.FromResult(response);
        }
    }

    [Fact]
    public async Task throttling_that_outlives_the_sdk_retries_is_a_try_again_error_not_a_500()
    {
        var throttle = new ThrottlingHandler();
        await using var store = CosmosTestServer.Instance.CreateStore("failures-" + Guid.NewGuid().ToString("N"), outer: throttle);
        await store.InitializeAsync(CancellationToken.None);
        await store.SaveSchemaAsync(ClassSchema.Create("Deal"), CancellationToken.None);
        throttle.Enabled = true;
        var error = await Assert.ThrowsAsync<ParseException>(() => store.CountAsync("Deal", QueryNode.True, CancellationToken.None));
        Assert.Equal(ParseError.ConnectionFailed, error.Code);
        Assert.True(throttle.Throttled > 1, "the SDK retries throttled requests before giving up");
    }

    [Theory]
    [InlineData(null, null, "Parse:Cosmos:ConnectionString")]
    [InlineData(null, "http://insecure.example", "Parse:Cosmos:Endpoint must be an absolute https URL")]
    [InlineData("AccountEndpoint=https://x.documents.azure.com:443/;AccountKey=a2V5;", null, null)]
    [InlineData(null, "https://x.documents.azure.com:443/", null)]
    public void missing_or_bad_cosmos_settings_fail_start_up_naming_the_setting(string? connectionString, string? endpoint, string? expected)
    {
        var settings = new ParseSettings { Store = "cosmos", MasterKey = "a-long-enough-master-key" };
        settings.Cosmos.ConnectionString = connectionString;
        settings.Cosmos.Endpoint = endpoint;
        var result = new ParseSettingsValidator().Validate(null, settings);
        if (expected is null) Assert.True(result.Succeeded, result.FailureMessage);
        else Assert.Contains(expected, result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task an_endpoint_without_a_key_uses_the_managed_identity_without_contacting_anything()
    {
        // DefaultAzureCredential acquires tokens lazily: building the store must not need a network or a login.
        var store = global::Crm.Functions.Storage.Cosmos.CosmosObjectStore.Create(new CosmosSettings { Endpoint = "https://x.documents.azure.com:443/" }, null);
        Assert.Equal("cosmos", store.Kind);
        await store.DisposeAsync();
    }
}
