using System.Net;
using Crm.Functions.Core;
using Crm.Functions.Core.Objects;
using Crm.Functions.Core.Mail;
using Crm.Functions.Core.Query;
using Crm.Functions.Core.Schema;
using Crm.Functions.Core.Triggers;
using Crm.Functions.Core.Users;
using Crm.Functions.GraphQL;
using Crm.Functions.Crm;
using Crm.Functions.Docs;
using Crm.Functions.Http;
using Crm.Functions.LiveQuery;
using Crm.Functions.Mcp;
using Crm.Functions.Realtime;
using Crm.Functions.Core.Store;
using Crm.Functions.Storage.Cosmos;
using Crm.Functions.Storage.Sqlite;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;
using Microsoft.Identity.Web;

namespace Crm.Functions.Hosting;

/// <summary>Wires the server: settings (validated at start), the store, the core, and the Parse routes.</summary>
internal static class ServerSetup
{
    public static void AddCrmServer(this WebApplicationBuilder builder)
    {
        // Run by the Azure Functions host as a custom handler, the app must listen where the host says.
        var port = Environment.GetEnvironmentVariable("FUNCTIONS_CUSTOMHANDLER_PORT");
        if (!string.IsNullOrEmpty(port)) builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        else if (string.IsNullOrEmpty(builder.Configuration["urls"])) builder.WebHost.UseUrls("http://127.0.0.1:1337");

        var settings = builder.Configuration.GetSection(ParseSettings.Section).Get<ParseSettings>() ?? new ParseSettings();
        if (string.IsNullOrEmpty(settings.MasterKey) && builder.Environment.IsDevelopment())
            builder.Configuration[$"{ParseSettings.Section}:MasterKey"] = ParseSettings.DevelopmentMasterKey;

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = Math.Max(2 * settings.Limits.MaxBodyBytes, FilesApi.RequestLimit(settings.Files)) + 1;
            // Kestrel's own refusals are bare (no Parse body), so its hard limits sit well above the configured ones,
            // which WebEdgeMiddleware answers with Parse errors; only grossly oversized requests meet Kestrel's.
            kestrel.Limits.MaxRequestHeadersTotalSize = Math.Max(4 * settings.Limits.MaxRequestHeadersBytes, 64 * 1024);
            kestrel.Limits.MaxRequestLineSize = Math.Max(4 * settings.Limits.MaxUrlBytes, 16 * 1024);
            // Header bytes outside ASCII are read as Latin-1 (HTTP's obs-text) instead of being refused with a bare
            // 400, so the app answers them like any other wrong value (403 for an unknown application id, …).
            kestrel.RequestHeaderEncodingSelector = _ => System.Text.Encoding.Latin1;
        });

        var services = builder.Services;
        // On SIGTERM Kestrel stops accepting and lets in-flight requests finish, for at most this long, before the
        // store is closed; an acknowledged write is then always on disk.
        services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(settings.ShutdownTimeoutSeconds));
        services.AddOptions<ParseSettings>().Bind(builder.Configuration.GetSection(ParseSettings.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ParseSettings>, ParseSettingsValidator>();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<StartupReadiness>();
        // What the application declares about its classes: settings first, then features (the CRM template) add theirs.
        services.AddOptions<ClassDeclarations>().Configure(d => builder.Configuration.GetSection(ClassDeclarations.Section).Bind(d.Classes));
        services.AddSingleton<IObjectStore>(sp => CreateStore(sp.GetRequiredService<IOptions<ParseSettings>>().Value, builder.Environment.ContentRootPath, sp));
        services.AddSingleton<SchemaService>();
        services.AddSingleton<AutomaticIndexes>();
        services.AddSingleton<TriggerRegistry>();
        services.AddSingleton<DataService>();
        services.AddSingleton<Core.Config.GlobalConfig>();
        services.AddSingleton<Core.Requests.DuplicateRequests>();
        services.AddSingleton<Aggregation>();
        services.AddSingleton<SessionService>();
        services.AddSingleton<RoleService>();
        services.AddSingleton<UserService>();
        services.AddSingleton<UserRules>();
        services.AddSingleton<TwoFactor>();
        services.AddSingleton<EntraUsers>();
        services.AddSingleton<AuthRateLimiter>();
        services.AddSingleton<IMailSender, SmtpMailSender>();
        services.AddSingleton<MailTemplates>();
        services.AddSingleton<MailOutbox>();
        services.AddHostedService(sp => sp.GetRequiredService<MailOutbox>());
        services.AddSingleton<MailRateLimiter>();
        services.AddSingleton<AccountEmails>();
        services.AddSingleton<RequestAuthenticator>();
        services.AddSingleton<ParseDoor>();
        services.AddSingleton(sp => Storage.Files.FileStores.Create(sp.GetRequiredService<IOptions<ParseSettings>>().Value, builder.Environment.ContentRootPath,
            sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => new Core.Files.FileUrls(sp.GetRequiredService<IOptions<ParseSettings>>().Value, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => new FilesApi(sp.GetRequiredService<Core.Files.IFileStore>(), sp.GetRequiredService<Core.Files.FileUrls>(),
            sp.GetRequiredService<ParseDoor>(), sp.GetRequiredService<DataService>(), sp.GetRequiredService<IOptions<ParseSettings>>().Value));
        services.AddOptions<GraphQLSettings>().Bind(builder.Configuration.GetSection(GraphQLSettings.Section));
        services.AddSingleton<GraphQLSchemaProvider>();
        services.AddSingleton(BuildRouter);
        builder.AddCrmRealtime();
        builder.AddCrmTelemetry();
        builder.AddCrmLiveQuery();
        services.AddCrm(builder.Configuration);
        builder.AddCrmMcp();
        services.AddCrmWebhooks();
        services.AddCrmHistory();

        // Microsoft Entra ID bearer tokens (tenant, audience, issuer from the AzureAd section).
        var entra = builder.Configuration.GetSection("AzureAd");
        if (!string.IsNullOrEmpty(entra["ClientId"]))
        {
            services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddMicrosoftIdentityWebApi(builder.Configuration, "AzureAd");
        }
    }

    /// <summary>The embedded store's data file: crm.db in the data folder.</summary>
    public static string SqliteFile(ParseSettings settings, string contentRoot) => Path.Combine(Path.GetFullPath(settings.DataFolder, contentRoot), "crm.db");

    private static IObjectStore CreateStore(ParseSettings settings, string contentRoot, IServiceProvider sp) => settings.Store switch
    {
        "sqlite" => new SqliteObjectStore(SqliteFile(settings, contentRoot)),
        // CosmosClientHooks is registered by tests only (local API server certificate, query-plan handler).
        "cosmos" => CosmosObjectStore.Create(settings.Cosmos, sp.GetService<CosmosClientHooks>(), sp.GetRequiredService<IOptions<ClassDeclarations>>().Value),
        _ => throw new InvalidOperationException($"Setting Parse:Store has an unknown value '{settings.Store}'."),
    };

    private static ParseRouter BuildRouter(IServiceProvider sp)
    {
        var router = new ParseRouter();
        var data = sp.GetRequiredService<DataService>();
        var settings = sp.GetRequiredService<IOptions<ParseSettings>>().Value;
        UsersApi.Map(router, data, sp.GetRequiredService<UserService>(), sp.GetRequiredService<SessionService>(), sp.GetRequiredService<AuthRateLimiter>());
        ObjectsApi.Map(router, data);
        ObjectsApi.MapAliases(router, data);
        SchemasApi.Map(router, sp.GetRequiredService<SchemaService>(), data);
        BatchApi.Map(router, settings, data);
        AccountsApi.Map(router, sp.GetRequiredService<AccountEmails>());
        SignInOptionsApi.Map(router, sp.GetRequiredService<AccountEmails>(), settings, sp.GetRequiredService<IConfiguration>());
        ServerApi.Map(router, sp.GetRequiredService<TriggerRegistry>(), sp.GetRequiredService<Core.Webhooks.WebhookRegistry>(), sp.GetRequiredService<Core.Webhooks.WebhookSender>());
        ConfigApi.Map(router, sp.GetRequiredService<Core.Config.GlobalConfig>());
        AggregateApi.Map(router, sp.GetRequiredService<Aggregation>());
        sp.GetRequiredService<FilesApi>().Map(router);
        WebhookSetup.MapWebhooks(router, sp);
        HistorySetup.MapHistory(router, sp);
        return router;
    }

    public static void UseCrmServer(this WebApplication app)
    {
        var settings = app.Services.GetRequiredService<IOptions<ParseSettings>>().Value;
        if (settings.BehindProxy ?? !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("FUNCTIONS_CUSTOMHANDLER_PORT")))
        {
            // Only the nearest hop is trusted (ForwardLimit 1): a client-sent X-Forwarded-For cannot spoof its address.
            var forwarded = new ForwardedHeadersOptions { ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto, ForwardLimit = 1 };
            forwarded.KnownProxies.Add(IPAddress.Loopback);
            forwarded.KnownProxies.Add(IPAddress.IPv6Loopback);
            app.UseForwardedHeaders(forwarded);
        }
        app.UseMiddleware<WebEdgeMiddleware>();
        app.UseMiddleware<StartupGateMiddleware>();
        app.MapLiveQuery();
        app.MapWebPubSubLiveQuery();
        app.MapParseApi();
        app.MapAccountPages(settings);
        app.MapRealtimeApi();
        app.MapGraphQLApi();
        // Found once: the docs pages link back to the web app only when this server serves it.
        var webRoot = WebAppRoot(app);
        app.MapDocs(servesWebApp: webRoot is not null);
        app.MapCrmMcp();
        if (webRoot is not null) app.MapWebApp(settings, webRoot);
    }

    /// <summary>The folder of the built web app this server serves at /, if any (Web:Root overrides the search).</summary>
    private static string? WebAppRoot(WebApplication app)
    {
        string?[] candidates =
        [
            app.Configuration["Web:Root"],
            Path.Combine(AppContext.BaseDirectory, "wwwroot"),
            Path.Combine(app.Environment.ContentRootPath, "wwwroot"),
            Path.Combine(app.Environment.ContentRootPath, "..", "web", "dist"),
        ];
        var root = candidates.FirstOrDefault(c => !string.IsNullOrEmpty(c) && File.Exists(Path.Combine(c, "index.html")));
        return root is null ? null : Path.GetFullPath(root);
    }

    /// <summary>
    /// The web app (web/dist, built by the project; wwwroot/ when published) at /: its files, and index.html for
    /// any other GET path without a file extension (client-side routes), except the server's own prefixes,
    /// which keep their 404s. Mapped only when <see cref="WebAppRoot"/> found a built app.
    /// </summary>
    private static void MapWebApp(this WebApplication app, ParseSettings settings, string root)
    {
        var files = new Microsoft.Extensions.FileProviders.PhysicalFileProvider(root);
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            OnPrepareResponse = c => c.Context.Response.Headers.CacheControl =
                c.Context.Request.Path.StartsWithSegments("/assets") ? "public, max-age=31536000, immutable" : "no-cache",
        });
        string[] reserved =
        [
            settings.MountPath, "/graphql", app.Configuration["GraphQL:Path"] ?? "/graphql", "/docs", "/negotiate", "/realtime",
            "/hubs", app.Configuration["Realtime:HubPath"] ?? "/hubs", "/api", "/mcp", "/.well-known",
        ];
        var index = Path.Combine(root, "index.html");
        // Middleware, not an endpoint: it answers only what no endpoint matched, and the app's route table (which the
        // Functions package mirrors) stays the API's. In Azure the app is a Static Web App instead.
        app.Use(async (context, next) =>
        {
            var path = context.Request.Path;
            if (context.GetEndpoint() is not null
                || !(HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method))
                || Path.HasExtension(path.Value)
                || reserved.Any(r => path.StartsWithSegments(r, StringComparison.OrdinalIgnoreCase)))
            {
                await next(context);
                return;
            }
            context.Response.ContentType = "text/html; charset=utf-8";
            context.Response.Headers.CacheControl = "no-cache";
            await context.Response.SendFileAsync(index);
        });
    }

    /// <summary>
    /// Opens the store, loads the schema and registers the built-in rules; until this has finished, requests are answered
    /// by <see cref="StartupGateMiddleware"/> (503, retry), so it may run after the server listens.
    /// </summary>
    public static async Task InitializeCrmServerAsync(this WebApplication app)
    {
        var sp = app.Services;
        var settings = sp.GetRequiredService<IOptions<ParseSettings>>().Value;
        // Each step's time goes to the log line that says the server is ready: a slow cold start names its step.
        var steps = new List<string>();
        var watch = System.Diagnostics.Stopwatch.StartNew();
        async Task Step(string name, Func<Task> work)
        {
            var before = watch.Elapsed;
            await work();
            steps.Add($"{name} {(watch.Elapsed - before).TotalMilliseconds:0} ms");
        }
        ParseRegex.MatchTimeout = TimeSpan.FromMilliseconds(settings.Limits.RegexTimeoutMilliseconds);
        await Step("store", () => sp.GetRequiredService<IObjectStore>().InitializeAsync(CancellationToken.None));
        await Step("files", () => sp.GetRequiredService<Core.Files.IFileStore>().InitializeAsync(CancellationToken.None));
        await Step("schema", () => sp.GetRequiredService<SchemaService>().InitializeAsync(CancellationToken.None));
        sp.GetRequiredService<AutomaticIndexes>().Start();
        await Step("rules", () =>
        {
            sp.GetRequiredService<UserRules>().Register(sp.GetRequiredService<TriggerRegistry>());
            sp.GetRequiredService<AccountEmails>().Register(sp.GetRequiredService<TriggerRegistry>());
            sp.RegisterRealtimeHooks();
            return Task.CompletedTask;
        });
        await Step("webhooks", () => sp.InitializeWebhooksAsync(CancellationToken.None));
        await Step("template", () => sp.InitializeCrmAsync(CancellationToken.None));
        sp.GetRequiredService<StartupReadiness>().MarkReady();
        var sinceProcessStart = DateTime.Now - System.Diagnostics.Process.GetCurrentProcess().StartTime;
        app.Logger.LogInformation("Ready {SinceStartMs:0} ms after the process started ({Steps})", sinceProcessStart.TotalMilliseconds, string.Join(", ", steps));
    }
}

