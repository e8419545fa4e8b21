using System.Text.Json;
using System.Text.Json.Nodes;
using Crm.Functions.Core;
using Crm.Functions.Core.Files;
using Crm.Functions.Core.Security;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Net.Http.Headers;

namespace Crm.Functions.Http;

/// <summary>
/// Parse files: <c>POST /files/{name}</c> (raw bytes with their Content-Type, or the JS SDK's JSON envelope with
/// base64 content and the credentials inside), <c>GET /files/{appId}/{name}</c> (streamed, with Range and ETag),
/// <c>GET /files/{appId}/metadata/{name}</c> and <c>DELETE /files/{name}</c> (master key). Every request goes
/// through <see cref="ParseDoor"/>. Files are served so that no upload can run in this server's origin: nosniff, a
/// sandboxing Content-Security-Policy, and anything but plain images, text, audio and video as an attachment.
/// </summary>
internal sealed class FilesApi(IFileStore store, FileUrls urls, ParseDoor door, DataService data, ParseSettings settings)
{
    public const string Function = "files";

    /// <summary>Types a browser shows inline without running anything, when the name's extension agrees with the type.</summary>
    private static readonly HashSet<string> InlineTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        "image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/bmp", "text/plain",
        "audio/mpeg", "audio/ogg", "audio/wav", "audio/webm", "video/mp4", "video/webm", "video/ogg",
    };

    private static readonly FileExtensionContentTypeProvider Types = new();
    private readonly FileSettings _files = settings.Files;

    /// <summary>The largest request an upload may send: the JS SDK's base64 envelope of the largest file, and some room for its JSON.</summary>
    public static long RequestLimit(FileSettings files) => files.MaxUploadBytes / 3 * 4 + 8 + 64 * 1024;

    /// <summary>Whether a request is an upload, which may be larger than Parse:Limits:MaxBodyBytes (up to <see cref="RequestLimit"/>).</summary>
    public static bool IsUpload(HttpRequest request, string mountPath) =>
        HttpMethods.IsPost(request.Method) && request.Path.StartsWithSegments(mountPath + "/files", StringComparison.Ordinal);

    public void Map(ParseRouter router)
    {
        router.AddRaw(Function, "POST", "/files", UploadAsync);
        router.AddRaw(Function, "POST", "/files/{filename}", UploadAsync);
        router.AddRaw(Function, "GET", "/files/{appId}/metadata/{filename}", MetadataAsync);
        router.AddRaw(Function, "GET", "/files/{appId}/{filename}", DownloadAsync);
        router.AddRaw(Function, "DELETE", "/files/{filename}", DeleteAsync);
    }

    // ---- upload ---------------------------------------------------------------------------------------------

    private sealed record Upload(Stream Content, string? ContentType, IReadOnlyDictionary<string, string> Metadata, IReadOnlyDictionary<string, string> Tags);

    private Task UploadAsync(HttpContext context, IReadOnlyDictionary<string, string> route)
    {
        var request = context.Request;
        // The JS SDK sends its base64 envelope as text/plain with the credentials inside; a raw upload sends headers.
        var envelopeForm = !request.Headers.ContainsKey("X-Parse-Application-Id") && !request.Headers.ContainsKey("Authorization");
        Upload? upload = null;
        return door.ServeAsync(context, SessionTokenUse.Resolve, async (auth, ct) =>
        {
            var filename = route.GetValueOrDefault("filename") ?? "";
            if (filename.Length == 0) throw new ParseException(ParseError.InvalidFileName, "Filename not provided.");
            if (!FileNames.IsValid(filename)) throw new ParseException(ParseError.InvalidFileName, "Filename contains invalid characters.");
            await CheckPermissionAsync(auth, ct);
            upload ??= RawUpload(request);
            if (request.ContentLength > _files.MaxUploadBytes && !envelopeForm) throw await TooLargeAsync(request);
            if (request.ContentLength == 0) throw EmptyUpload();

            var contentType = ContentType(upload.ContentType, filename);
            var name = WithExtension(filename, contentType);
            CheckExtension(name, contentType);
            var stored = FileNames.NewStoredName(name);
            StoredFile file;
            try
            {
                file = await store.SaveAsync(stored, upload.Content, new FileDetails(contentType, upload.Metadata, upload.Tags), _files.MaxUploadBytes, ct);
            }
            catch (FileTooLargeException)
            {
                throw await TooLargeAsync(request);
            }
            if (file.Length == 0)
            {
                await store.DeleteAsync(stored, CancellationToken.None);
                throw EmptyUpload();
            }
            var url = urls.For(stored);
            return ApiResult.Created(new JsonObject { ["url"] = url, ["name"] = stored }, url);
        }, readEnvelope: envelopeForm ? async ct =>
        {
            var (parsed, credentials) = await ReadEnvelopeAsync(request, ct);
            upload = parsed;
            return credentials;
        } : null);
    }

    /// <summary>Parse's fileUpload options: the master key always, else public, anonymous users and signed-in users as configured.</summary>
    private async Task CheckPermissionAsync(Auth auth, CancellationToken ct)
    {
        if (auth.IsMaster) return;
        if (auth.UserId is null)
        {
            if (!_files.EnableForPublic) throw new ParseException(ParseError.FileSaveError, "File upload by public is disabled.");
            return;
        }
        var anonymous = _files.EnableForAnonymousUser != _files.EnableForAuthenticatedUser && await IsAnonymousUserAsync(auth.UserId, ct);
        if (anonymous && !_files.EnableForAnonymousUser) throw new ParseException(ParseError.FileSaveError, "File upload by anonymous user is disabled.");
        if (!anonymous && !_files.EnableForAuthenticatedUser) throw new ParseException(ParseError.FileSaveError, "File upload by authenticated user is disabled.");
    }

    /// <summary>An anonymous user is one whose only sign-in is Parse's anonymous provider (authData.anonymous).</summary>
    private async Task<bool> IsAnonymousUserAsync(string userId, CancellationToken ct)
    {
        var user = await data.GetAsync(Auth.Master, "_User", userId, null, ct);
        return user["authData"] is JsonObject authData && authData.ContainsKey("anonymous") && authData.Count == 1;
    }

    private static Upload RawUpload(HttpRequest request)
    {
        var metadata = HeaderObject(request, "X-Parse-File-Metadata");
        var tags = HeaderObject(request, "X-Parse-File-Tags");
        return new Upload(request.Body, request.ContentType, metadata, tags);
    }

    /// <summary>The JS SDK's saveBinary sends metadata and tags as JSON headers.</summary>
    private static IReadOnlyDictionary<string, string> HeaderObject(HttpRequest request, string header)
    {
        var text = request.Headers[header].ToString();
        if (text.Length == 0) return FileDetails.None;
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(text, documentOptions: ParseRequestReader.JsonLimits);
            ParseRequestReader.RefuseLoneSurrogates(node);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new ParseException(ParseError.InvalidJson, $"{header} is not a JSON object.");
        }
        return Strings(node, header);
    }

    /// <summary>
    /// The JS SDK's JSON form: <c>{"base64", "_ContentType", "fileData": {"metadata", "tags"}, "_ApplicationId", …}</c>.
    /// It has to be read whole to reach the credentials, so it is bounded by <see cref="RequestLimit"/>.
    /// </summary>
    private async Task<(Upload Upload, Credentials Credentials)> ReadEnvelopeAsync(HttpRequest request, CancellationToken ct)
    {
        var limit = RequestLimit(_files);
        if (request.ContentLength > limit) throw await TooLargeAsync(request);
        using var buffer = new MemoryStream();
        try
        {
            await request.Body.CopyToAsync(new LimitedWriteStream(buffer, limit), ct);
        }
        catch (Exception e) when (e is FileTooLargeException or BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge })
        {
            throw await TooLargeAsync(request);
        }
        if (buffer.Length == 0) throw EmptyUpload();
        JsonDocument document;
        try { document = JsonDocument.Parse(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), ParseRequestReader.JsonLimits); }
        catch (JsonException) { throw new ParseException(ParseError.InvalidJson, "Invalid JSON in the request body."); }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object) throw new ParseException(ParseError.InvalidJson, "The request body must be a JSON object.");
            var rest = new JsonObject();
            byte[]? bytes = null;
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.NameEquals("base64"))
                {
                    if (property.Value.ValueKind != JsonValueKind.String || !property.Value.TryGetBytesFromBase64(out bytes))
                        throw new ParseException(ParseError.FileSaveError, "Invalid file upload: base64 is not valid base64 text.");
                }
                else rest[property.Name] = JsonNode.Parse(property.Value.GetRawText(), documentOptions: ParseRequestReader.JsonLimits);
            }
            ParseRequestReader.RefuseLoneSurrogates(rest);
            var contentType = rest["_ContentType"] is JsonValue t && t.TryGetValue(out string? type) ? type : null;
            var fileData = rest["fileData"] as JsonObject;
            var credentials = ParseRequestReader.TakeEnvelope(rest);
            if (bytes is null) throw EmptyUpload();
            var upload = new Upload(new MemoryStream(bytes, writable: false), contentType,
                Strings(fileData?["metadata"], "fileData.metadata"), Strings(fileData?["tags"], "fileData.tags"));
            return (upload, credentials);
        }
    }

    /// <summary>Parse's metadata and tags are string maps; other JSON values are kept as their JSON text. At most 4 KB of them.</summary>
    private static IReadOnlyDictionary<string, string> Strings(JsonNode? node, string what)
    {
        if (node is null) return FileDetails.None;
        if (node is not JsonObject o) throw new ParseException(ParseError.InvalidJson, $"{what} must be an object.");
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in o)
            map[key] = value is JsonValue v && v.TryGetValue(out string? s) ? s : value?.ToJsonString() ?? "null";
        if (map.Sum(kv => kv.Key.Length + kv.Value.Length) > 4096) throw new ParseException(ParseError.FileSaveError, $"{what} is larger than 4 KB.");
        return map;
    }

    /// <summary>
    /// The type stored with a file: the one sent when it is a well-formed media type (kept with its charset only), else
    /// the type of the name's extension, else application/octet-stream. A malformed type is refused.
    /// </summary>
    private static string ContentType(string? sent, string filename)
    {
        if (string.IsNullOrWhiteSpace(sent))
            return Types.TryGetContentType(filename, out var byName) ? byName : "application/octet-stream";
        if (!MediaTypeHeaderValue.TryParse(sent, out var parsed) || parsed.MediaType.Value is not { } media || media.Contains('*', StringComparison.Ordinal)
            || sent.Length > 256)
            throw new ParseException(ParseError.FileSaveError, "Invalid file upload: the Content-Type is not a media type.");
        var type = media.ToLowerInvariant();
        return parsed.Charset.HasValue && parsed.Charset.Value!.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')
            ? $"{type}; charset={parsed.Charset.Value.ToLowerInvariant()}" : type;
    }

    private static string MediaType(string contentType) => contentType.Split(';')[0].Trim();

    /// <summary>A name without an extension gets the one of its type, as Parse does (<c>report</c> sent as PDF becomes <c>report.pdf</c>).</summary>
    private static string WithExtension(string filename, string contentType)
    {
        if (FileNames.Extension(filename).Length > 0) return filename;
        var extension = ExtensionOf(MediaType(contentType));
        return extension is null || filename.Length + extension.Length > FileNames.MaxLength ? filename : filename + extension;
    }

    private static string? ExtensionOf(string mediaType) => CommonExtensions.GetValueOrDefault(mediaType);

    /// <summary>The usual extension of common types (a type such as text/plain has dozens in the registry).</summary>
    private static readonly Dictionary<string, string> CommonExtensions = new(StringComparer.OrdinalIgnoreCase)
    {
        ["application/pdf"] = ".pdf", ["image/png"] = ".png", ["image/jpeg"] = ".jpg", ["image/gif"] = ".gif", ["image/webp"] = ".webp",
        ["text/plain"] = ".txt", ["text/csv"] = ".csv", ["application/json"] = ".json", ["application/zip"] = ".zip",
        ["application/vnd.openxmlformats-officedocument.wordprocessingml.document"] = ".docx",
        ["application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"] = ".xlsx",
        ["application/vnd.openxmlformats-officedocument.presentationml.presentation"] = ".pptx",
        ["audio/mpeg"] = ".mp3", ["video/mp4"] = ".mp4",
    };

    /// <summary>
    /// Parse:Files:AllowedExtensions / BlockedExtensions, applied to the name's extension and to the extensions of the
    /// type sent, so that <c>notes.txt</c> sent as text/html is refused like <c>notes.html</c>.
    /// </summary>
    private void CheckExtension(string name, string contentType)
    {
        var extension = FileNames.Extension(name);
        var media = MediaType(contentType);
        var typeExtensions = Types.Mappings.Where(m => string.Equals(m.Value, media, StringComparison.OrdinalIgnoreCase)).Select(m => m.Key.TrimStart('.').ToLowerInvariant()).ToList();
        var allowed = _files.EffectiveAllowedExtensions;
        if (allowed.Count > 0)
        {
            if (!allowed.Contains(extension, StringComparer.OrdinalIgnoreCase))
                throw new ParseException(ParseError.FileSaveError, $"File upload of extension {Shown(extension)} is disabled.");
            return;
        }
        var blocked = _files.EffectiveBlockedExtensions;
        var refused = blocked.Contains(extension, StringComparer.OrdinalIgnoreCase) ? extension
            : typeExtensions.FirstOrDefault(e => blocked.Contains(e, StringComparer.OrdinalIgnoreCase));
        if (refused is not null) throw new ParseException(ParseError.FileSaveError, $"File upload of extension {Shown(refused)} is disabled.");
        if (IsActive(media)) throw new ParseException(ParseError.FileSaveError, $"File upload of type {Names(media)} is disabled.");
    }

    private static string Shown(string extension) => extension.Length == 0 ? "(none)" : Names(extension);

    private static string Names(string value) => Core.Json.Names.Truncate(value);

    /// <summary>Types a browser may run as a page or a script; never stored when extensions are not listed, never served as themselves.</summary>
    private static bool IsActive(string media) =>
        media.Contains("html", StringComparison.OrdinalIgnoreCase) || media.Contains("xml", StringComparison.OrdinalIgnoreCase)
        || media.Contains("script", StringComparison.OrdinalIgnoreCase) || media.Contains("svg", StringComparison.OrdinalIgnoreCase)
        || media.StartsWith("multipart/", StringComparison.OrdinalIgnoreCase) || media.Equals("text/css", StringComparison.OrdinalIgnoreCase)
        || media.Equals("application/x-shockwave-flash", StringComparison.OrdinalIgnoreCase);

    private static ParseException EmptyUpload() => new(ParseError.FileSaveError, "Invalid file upload.");

    /// <summary>413 with code 130; the rest of the body is read first, so the client sees the answer rather than a reset connection.</summary>
    private async Task<ParseException> TooLargeAsync(HttpRequest request)
    {
        var sink = new byte[64 * 1024];
        try { while (await request.Body.ReadAsync(sink, request.HttpContext.RequestAborted) > 0) { } }
        catch (BadHttpRequestException) { request.HttpContext.Response.Headers.Connection = "close"; }
        return new ParseException(ParseError.FileSaveError, $"File size exceeds maximum allowed: {_files.MaxUploadBytes} bytes (Parse:Files:MaxUploadBytes).", StatusCodes.Status413PayloadTooLarge);
    }

    // ---- download -------------------------------------------------------------------------------------------

    /// <summary>
    /// File reads need no credentials, as in Parse (browsers load them from img and a tags): the app id is in the path.
    /// With the master key in headers the caller is resolved (signed URLs are not needed then).
    /// </summary>
    private static Auth? Caller(HttpRequest request) =>
        request.Headers.ContainsKey("X-Parse-Application-Id") || request.Headers.ContainsKey("X-Parse-Master-Key") ? null : Auth.Anonymous;

    /// <summary>The app id of the path, and with signed URLs a valid signature (or the master key); the signature's expiry, if any.</summary>
    private DateTimeOffset? CheckRead(HttpRequest request, Auth auth, IReadOnlyDictionary<string, string> route, string name)
    {
        if (!string.Equals(route.GetValueOrDefault("appId"), settings.AppId, StringComparison.Ordinal)) throw new UnauthorizedException();
        if (!FileNames.IsStoredName(name)) throw FileNotFound();
        if (!urls.Signed || auth.IsMaster) return null;
        return urls.Verify(name, request.Query["expires"], request.Query["signature"])
               ?? throw new UnauthorizedException("This file URL is not signed or has expired.");
    }

    private static ParseException FileNotFound() => new(ParseError.ObjectNotFound, "File not found.");

    private Task DownloadAsync(HttpContext context, IReadOnlyDictionary<string, string> route) =>
        door.ServeAsync(context, SessionTokenUse.Resolve, async (auth, ct) =>
        {
            var name = route.GetValueOrDefault("filename") ?? "";
            var expires = CheckRead(context.Request, auth, route, name);
            if (expires is { } until)
            {
                // A store that serves files itself (Blob Storage) answers signed reads with a URL of its own, as short-lived.
                var file = await store.GetAsync(name, ct) ?? throw FileNotFound();
                var (type, shown) = Serving(file);
                if (await store.DelegatedReadUrlAsync(name, until, type, Disposition(shown, name), ct) is { } direct)
                {
                    context.Response.Headers.CacheControl = "no-store";
                    context.Response.Redirect(direct.AbsoluteUri);
                    return null;
                }
            }
            var opened = await store.OpenReadAsync(name, ct) ?? throw FileNotFound();
            await using var content = opened.Content;
            var (contentType, inline) = Serving(opened.File);
            var headers = context.Response.Headers;
            headers.XContentTypeOptions = "nosniff";
            headers.ContentSecurityPolicy = "default-src 'none'; sandbox";
            headers.CacheControl = urls.Signed ? "private, max-age=300" : "public, max-age=86400";
            headers.ContentDisposition = Disposition(inline, name);
            if (Unsatisfiable(context.Request, opened.File.Length))
            {
                // The range executor would answer a bare 416; clients get the same error shape as everywhere else.
                headers.ContentRange = $"bytes */{opened.File.Length}";
                return new ApiResult(StatusCodes.Status416RangeNotSatisfiable, ErrorResponses.Body(ParseError.InvalidValue, "The requested range is not satisfiable."));
            }
            var result = Results.Stream(content, contentType, lastModified: opened.File.LastModified,
                entityTag: EntityTagHeaderValue.Parse(opened.File.ETag), enableRangeProcessing: true);
            await result.ExecuteAsync(context);
            return null;
        }, caller: Caller(context.Request));

    /// <summary>A Range header none of whose ranges overlaps the file (a malformed one is ignored, as HTTP says).</summary>
    private static bool Unsatisfiable(HttpRequest request, long length)
    {
        var range = request.GetTypedHeaders().Range;
        if (range is null || range.Ranges.Count == 0 || !string.Equals(range.Unit.Value, "bytes", StringComparison.OrdinalIgnoreCase)) return false;
        return range.Ranges.All(r => r.From is { } from ? from >= length : r.To is 0 || length == 0);
    }

    private static string Disposition(bool inline, string name) => new ContentDispositionHeaderValue(inline ? "inline" : "attachment") { FileName = name }.ToString();

    /// <summary>
    /// How a file is served: its stored type unless that type is active content (then application/octet-stream), and
    /// inline only for plain images, text, audio and video whose name's extension names that very type.
    /// </summary>
    private static (string ContentType, bool Inline) Serving(StoredFile file)
    {
        var stored = file.Details.ContentType;
        var media = MediaType(stored);
        if (IsActive(media) || !MediaTypeHeaderValue.TryParse(stored, out _)) return ("application/octet-stream", false);
        var byName = FileNames.Extension(file.Name).Length > 0 && Types.TryGetContentType(file.Name, out var t) ? t : null;
        return (stored, byName is not null && InlineTypes.Contains(media) && string.Equals(byName, media, StringComparison.OrdinalIgnoreCase));
    }

    private Task MetadataAsync(HttpContext context, IReadOnlyDictionary<string, string> route) =>
        door.ServeAsync(context, SessionTokenUse.Resolve, async (auth, ct) =>
        {
            var name = route.GetValueOrDefault("filename") ?? "";
            CheckRead(context.Request, auth, route, name);
            // Parse answers {} for a file it does not know.
            var file = await store.GetAsync(name, ct);
            if (file is null) return ApiResult.Ok(new JsonObject());
            var metadata = new JsonObject();
            foreach (var (key, value) in file.Details.Metadata) metadata[key] = value;
            var tags = new JsonObject();
            foreach (var (key, value) in file.Details.Tags) tags[key] = value;
            return ApiResult.Ok(new JsonObject
            {
                ["metadata"] = metadata, ["tags"] = tags, ["contentType"] = file.Details.ContentType, ["size"] = file.Length,
            });
        }, caller: Caller(context.Request));

    private Task DeleteAsync(HttpContext context, IReadOnlyDictionary<string, string> route) =>
        door.ServeAsync(context, SessionTokenUse.Resolve, async (auth, ct) =>
        {
            RequestAuthenticator.RequireMaster(auth);
            var name = route.GetValueOrDefault("filename") ?? "";
            if (!FileNames.IsStoredName(name) || !await store.DeleteAsync(name, ct))
                throw new ParseException(ParseError.FileDeleteError, "Could not delete file.");
            return ApiResult.Empty();
        });

    /// <summary>A write-only stream over a buffer that stops past a byte limit.</summary>
    private sealed class LimitedWriteStream(MemoryStream inner, long maxBytes) : Stream
    {
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (inner.Length + buffer.Length > maxBytes) throw new FileTooLargeException(maxBytes);
            inner.Write(buffer);
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Write(buffer.Span);
            return ValueTask.CompletedTask;
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => inner.Length;
        public override long Position { get => inner.Length; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
