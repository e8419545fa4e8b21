using Crm.Functions.Core;
using System.Net;
using System.Text;
using System.Text.Json;
using Crm.Functions.Core.Schema;
using Crm.Functions.Core.Triggers;
using Crm.Functions.Crm;
using Crm.Functions.Http;
using Microsoft.Extensions.Options;
using Scalar.AspNetCore;

namespace Crm.Functions.Docs;

/// <summary>
/// The self-describing API under /docs. Every document is rendered from the live schema on each request,
/// so a field added through /schemas shows up at once. They describe structure only (class and field
/// names, types, descriptions), never data, and are public like any API reference.
/// </summary>
internal static class DocsEndpoints
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static void MapDocs(this WebApplication app, bool servesWebApp)
    {
        if (!app.Services.GetRequiredService<IOptions<CrmSettings>>().Value.PublicDocs) return;
        var docs = app.MapGroup("/docs").WithTags("Docs");
        // Every docs page has a way back: to this index, and to the web app when this server serves it (in Azure the
        // Static Web App serves it from another origin, so no link is shown there rather than one that leads nowhere).
        var appLink = !servesWebApp ? "" : "<a href=\"/\">← Back to the app</a>";
        IResult Html(string title, string body, string baseHref = "", bool guide = false) => Page(title, body, appLink, baseHref, guide);
        docs.MapGet("/", () => Html("CRM API documentation", """
            <h1>CRM API documentation</h1>
            <p class="lead">Generated from the live schema: what the server stores, and how an app talks to it.</p>
            <div class="cards">
              <section><h2><a href="docs/erd">Entity-relationship diagram</a></h2><p>The classes and their pointers. <a href="docs/erd.mmd">Mermaid source</a></p></section>
              <section><h2><a href="docs/dictionary">Data dictionary</a></h2><p>Every class and field with its type, and who may do what. <a href="docs/dictionary.md">Markdown</a></p></section>
              <section><h2><a href="docs/playground">API playground</a></h2><p>Try the REST API in the browser. <a href="docs/openapi.json">OpenAPI 3.1</a></p></section>
              <section><h2><a href="docs/guides/">Guides</a></h2><p>React, Next.js, Vue, Angular, Node.js, React Native, .NET, REST, GraphQL, Flutter, Android, iOS.</p></section>
              <section><h2>Typed models</h2><p><a href="docs/models/typescript">TypeScript</a> (Parse JS SDK), <a href="docs/models/csharp">C#</a> (REST),
                <a href="docs/models/dart">Dart</a> (Flutter SDK), <a href="docs/models/swift">Swift</a> (ParseSwift), <a href="docs/models/kotlin">Kotlin</a> (Android SDK).</p></section>
              <section><h2><a href="docs/schema.json">Schema document</a></h2><p>The template format; <code>schema import</code> reads it.</p></section>
            </div>
            """, baseHref: "../")).WithSummary("Documentation index");
        docs.MapGet("/erd.mmd", (SchemaService schemas) => Results.Text(MermaidErd.Build(schemas), "text/plain; charset=utf-8")).WithSummary("Entity-relationship diagram (Mermaid source)");
        docs.MapGet("/erd", (SchemaService schemas) => Html("Entity-relationship diagram",
            "<h1>Entity-relationship diagram</h1><p><a href=\"erd.mmd\">Mermaid source</a> · <a href=\"dictionary\">Data dictionary</a></p>"
            + $"<pre class=\"mermaid\">{WebUtility.HtmlEncode(MermaidErd.Build(schemas))}</pre>"
            + "<script src=\"assets/mermaid.min.js\"></script>"
            + "<script>mermaid.initialize({ startOnLoad: true, securityLevel: 'strict', er: { useMaxWidth: false } });</script>")).WithSummary("Entity-relationship diagram");
        docs.MapGet("/dictionary.md", (SchemaService schemas) => Results.Text(DataDictionary.Markdown(schemas), "text/markdown; charset=utf-8")).WithSummary("Data dictionary (Markdown)");
        docs.MapGet("/dictionary", (SchemaService schemas) => Html("Data dictionary", DataDictionary.Html(schemas))).WithSummary("Data dictionary");
        // Public like the other pages, but class-level permissions and indexes (which /schemas keeps to the master
        // key) only with the master key, so the document still round-trips through "schema import" for operators.
        docs.MapGet("/schema.json", async (HttpContext context, SchemaService schemas, RequestAuthenticator authenticator) =>
            Results.Text(SchemaDocument.Export(schemas, await IsMasterAsync(context, authenticator)).ToJsonString(Indented), "application/json; charset=utf-8"))
            .WithSummary("Schema document (the template format)");
        // Source text, served as plain text with the file name a download should get: a browser shows it, never runs it.
        docs.MapGet("/models/{language}", (string language, string? import, HttpContext context, SchemaService schemas) =>
        {
            if (!TypedModels.Languages.Contains(language))
                return Results.Json(new { code = ParseError.InvalidQuery, error = $"no models for '{Core.Json.Names.Truncate(language)}': {string.Join(", ", TypedModels.Languages)}" }, statusCode: 404);
            if (import is not null && (language != "typescript" || !TypedModels.TypeScriptImports.Contains(import)))
                return Results.Json(new { code = ParseError.InvalidQuery, error = $"import is for typescript, one of: {string.Join(", ", TypedModels.TypeScriptImports)}" }, statusCode: 400);
            context.Response.Headers.ContentDisposition = $"inline; filename=\"{TypedModels.FileName(language)}\"";
            return Results.Text(TypedModels.Build(schemas, language, import ?? "parse"), "text/plain; charset=utf-8");
        }).WithSummary("Typed models of the classes (typescript, csharp, dart, swift, kotlin)");
        // The index at /docs/guides/ (the trailing slash makes the guides' relative links resolve beside it).
        // Routing matches "/docs/guides" and "/docs/guides/" alike; only the second resolves the guides' relative links.
        docs.MapGet("/guides", (HttpContext context) => context.Request.Path.Value!.EndsWith('/')
            ? Html(Guides.Pages["README"].Title, Guides.Pages["README"].Html, guide: true)
            : Results.Redirect("guides/")).WithSummary("Guides for every client stack");
        docs.MapGet("/guides/{name}", (string name) => Guides.Pages.TryGetValue(name, out var page) && name != "README"
            ? Html(page.Title, "<p><a href=\"./\">All guides</a></p>" + page.Html, guide: true)
            : Results.Json(new { code = ParseError.InvalidQuery, error = $"no guide '{Core.Json.Names.Truncate(name)}'" }, statusCode: 404)).WithSummary("One guide");
        docs.MapGet("/openapi.json", (SchemaService schemas, TriggerRegistry triggers, IOptions<ParseSettings> settings, ParseRouter router, EndpointDataSource endpoints) =>
            Results.Text(OpenApiDocument.Build(schemas, settings.Value.MountPath, triggers.FunctionNames, router.Routes, endpoints.Endpoints).ToJsonString(Indented),
                "application/json; charset=utf-8")).WithSummary("This OpenAPI document");
        docs.MapGet("/assets/mermaid.min.js", (HttpContext context) =>
        {
            // Bundled in the assembly: the page must render without internet access (see Docs/Assets/README.md).
            var stream = typeof(DocsEndpoints).Assembly.GetManifestResourceStream("Crm.Functions.Docs.Assets.mermaid.min.js");
            if (stream is null) return Results.NotFound();
            context.Response.Headers.CacheControl = "public, max-age=86400";
            return Results.Stream(stream, "text/javascript; charset=utf-8");
        }).WithSummary("The bundled Mermaid script");

        // Scalar serves its own script from the package (no CDN). The application id is filled in, since
        // every client needs it anyway; the session token is set under Authentication, or obtained with
        // "Log in" (POST /login) on the same page.
        var appId = app.Services.GetRequiredService<IOptions<ParseSettings>>().Value.AppId;
        app.MapScalarApiReference("/docs/playground", options => options
            .WithTitle("CRM API playground")
            .WithOpenApiRoutePattern("/docs/openapi.json")
            .AddPreferredSecuritySchemes("ApplicationId", "SessionToken")
            .AddApiKeyAuthentication("ApplicationId", scheme => scheme.WithValue(appId))
            .EnablePersistentAuthentication()
            .DisableDefaultFonts() // the default fonts come from a CDN: offline they only cost failed requests
            .HideDeveloperTools()) // its toolbar links to hosted services, which have nothing to do with this server
            .WithTags("Docs").WithSummary("API playground");
    }

    /// <summary>Whether the request carries the master key (application id and key as for /parse, same IP rule); any failure is "no".</summary>
    private static async Task<bool> IsMasterAsync(HttpContext context, RequestAuthenticator authenticator)
    {
        if (!context.Request.Headers.ContainsKey("X-Parse-Master-Key")) return false;
        try
        {
            return (await authenticator.AuthenticateAsync(context, default, SessionTokenUse.Ignore, context.RequestAborted)).IsMaster;
        }
        catch (Exception e) when (e is UnauthorizedException or ParseException)
        {
            return false;
        }
    }

    private static IResult Page(string title, string body, string appLink, string baseHref, bool guide) => Results.Content($$"""
        <!doctype html>
        <html lang="en">
        <head>
          <meta charset="utf-8">
          <meta name="viewport" content="width=device-width, initial-scale=1">
          {{(baseHref.Length > 0 ? $"<base href=\"{baseHref}\">" : "")}}
          <title>{{WebUtility.HtmlEncode(title)}}</title>
          <style>
            body { font-family: system-ui, sans-serif; margin: 0 2rem 2rem; color: #1f2328; }
            nav.top { display: flex; gap: 1.5rem; padding: .8rem 0; margin-bottom: 1rem; border-bottom: 1px solid #d0d7de; }
            nav.top a { color: #2456c7; text-decoration: none; font-weight: 600; }
            .lead { color: #57606a; }
            .cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(18rem, 1fr)); gap: 1rem; }
            .cards section { border: 1px solid #d0d7de; border-radius: 10px; padding: .2rem 1rem .6rem; }
            .cards h2 { font-size: 1.1rem; }
            table { border-collapse: collapse; margin-bottom: 2rem; }
            th, td { border: 1px solid #d0d7de; padding: .3rem .6rem; text-align: left; vertical-align: top; }
            th { background: #f6f8fa; }
            {{(guide ? "body { max-width: 60rem; } pre { background: #f6f8fa; padding: .8rem; overflow-x: auto; } code { font-size: .9em; }" : "")}}
          </style>
        </head>
        <body>
        <nav class="top" aria-label="Documentation"><a href="/docs/">Documentation</a>{{appLink}}</nav>
        {{body}}
        </body>
        </html>
        """, "text/html; charset=utf-8", Encoding.UTF8);
}