/// <summary>Fails start-up with a message naming the setting, instead of failing on the first request.</summary>
internal sealed class ParseSettingsValidator : IValidateOptions<ParseSettings>
{
    public ValidateOptionsResult Validate(string? name, ParseSettings s)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(s.AppId)) errors.Add("Setting Parse:AppId (env Parse__AppId) must not be empty.");
        if (string.IsNullOrWhiteSpace(s.MasterKey))
            errors.Add("Setting Parse:MasterKey (env Parse__MasterKey) is required outside Development.");
        else if (s.MasterKey.Length < 12) errors.Add("Setting Parse:MasterKey must be at least 12 characters long.");
        if (!s.MountPath.StartsWith('/') || s.MountPath.Length < 2 || s.MountPath.EndsWith('/'))
            errors.Add($"Setting Parse:MountPath must start with '/' and not end with one (got '{s.MountPath}').");
        if (s.Store is not ("sqlite" or "cosmos")) errors.Add($"Setting Parse:Store must be 'sqlite' or 'cosmos' (got '{s.Store}').");
        foreach (var range in s.EffectiveMasterKeyIps)
            if (!System.Net.IPNetwork.TryParse(range, out _)) errors.Add($"Setting Parse:MasterKeyIps has an invalid CIDR range '{range}'.");
        foreach (var (className, acl) in s.DefaultAcls)
        {
            try { Core.WriteOperations.ParseAcl(System.Text.Json.Nodes.JsonNode.Parse(acl.Replace("$owner", "OwnerPlaceholder1", StringComparison.Ordinal))); }
            catch (Exception e) when (e is System.Text.Json.JsonException or Core.ParseException)
            {
                errors.Add($"Setting Parse:DefaultAcls:{className} is not a valid ACL: {e.Message}");
            }
        }
        if (s.SessionLengthSeconds <= 0) errors.Add("Setting Parse:SessionLengthSeconds must be positive.");
        if (s.ShutdownTimeoutSeconds is <= 0 or > 3600) errors.Add("Setting Parse:ShutdownTimeoutSeconds must be between 1 and 3600.");
        var l = s.Limits;
        if (l.MaxBodyBytes <= 0 || l.DefaultLimit <= 0 || l.MaxLimit <= 0 || l.MaxBatchSize <= 0 || l.MaxInValues <= 0
            || l.MaxOrBranches <= 0 || l.MaxQueryDepth <= 0 || l.RegexTimeoutMilliseconds <= 0 || l.MaxIncludeDepth <= 0
            || l.MaxUrlBytes <= 0 || l.MaxRequestHeadersBytes <= 0 || l.MaxSkip < 0)
            errors.Add("Settings under Parse:Limits must all be positive.");
        if (s.Store == "cosmos") ValidateCosmos(s.Cosmos, errors);
        if (s.Accounts.BcryptCost is < 4 or > 31) errors.Add("Setting Parse:Accounts:BcryptCost must be between 4 and 31.");
        if (s.Accounts.PasswordResetTokenMinutes <= 0 || s.Accounts.EmailVerificationTokenMinutes <= 0)
            errors.Add("Settings Parse:Accounts:PasswordResetTokenMinutes and EmailVerificationTokenMinutes must be positive.");
        ValidateEmail(s, errors);
        Storage.Files.FileStores.Validate(s.Files, errors);
        errors.AddRange(LiveQuerySetup.Validate(s.LiveQuery.WebPubSub));
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void ValidateEmail(ParseSettings s, List<string> errors)
    {
        var e = s.Email;
        if (e.UseTls.ToLowerInvariant() is not ("starttls" or "implicit" or "none"))
            errors.Add($"Setting Parse:Email:UseTls must be 'StartTls', 'Implicit' or 'None' (got '{e.UseTls}').");
        if (e.SmtpPort is <= 0 or > 65535) errors.Add("Setting Parse:Email:SmtpPort must be a TCP port (1-65535).");
        if (!e.Enabled) return;
        if (!MimeKit.MailboxAddress.TryParse(e.From ?? "", out _))
            errors.Add("Setting Parse:Email:From (env Parse__Email__From) must be a mail address, e.g. 'CRM <no-reply@example.com>', when Parse:Email:SmtpHost is set.");
        // Mailed links must not be built from a request's Host header (a forged one would send a victim's token elsewhere).
        if (!Uri.TryCreate(s.PublicServerUrl, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
            errors.Add("Setting Parse:PublicServerUrl (env Parse__PublicServerUrl) must be the absolute URL of the mount path when Parse:Email:SmtpHost is set: mailed links point to it.");
    }

    private static void ValidateCosmos(CosmosSettings c, List<string> errors)
    {
        if (string.IsNullOrWhiteSpace(c.ConnectionString) && string.IsNullOrWhiteSpace(c.Endpoint))
            errors.Add("Setting Parse:Cosmos:ConnectionString (env Parse__Cosmos__ConnectionString) or Parse:Cosmos:Endpoint (env Parse__Cosmos__Endpoint) is required when Parse:Store is 'cosmos'.");
        if (!string.IsNullOrWhiteSpace(c.Endpoint) && (!Uri.TryCreate(c.Endpoint, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps))
            errors.Add($"Setting Parse:Cosmos:Endpoint must be an absolute https URL (got '{c.Endpoint}').");
        if (string.IsNullOrWhiteSpace(c.Database) || c.Database.Length > 255 || c.Database.IndexOfAny(['/', '\\', '?', '#']) >= 0)
            errors.Add("Setting Parse:Cosmos:Database must be a valid Cosmos database id (default 'crm').");
        if (c.ConnectionMode is not ("Direct" or "Gateway"))
            errors.Add($"Setting Parse:Cosmos:ConnectionMode must be 'Direct' or 'Gateway' (got '{c.ConnectionMode}').");
        if (c.MaxSubqueryResults is <= 0 or > 10_000) errors.Add("Setting Parse:Cosmos:MaxSubqueryResults must be between 1 and 10000.");
    }
}
