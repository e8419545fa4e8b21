namespace Crm.Functions.Core;

/// <summary>
/// Every setting the server reads, bound from the "Parse" configuration section, so environment variables
/// work the same locally and in Azure (<c>Parse__AppId</c>, <c>Parse__MasterKey</c>, …).
/// </summary>
internal sealed class ParseSettings
{
    public const string Section = "Parse";

    /// <summary>The master key used when none is configured, in Development only.</summary>
    public const string DevelopmentMasterKey = "crm-dev-master-key";

    public string AppId { get; set; } = "crm";
    public string? MasterKey { get; set; }
    public string MountPath { get; set; } = "/parse";
    public string DataFolder { get; set; } = "./data";
    /// <summary>"sqlite" (embedded, default) or "cosmos".</summary>
    public string Store { get; set; } = "sqlite";
    /// <summary>Public URL of the mount path used in Location headers and file URLs; derived from the request when empty.</summary>
    public string? PublicServerUrl { get; set; }
    /// <summary>CIDR ranges from which the master key is accepted; empty means Parse's default, loopback only.</summary>
    /// <remarks>
    /// Deliberately empty by default: the configuration binder appends configured items to a pre-filled list,
    /// so a default of loopback here would stay allowed even when an operator narrows the list to other ranges.
    /// </remarks>
    public List<string> MasterKeyIps { get; set; } = [];

    /// <summary>The ranges actually enforced: the configured ones, or loopback when none are configured.</summary>
    public IReadOnlyList<string> EffectiveMasterKeyIps => MasterKeyIps.Count > 0 ? MasterKeyIps : ["127.0.0.1/32", "::1/128"];
    /// <summary>
    /// The app sits behind a local reverse proxy (the Azure Functions host forwards every request from
    /// loopback), so the client address is the last X-Forwarded-For entry. On by default when the
    /// Functions host runs the app; without it, every caller would look like 127.0.0.1 and pass MasterKeyIps.
    /// </summary>
    public bool? BehindProxy { get; set; }
    public string? JavaScriptKey { get; set; }
    public string? RestApiKey { get; set; }
    public string? ClientKey { get; set; }
    public string? DotNetKey { get; set; }
    public bool AllowClientClassCreation { get; set; }
    /// <summary>Clients may create, change and delete roles (then CLP and ACL decide); off, only the master key writes _Role.</summary>
    public bool AllowClientRoleWrites { get; set; }
    /// <summary>
    /// ACL given to new objects of a class when the request sends none, as ACL JSON where the key
    /// "$owner" stands for the creating user, e.g. Parse__DefaultAcls__Deal = {"$owner":{"read":true,"write":true}}.
    /// Classes not listed get no ACL (public), as in Parse.
    /// </summary>
    public Dictionary<string, string> DefaultAcls { get; set; } = new(StringComparer.Ordinal);
    public int SessionLengthSeconds { get; set; } = 31_536_000;
    /// <summary>How long a stopping server (SIGTERM) waits for in-flight requests before it closes the store.</summary>
    public int ShutdownTimeoutSeconds { get; set; } = 30;
    public LimitSettings Limits { get; set; } = new();
    public CorsSettings Cors { get; set; } = new();
    public AccountSettings Accounts { get; set; } = new();
    /// <summary>Which Microsoft Entra ID tokens become users (the token itself is validated from the AzureAd section).</summary>
    public EntraSettings Entra { get; set; } = new();
    /// <summary>Used when <see cref="Store"/> is "cosmos".</summary>
    public CosmosSettings Cosmos { get; set; } = new();
    /// <summary>Outgoing mail (password reset, email verification) over SMTP; off while SmtpHost is empty.</summary>
    public EmailSettings Email { get; set; } = new();
    /// <summary>Parse files (<c>/files</c>): where they are kept, who may upload, what, and how their URLs are signed.</summary>
    public FileSettings Files { get; set; } = new();
    /// <summary>De-duplication of retried writes by their <c>X-Parse-Request-Id</c> (Parse's idempotencyOptions).</summary>
    public IdempotencySettings Idempotency { get; set; } = new();
    /// <summary>Where the Parse LiveQuery protocol is served besides the app's own WebSocket (Azure Web PubSub in Azure).</summary>
    public LiveQueryTransportSettings LiveQuery { get; set; } = new();
    public AutomaticIndexSettings AutomaticIndexes { get; set; } = new();
    /// <summary>Outgoing webhooks registered through <c>/hooks</c>: delivery, retries and which addresses they may reach (docs/webhooks.md).</summary>
    public WebhookSettings Webhooks { get; set; } = new();
    /// <summary>The record history: which classes' changes are recorded, and for how long (docs/history.md).</summary>
    public History.HistorySettings History { get; set; } = new();
}

