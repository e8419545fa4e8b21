using System.Text.Json;
using Azure;
using Azure.Identity;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Sas;
using Crm.Functions.Core;
using Crm.Functions.Core.Files;

namespace Crm.Functions.Storage.Files;

/// <summary>
/// Files as block blobs in one container of Azure Blob Storage (Azurite locally). An upload is staged in blocks and
/// committed at the end, so a blob appears whole or not at all; the type is the blob's Content-Type and Parse's
/// metadata and tags ride in the blob's metadata. In Azure the app signs in with its managed identity (shared-key
/// access is off on the account), and read URLs it hands out are user-delegation SAS; with a connection string
/// (Azurite) they are signed with the account key.
/// </summary>
internal sealed class BlobFileStore(BlobServiceClient service, string containerName, TimeProvider time) : IFileStore, IDisposable
{
    private const string MetadataKey = "parsemetadata";
    private const string TagsKey = "parsetags";
    private readonly BlobContainerClient _container = service.GetBlobContainerClient(containerName);
    private readonly SemaphoreSlim _keyLock = new(1, 1);
    private UserDelegationKey? _delegationKey;

    public static BlobFileStore Create(BlobSettings settings, TimeProvider time)
    {
        var options = new BlobClientOptions();
        options.Retry.MaxRetries = 3;
        var service = !string.IsNullOrWhiteSpace(settings.ConnectionString)
            ? new BlobServiceClient(settings.ConnectionString, options)
            : new BlobServiceClient(new Uri(settings.AccountUrl!), new DefaultAzureCredential(), options);
        return new BlobFileStore(service, settings.Container, time);
    }

    public async Task InitializeAsync(CancellationToken ct)
    {
        try
        {
            await _container.CreateIfNotExistsAsync(cancellationToken: ct);
        }
        catch (RequestFailedException e) when (e.Status == 403)
        {
            // An identity with data access only may not create containers; the infrastructure creates this one.
        }
    }

