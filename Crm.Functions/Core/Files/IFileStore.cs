namespace Crm.Functions.Core.Files;

/// <summary>
/// Where Parse files are kept: a folder under the data folder, or Azure Blob Storage. Files are written once under a
/// fresh name (the random prefix makes every upload a new name) and then only read or deleted, so a store needs no
/// update or locking. Contents are streamed both ways: no store holds a whole file in memory.
/// </summary>
internal interface IFileStore
{
    /// <summary>Creates what the store needs (folder, container); called once at start.</summary>
    Task InitializeAsync(CancellationToken ct);

    /// <summary>
    /// Stores <paramref name="content"/> under <paramref name="name"/>. Nothing is visible under the name until the
    /// whole content is stored; a content longer than <paramref name="maxBytes"/> throws <see cref="FileTooLargeException"/>
    /// and leaves nothing behind.
    /// </summary>
    Task<StoredFile> SaveAsync(string name, Stream content, FileDetails details, long maxBytes, CancellationToken ct);

    /// <summary>The file's properties, or null when there is none.</summary>
    Task<StoredFile?> GetAsync(string name, CancellationToken ct);

    /// <summary>
    /// A readable, seekable stream over the file (for range requests) with its properties, or null when there is none.
    /// The stream reads lazily: bytes are fetched as they are read.
    /// </summary>
    Task<(StoredFile File, Stream Content)?> OpenReadAsync(string name, CancellationToken ct);

    /// <summary>Deletes the file; false when there was none.</summary>
    Task<bool> DeleteAsync(string name, CancellationToken ct);

    /// <summary>
    /// A URL from which the store itself serves the file until <paramref name="expiresOn"/>, with the given Content-Type
    /// and Content-Disposition (the files door decides both); null when the store cannot hand out such URLs (a folder).
    /// </summary>
    Task<Uri?> DelegatedReadUrlAsync(string name, DateTimeOffset expiresOn, string contentType, string contentDisposition, CancellationToken ct);
}

/// <summary>What an upload says about its file besides the bytes: its type and Parse's metadata and tags.</summary>
internal sealed record FileDetails(string ContentType, IReadOnlyDictionary<string, string> Metadata, IReadOnlyDictionary<string, string> Tags)
{
    public static readonly IReadOnlyDictionary<string, string> None = new Dictionary<string, string>(StringComparer.Ordinal);
}

/// <summary>A stored file's properties. <paramref name="ETag"/> is quoted, as HTTP sends it.</summary>
internal sealed record StoredFile(string Name, long Length, string ETag, DateTimeOffset LastModified, FileDetails Details);

/// <summary>An upload beyond the size limit (Parse:Files:MaxUploadBytes).</summary>
internal sealed class FileTooLargeException(long maxBytes) : Exception($"The file exceeds {maxBytes} bytes.")
{
    public long MaxBytes { get; } = maxBytes;
}