/// <summary>Outgoing webhooks: an outbox written with each change, delivered in the background (docs/webhooks.md).</summary>
internal sealed class WebhookSettings
{
    /// <summary>Attempts before a delivery is dead-lettered.</summary>
    public int MaxAttempts { get; set; } = 8;
    /// <summary>The wait before the first retry; each further retry waits twice as long, up to <see cref="MaxBackoffSeconds"/>.</summary>
    public double InitialBackoffSeconds { get; set; } = 5;
    public double MaxBackoffSeconds { get; set; } = 3600;
    /// <summary>How long one POST to a receiver may take before it counts as failed.</summary>
    public double TimeoutSeconds { get; set; } = 10;
    /// <summary>Deliveries in flight at once to one URL.</summary>
    public int MaxConcurrencyPerUrl { get; set; } = 4;
    /// <summary>How often the outbox is read when no local write woke the dispatcher (other instances' writes, retries).</summary>
    public int PollMilliseconds { get; set; } = 1000;
    /// <summary>Days delivered and dead deliveries are kept (visible at <c>/hooks/deliveries</c>).</summary>
    public int RetentionDays { get; set; } = 7;
    /// <summary>
    /// Receivers on loopback (and plain http to them). Null: allowed in Development only. Private, link-local and other
    /// internal ranges are refused unless <see cref="AllowPrivateNetworks"/>.
    /// </summary>
    public bool? AllowLoopback { get; set; }
    public bool AllowPrivateNetworks { get; set; }
    /// <summary>
    /// Stores that cannot commit the outbox with the change (Cosmos DB) hold an outbox entry until its write is known to
    /// have committed; an entry still held after this long belonged to a crashed write and is settled from the store.
    /// </summary>
    public int HeldGraceSeconds { get; set; } = 60;
    /// <summary>Sent as <c>X-Parse-Webhook-Key</c> to function and trigger URLs, as Parse's webhookKey.</summary>
    public string? WebhookKey { get; set; }
}

/// <summary>
/// Parse's request idempotency: with <see cref="Enabled"/>, a POST or PUT on the routes parse-server guards (objects,
/// users, installations, functions, jobs) carrying an <c>X-Parse-Request-Id</c> already seen within
/// <see cref="TtlSeconds"/> answers 159 "Duplicate request" and does nothing. The ids are kept in the store, so every
/// instance sees them.
/// </summary>
internal sealed class IdempotencySettings
{
    /// <summary>Off by default, as in Parse.</summary>
    public bool Enabled { get; set; }
    /// <summary>How long a request id is remembered (parse-server's ttl, 300 s).</summary>
    public int TtlSeconds { get; set; } = 300;
    /// <summary>
    /// Regular expressions over the path after the mount path (e.g. <c>classes/.*</c>, <c>functions/.*</c>), matched from
    /// its start as parse-server's idempotencyOptions.paths; only guarded routes matching one are de-duplicated. Empty
    /// (the default) means every guarded route.
    /// </summary>
    public List<string> Paths { get; set; } = [];
}

/// <summary>
/// The SMTP relay the account mails go through (Azure Communication Services' SMTP relay, or any provider).
/// With no <see cref="SmtpHost"/> the server sends no mail and the mail routes answer code 108.
/// </summary>
internal sealed class EmailSettings
{
    public string? SmtpHost { get; set; }
    public int SmtpPort { get; set; } = 587;
    /// <summary>"StartTls" (upgrade a plain connection, port 587), "Implicit" (TLS from the start, port 465) or "None" (local relays only).</summary>
    public string UseTls { get; set; } = "StartTls";
    public string? Username { get; set; }
    public string? Password { get; set; }
    /// <summary>The sender, e.g. <c>CRM &lt;no-reply@example.com&gt;</c>.</summary>
    public string? From { get; set; }
    /// <summary>The product name mails and account pages show.</summary>
    public string AppName { get; set; } = "CRM";
    /// <summary>A folder whose files replace the built-in mail templates of the same name (e.g. password_reset.html).</summary>
    public string? TemplatesFolder { get; set; }
    /// <summary>Account mails one address may be sent per hour, whether or not an account has it (no enumeration); 0: no limit.</summary>
    public int MailsPerAddressPerHour { get; set; } = 5;

    public bool Enabled => !string.IsNullOrWhiteSpace(SmtpHost);
}

