using System.IO.Compression;
using System.Net;

namespace Crm.Functions.GraphQL;

/// <summary>
/// The GraphiQL page at GET /graphql (browsers only): the npm <c>graphiql</c> bundle, embedded in the assembly
/// and served by the app — no CDN, so it works offline (see GraphiQL/update.sh for how the assets are made).
/// </summary>
internal static class GraphiQLPage
{
    private static readonly Dictionary<string, string> ContentTypes = new(StringComparer.Ordinal)
    {
        ["graphiql.min.js"] = "text/javascript; charset=utf-8",
        ["react.production.min.js"] = "text/javascript; charset=utf-8",
        ["react-dom.production.min.js"] = "text/javascript; charset=utf-8",
        ["graphiql.min.css"] = "text/css; charset=utf-8",
        ["graphiql-init.js"] = "text/javascript; charset=utf-8",
    };

    /// <summary>A browser navigation (HTML accepted, no Parse headers): the page, even with <c>?query=</c>, which it opens.</summary>
    public static bool WantsPage(HttpRequest request) =>
        HttpMethods.IsGet(request.Method) && !request.Headers.ContainsKey("X-Parse-Application-Id")
        && request.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase);

    public static async Task WritePageAsync(HttpContext context, string path, string appId)
    {
        var assets = WebUtility.HtmlEncode(path.TrimEnd('/') + "/assets/");
        var html = $$"""
            <!doctype html>
            <html lang="en">
            <head>
              <meta charset="utf-8">
              <title>GraphiQL · Crm.Functions</title>
              <link rel="stylesheet" href="{{assets}}graphiql.min.css">
              <style>body { margin: 0; } #graphiql { height: 100vh; }</style>
            </head>
            <body data-endpoint="{{WebUtility.HtmlEncode(path)}}" data-app-id="{{WebUtility.HtmlEncode(appId)}}">
              <div id="graphiql">Loading GraphiQL…</div>
              <script src="{{assets}}react.production.min.js"></script>
              <script src="{{assets}}react-dom.production.min.js"></script>
              <script src="{{assets}}graphiql.min.js"></script>
              <script src="{{assets}}graphiql-init.js"></script>
            </body>
            </html>
            """;
        context.Response.ContentType = "text/html; charset=utf-8";
        context.Response.Headers.CacheControl = "no-cache";
        await context.Response.WriteAsync(html, context.RequestAborted);
    }

    public static async Task WriteAssetAsync(HttpContext context, string file)
    {
        if (!ContentTypes.TryGetValue(file, out var contentType))
        {
            context.Response.StatusCode = 404;
            return;
        }
        var assembly = typeof(GraphiQLPage).Assembly;
        var plain = assembly.GetManifestResourceStream("graphiql/" + file);
        var gzipped = plain is null ? assembly.GetManifestResourceStream("graphiql/" + file + ".gz") : null;
        await using var stream = plain ?? gzipped;
        if (stream is null)
        {
            context.Response.StatusCode = 404;
            return;
        }
        context.Response.ContentType = contentType;
        context.Response.Headers.CacheControl = "public, max-age=86400";
        context.Response.Headers.XContentTypeOptions = "nosniff";
        if (gzipped is not null && context.Request.Headers.AcceptEncoding.ToString().Contains("gzip", StringComparison.OrdinalIgnoreCase))
        {
            context.Response.Headers.ContentEncoding = "gzip";
            context.Response.Headers.Vary = "Accept-Encoding";
            await stream.CopyToAsync(context.Response.Body, context.RequestAborted);
            return;
        }
        if (gzipped is not null)
        {
            await using var inflated = new GZipStream(stream, CompressionMode.Decompress);
            await inflated.CopyToAsync(context.Response.Body, context.RequestAborted);
            return;
        }
        await stream.CopyToAsync(context.Response.Body, context.RequestAborted);
    }
}