    public async Task<StoredFile> SaveAsync(string name, Stream content, FileDetails details, long maxBytes, CancellationToken ct)
    {
        var blob = Blob(name);
        var options = new BlobUploadOptions
        {
            HttpHeaders = new BlobHttpHeaders { ContentType = details.ContentType },
            Metadata = Metadata(details),
            // Names are fresh (random prefix): an existing blob is never overwritten.
            Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All },
            TransferOptions = new Azure.Storage.StorageTransferOptions { InitialTransferSize = 4 * 1024 * 1024, MaximumTransferSize = 4 * 1024 * 1024, MaximumConcurrency = 2 },
        };
        var limited = new LimitedStream(content, maxBytes);
        var info = await blob.UploadAsync(limited, options, ct);
        return new StoredFile(name, limited.BytesRead, info.Value.ETag.ToString("H"), info.Value.LastModified, details);
    }

    public async Task<StoredFile?> GetAsync(string name, CancellationToken ct)
    {
        try
        {
            var properties = await Blob(name).GetPropertiesAsync(cancellationToken: ct);
            return ToFile(name, properties.Value);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    public async Task<(StoredFile File, Stream Content)?> OpenReadAsync(string name, CancellationToken ct)
    {
        var blob = Blob(name);
        try
        {
            var properties = await blob.GetPropertiesAsync(cancellationToken: ct);
            // Bound to this version of the blob: it is fetched in 1 MB pieces as the response is written.
            var stream = await blob.OpenReadAsync(new BlobOpenReadOptions(allowModifications: false)
            {
                BufferSize = 1024 * 1024,
                Conditions = new BlobRequestConditions { IfMatch = properties.Value.ETag },
            }, ct);
            return (ToFile(name, properties.Value), stream);
        }
        catch (RequestFailedException e) when (e.Status is 404 or 412)
        {
            return null;
        }
    }

    public async Task<bool> DeleteAsync(string name, CancellationToken ct) =>
        (await Blob(name).DeleteIfExistsAsync(DeleteSnapshotsOption.IncludeSnapshots, cancellationToken: ct)).Value;

    public async Task<Uri?> DelegatedReadUrlAsync(string name, DateTimeOffset expiresOn, string contentType, string contentDisposition, CancellationToken ct)
    {
        var blob = Blob(name);
        var sas = new BlobSasBuilder(BlobSasPermissions.Read, expiresOn)
        {
            BlobContainerName = _container.Name,
            BlobName = name,
            Resource = "b",
            Protocol = blob.Uri.Scheme == Uri.UriSchemeHttps ? SasProtocol.Https : SasProtocol.HttpsAndHttp,
            ContentType = contentType,
            ContentDisposition = contentDisposition,
        };
        if (blob.CanGenerateSasUri) return blob.GenerateSasUri(sas);
        var key = await DelegationKeyAsync(expiresOn, ct);
        return new BlobUriBuilder(blob.Uri) { Sas = sas.ToSasQueryParameters(key, service.AccountName) }.ToUri();
    }

    /// <summary>One user-delegation key, valid for a day and renewed when a URL would outlive it (each costs a request to Entra-backed storage).</summary>
    private async Task<UserDelegationKey> DelegationKeyAsync(DateTimeOffset until, CancellationToken ct)
    {
        await _keyLock.WaitAsync(ct);
        try
        {
            if (_delegationKey is null || _delegationKey.SignedExpiresOn < until)
            {
                var now = time.GetUtcNow();
                _delegationKey = (await service.GetUserDelegationKeyAsync(now.AddMinutes(-5), Max(until, now.AddDays(1)), ct)).Value;
            }
            return _delegationKey;
        }
        finally
        {
            _keyLock.Release();
        }
    }

    public void Dispose() => _keyLock.Dispose();

    /// <summary>The blob of a name; names are checked by the files door, and again here (a '/' would make a virtual folder).</summary>
    private BlobClient Blob(string name) =>
        FileNames.IsStoredName(name) ? _container.GetBlobClient(name) : throw new ArgumentException("Not a stored file name.", nameof(name));

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    /// <summary>Blob metadata values are ASCII: Parse's metadata and tags travel as base64url JSON.</summary>
    private static Dictionary<string, string> Metadata(FileDetails details)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (details.Metadata.Count > 0) metadata[MetadataKey] = System.Buffers.Text.Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(details.Metadata));
        if (details.Tags.Count > 0) metadata[TagsKey] = System.Buffers.Text.Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(details.Tags));
        return metadata;
    }

    private static IReadOnlyDictionary<string, string> Decode(IDictionary<string, string> metadata, string key)
    {
        if (!metadata.TryGetValue(key, out var text)) return FileDetails.None;
        try
        {
            return JsonSerializer.Deserialize<Dictionary<string, string>>(System.Buffers.Text.Base64Url.DecodeFromChars(text)) ?? FileDetails.None;
        }
        catch (Exception e) when (e is JsonException or FormatException)
        {
            return FileDetails.None; // written by something else
        }
    }

    private static StoredFile ToFile(string name, BlobProperties p) => new(name, p.ContentLength, p.ETag.ToString("H"), p.LastModified,
        new FileDetails(p.ContentType ?? "application/octet-stream", Decode(p.Metadata, MetadataKey), Decode(p.Metadata, TagsKey)));

    /// <summary>Passes a stream through and stops it past a byte limit (an upload's length is unknown until it ends).</summary>
    private sealed class LimitedStream(Stream inner, long maxBytes) : Stream
    {
        public long BytesRead { get; private set; }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await inner.ReadAsync(buffer, cancellationToken);
            BytesRead += read;
            if (BytesRead > maxBytes) throw new FileTooLargeException(maxBytes);
            return read;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count)
        {
            var read = inner.Read(buffer, offset, count);
            BytesRead += read;
            if (BytesRead > maxBytes) throw new FileTooLargeException(maxBytes);
            return read;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => BytesRead; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

/// <summary>Picks and checks the file store from Parse:Files.</summary>
internal static class FileStores
{
    public static IFileStore Create(ParseSettings settings, string contentRoot, TimeProvider time) => settings.Files.Store switch
    {
        "local" => new LocalFileStore(Path.Combine(Path.GetFullPath(settings.DataFolder, contentRoot), "files")),
        "blob" => BlobFileStore.Create(settings.Files.Blob, time),
        _ => throw new InvalidOperationException($"Setting Parse:Files:Store has an unknown value '{settings.Files.Store}'."),
    };

    public static void Validate(FileSettings f, List<string> errors)
    {
        if (f.Store is not ("local" or "blob")) errors.Add($"Setting Parse:Files:Store must be 'local' or 'blob' (got '{f.Store}').");
        if (f.MaxUploadBytes is <= 0 or > 1024L * 1024 * 1024) errors.Add("Setting Parse:Files:MaxUploadBytes must be between 1 and 1073741824.");
        if (f.SignedUrlLifetimeSeconds is <= 0 or > 7 * 24 * 3600) errors.Add("Setting Parse:Files:SignedUrlLifetimeSeconds must be between 1 and 604800 (7 days, a SAS's limit).");
        if (f.Store != "blob") return;
        if (string.IsNullOrWhiteSpace(f.Blob.ConnectionString) && string.IsNullOrWhiteSpace(f.Blob.AccountUrl))
            errors.Add("Setting Parse:Files:Blob:ConnectionString (env Parse__Files__Blob__ConnectionString) or Parse:Files:Blob:AccountUrl (env Parse__Files__Blob__AccountUrl) is required when Parse:Files:Store is 'blob'.");
        if (!string.IsNullOrWhiteSpace(f.Blob.AccountUrl) && (!Uri.TryCreate(f.Blob.AccountUrl, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps))
            errors.Add($"Setting Parse:Files:Blob:AccountUrl must be an absolute https URL (got '{f.Blob.AccountUrl}').");
        if (!System.Text.RegularExpressions.Regex.IsMatch(f.Blob.Container, "^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$"))
            errors.Add($"Setting Parse:Files:Blob:Container must be a valid container name (got '{f.Blob.Container}').");
    }
}