/// <summary>Parse files: the store behind <c>/files</c>, upload permissions and limits (Parse's <c>fileUpload</c>), signed URLs.</summary>
internal sealed class FileSettings
{
    /// <summary>"local" (the folder <c>files</c> under the data folder, default) or "blob" (Azure Blob Storage).</summary>
    public string Store { get; set; } = "local";
    /// <summary>Signed-in users may upload (Parse's fileUpload.enableForAuthenticatedUser).</summary>
    public bool EnableForAuthenticatedUser { get; set; } = true;
    /// <summary>Anonymous users (authData.anonymous) may upload.</summary>
    public bool EnableForAnonymousUser { get; set; }
    /// <summary>Callers without a session may upload.</summary>
    public bool EnableForPublic { get; set; }
    /// <summary>Largest file accepted, in bytes (20 MB by default, as Parse's maxUploadSize).</summary>
    public long MaxUploadBytes { get; set; } = 20 * 1024 * 1024;
    /// <summary>Extensions (without the dot, case-insensitive) an upload may have; empty: any not in <see cref="BlockedExtensions"/>.</summary>
    public List<string> AllowedExtensions { get; set; } = [];
    /// <summary>
    /// Extensions refused when <see cref="AllowedExtensions"/> is empty; empty means the default list of types a browser
    /// renders as a page (html, svg, xml, …). Empty rather than pre-filled: the configuration binder appends.
    /// </summary>
    public List<string> BlockedExtensions { get; set; } = [];

    /// <summary>The allowed extensions without empty entries (an empty entry in the settings file means none).</summary>
    public IReadOnlyList<string> EffectiveAllowedExtensions => [.. AllowedExtensions.Where(e => !string.IsNullOrWhiteSpace(e)).Select(e => e.Trim().TrimStart('.'))];

    public IReadOnlyList<string> EffectiveBlockedExtensions =>
        BlockedExtensions.Any(e => !string.IsNullOrWhiteSpace(e)) ? [.. BlockedExtensions.Where(e => !string.IsNullOrWhiteSpace(e)).Select(e => e.Trim().TrimStart('.'))] : DefaultBlockedExtensions;

    public static readonly IReadOnlyList<string> DefaultBlockedExtensions =
        ["html", "htm", "shtml", "xhtml", "xht", "mht", "mhtml", "svg", "svgz", "xml", "xsl", "xslt", "js", "mjs", "hta", "swf"];
    /// <summary>File URLs carry an expiring signature, and reads without a valid one are refused (see docs/files.md).</summary>
    public bool SignedUrls { get; set; }
    /// <summary>How long a signed file URL stays valid.</summary>
    public int SignedUrlLifetimeSeconds { get; set; } = 3600;
    /// <summary>Azure Blob Storage, used when <see cref="Store"/> is "blob".</summary>
    public BlobSettings Blob { get; set; } = new();
}

/// <summary>
/// Azure Blob Storage: a connection string (Azurite locally, e.g. <c>UseDevelopmentStorage=true</c>), or an account URL
/// alone (managed identity through DefaultAzureCredential in Azure, where shared-key access is off).
/// </summary>
internal sealed class BlobSettings
{
    public string? ConnectionString { get; set; }
    /// <summary>e.g. https://stcrm.blob.core.windows.net</summary>
    public string? AccountUrl { get; set; }
    public string Container { get; set; } = "files";
}

/// <summary>
/// Azure Cosmos DB for NoSQL. Either a connection string, or an endpoint with a key, or an endpoint alone
/// (managed identity through DefaultAzureCredential).
/// </summary>
internal sealed class CosmosSettings
{
    public string? ConnectionString { get; set; }
    public string? Endpoint { get; set; }
    public string? Key { get; set; }
    public string Database { get; set; } = "crm";
    /// <summary>"Direct" (TCP to the replicas, lowest latency in Azure) or "Gateway" (HTTPS only, e.g. behind strict firewalls).</summary>
    public string ConnectionMode { get; set; } = "Direct";
    /// <summary>Largest id list a sub-query ($inQuery, $select, $relatedTo, relation equality) may resolve to.</summary>
    public int MaxSubqueryResults { get; set; } = 1000;
}

/// <summary>Which validated Entra ID access tokens are accepted as users (Core/Users/EntraUsers).</summary>
internal sealed class EntraSettings
{
    /// <summary>
    /// Tenant ids whose users may call; empty means the tenant named in AzureAd:TenantId alone (none when that is
    /// "common" or "organizations": a multi-tenant app lists its tenants). Empty rather than pre-filled: the binder appends.
    /// </summary>
    public List<string> AllowedTenants { get; set; } = [];
    /// <summary>A delegated scope the token's <c>scp</c> must hold (e.g. access_as_user); empty: any scope.</summary>
    public string? RequiredScope { get; set; }
    /// <summary>An app role the token's <c>roles</c> must hold; empty: none required.</summary>
    public string? RequiredRole { get; set; }
    /// <summary>
    /// Accept app-only tokens (client credentials: no user behind them, no <c>scp</c>). Off by default: a tenant's
    /// service principal would otherwise be given an account like a person.
    /// </summary>
    public bool AllowAppTokens { get; set; }
    /// <summary>
    /// The client id of the web app's own Entra registration (a single-page app), which GET /signInOptions tells the
    /// browser; empty: the API's AzureAd:ClientId, for one registration serving both.
    /// </summary>
    public string? WebClientId { get; set; }
}

/// <summary>Account protection: lockout, password policy, bcrypt cost, and the login/sign-up rate limit.</summary>
internal sealed class AccountSettings
{
    /// <summary>Failed logins before the account locks; 0 turns lockout off.</summary>
    public int LockoutThreshold { get; set; } = 5;
    public int LockoutMinutes { get; set; } = 15;
    public int MinPasswordLength { get; set; } = 8;
    /// <summary>bcrypt work factor; 10 is parse-server's, so migrated hashes verify unchanged.</summary>
    public int BcryptCost { get; set; } = 10;
    /// <summary>Login and sign-up requests allowed per client IP per minute; 0 turns the limit off.</summary>
    public int AuthRequestsPerMinute { get; set; } = 60;
    /// <summary>How long a password reset link works (it works once).</summary>
    public int PasswordResetTokenMinutes { get; set; } = 60;
    /// <summary>Send a verification link on sign-up and on email change; only the link sets <c>emailVerified</c>.</summary>
    public bool VerifyUserEmails { get; set; }
    /// <summary>How long an email verification link works.</summary>
    public int EmailVerificationTokenMinutes { get; set; } = 24 * 60;
    /// <summary>Refuse log-in (code 205) to users whose email is not verified yet; needs VerifyUserEmails.</summary>
    public bool PreventLoginWithUnverifiedEmail { get; set; }
    /// <summary>
    /// Comma-separated role names whose members must use two-factor sign-in (TOTP). Such a member without it can log in
    /// only by enrolling in the same request (authData.mfa {secret, token}); see docs/accounts.md.
    /// </summary>
    public string MfaRequiredRoles { get; set; } = "";
}

/// <summary>Documented limits: each one turns an abusive request into a clear error instead of an accident.</summary>
internal sealed class LimitSettings
{
    public long MaxBodyBytes { get; set; } = 10 * 1024 * 1024;
    /// <summary>All request headers together (names and values); larger ones get 431 with a Parse error.</summary>
    public int MaxRequestHeadersBytes { get; set; } = 32 * 1024;
    /// <summary>Path and query string; longer ones get 414 with a Parse error (send large queries as POST with _method GET).</summary>
    public int MaxUrlBytes { get; set; } = 8 * 1024;
    public int DefaultLimit { get; set; } = 100;
    /// <summary>Larger limits are clamped silently, as parse-server's maxLimit does.</summary>
    public int MaxLimit { get; set; } = 1000;
    public int MaxSkip { get; set; } = 1_000_000;
    public int MaxIncludeDepth { get; set; } = 5;
    public int MaxBatchSize { get; set; } = 50;
    public int MaxInValues { get; set; } = 10_000;
    public int MaxOrBranches { get; set; } = 100;
    public int MaxQueryDepth { get; set; } = 16;
    public int RegexTimeoutMilliseconds { get; set; } = 250;

    // The per-request budget (Core/Requests/RequestBudget): one REST call, a whole /batch, a whole GraphQL
    // document or one real-time evaluation spends from one of these, however it is split.
    /// <summary>Wall time one request may run before it is stopped with code 124.</summary>
    public int RequestTimeoutMilliseconds { get; set; } = 10_000;
    /// <summary>Regex matching time one request may spend across all its statements.</summary>
    public int RegexMillisecondsPerRequest { get; set; } = 1_000;
    /// <summary>Store statements (queries, counts, writes) one request may run.</summary>
    public int MaxStatementsPerRequest { get; set; } = 2_000;
    /// <summary>Objects one request may read or return.</summary>
    public long MaxObjectsPerRequest { get; set; } = 100_000;
    /// <summary>Objects one request may create inside another write (GraphQL createAndAdd, nested pointers).</summary>
    public int MaxNestedCreates { get; set; } = 20;
    /// <summary>Passwords one request (not the master key's) may hash or verify: sign-ups, password changes, log-ins.</summary>
    public int MaxPasswordHashesPerRequest { get; set; } = 5;
    /// <summary>Expensive operations (password hashing, queries with $regex) one caller (user, or IP when anonymous) may run at once.</summary>
    public int MaxExpensivePerCaller { get; set; } = 2;
    /// <summary>How long an expensive operation waits for one of its caller's slots before code 155.</summary>
    public int ExpensiveWaitMilliseconds { get; set; } = 2_000;
    /// <summary>Values in one where, summed over every $in, $all, $or branch and sub-query (the statement's bound values).</summary>
    public int MaxQueryValues { get; set; } = 20_000;
    /// <summary>Fields a class may reach through client writes (the master key's /schemas is not bound by it).</summary>
    public int MaxFieldsPerClass { get; set; } = 500;
    /// <summary>New fields one client write (one object) may add to its class.</summary>
    public int MaxNewFieldsPerWrite { get; set; } = 50;
}

/// <summary>Which browser origins may call the API (CORS). Non-browser clients send no Origin and are not affected.</summary>
internal sealed class CorsSettings
{
    /// <summary>
    /// Allowed origins, e.g. <c>https://crm.example.com</c>; a port of <c>*</c> allows any port, a lone <c>*</c> any origin.
    /// Empty (the default) means the app's own origin and local development pages (http://localhost:*, http://127.0.0.1:*);
    /// empty rather than pre-filled because the configuration binder appends to pre-filled lists.
    /// </summary>
    public List<string> AllowedOrigins { get; set; } = [];

    public IReadOnlyList<string> EffectiveAllowedOrigins => AllowedOrigins.Count > 0 ? AllowedOrigins : ["http://localhost:*", "http://127.0.0.1:*"];
}

/// <summary>The transports of the LiveQuery protocol that are configured here rather than always on.</summary>
internal sealed class LiveQueryTransportSettings
{
    public WebPubSubSettings WebPubSub { get; set; } = new();
}

/// <summary>
/// Azure Web PubSub as the LiveQuery transport (docs/livequery.md, "In Azure"): the service holds the clients'
/// sockets, sends their frames to the app's upstream endpoint, and the app sends events through its REST API.
/// Off while <see cref="Endpoint"/> is empty.
/// </summary>
internal sealed class WebPubSubSettings
{
    /// <summary>The service, e.g. https://crm.webpubsub.azure.com; empty: no Web PubSub.</summary>
    public string? Endpoint { get; set; }
    /// <summary>The hub clients connect to: wss://{host}/client/hubs/{Hub} is the liveQueryServerURL.</summary>
    public string Hub { get; set; } = "livequery";
    /// <summary>
    /// An access key, for local use only (the Azure deployment disables keys): it signs the REST calls and checks the
    /// ce-signature of upstream events. Empty: REST calls carry the app identity's Entra token.
    /// </summary>
    public string? AccessKey { get; set; }
    /// <summary>OpenID metadata base whose keys sign the service's upstream tokens, e.g. https://login.microsoftonline.com/{tenant}/v2.0.</summary>
    public string? UpstreamAuthority { get; set; }
    /// <summary>The audience the hub's event handler asks its token for (its auth.managedIdentity.resource).</summary>
    public string? UpstreamAudience { get; set; }
    /// <summary>Accepted issuers of upstream tokens; empty: the metadata's issuer.</summary>
    public List<string> UpstreamIssuers { get; set; } = [];
    /// <summary>
    /// The object id of the service's managed identity: only its tokens are accepted (a token for the same audience
    /// held by any other identity of the tenant is not). Empty: any identity (only sensible with an audience of your own).
    /// </summary>
    public string? UpstreamPrincipalId { get; set; }

    public bool Enabled => !string.IsNullOrWhiteSpace(Endpoint);
}

/// <summary>Indexes the embedded store makes for query shapes that keep scanning a table (Core/Schema/AutomaticIndexes.cs).</summary>
internal sealed class AutomaticIndexSettings
{
    /// <summary>Off: no index is made automatically; those already made stay until dropped through /schemas.</summary>
    public bool Enabled { get; set; } = true;
    /// <summary>At most this many automatic indexes per class: each one costs every write to the class a little.</summary>
    public int MaxPerClass { get; set; } = 4;
    /// <summary>A read counts as slow when it stepped through at least this many rows of a table scan.</summary>
    public int MinScannedRows { get; set; } = 1000;
    /// <summary>A shape gets its index after this many slow reads within <see cref="WindowMinutes"/>, so one-off queries do not.</summary>
    public int Repeats { get; set; } = 5;
    public int WindowMinutes { get; set; } = 10;
}
