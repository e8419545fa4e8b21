using System.Security.Cryptography;
using System.Text.Json;
using Crm.Functions.Core.Files;

namespace Crm.Functions.Storage.Files;

/// <summary>
/// Files in a folder (<c>files/</c> under the data folder): the bytes in <c>files/{name}</c>, the properties beside
/// them in <c>files/.meta/{name}.json</c>. An upload is written to <c>files/.tmp/</c> first and moved into place only
/// when complete (properties first, bytes last), so a reader never sees half a file and a crash leaves only a
/// temporary file behind, which the next start removes.
/// </summary>
internal sealed class LocalFileStore(string folder) : IFileStore
{
    private const int BufferSize = 81920;
    private readonly string _root = Path.GetFullPath(folder);
    private string MetaFolder => Path.Combine(_root, ".meta");
    private string TempFolder => Path.Combine(_root, ".tmp");

    public Task InitializeAsync(CancellationToken ct)
    {
        Directory.CreateDirectory(_root);
        Directory.CreateDirectory(MetaFolder);
        if (Directory.Exists(TempFolder)) Directory.Delete(TempFolder, recursive: true);
        Directory.CreateDirectory(TempFolder);
        return Task.CompletedTask;
    }

    public async Task<StoredFile> SaveAsync(string name, Stream content, FileDetails details, long maxBytes, CancellationToken ct)
    {
        var (path, metaPath) = Paths(name);
        var temp = Path.Combine(TempFolder, Guid.NewGuid().ToString("N"));
        var tempMeta = temp + ".json";
        try
        {
            long length = 0;
            using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
            await using (var output = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, BufferSize, FileOptions.Asynchronous))
            {
                var buffer = new byte[BufferSize];
                int read;
                while ((read = await content.ReadAsync(buffer, ct)) > 0)
                {
                    length += read;
                    if (length > maxBytes) throw new FileTooLargeException(maxBytes);
                    md5.AppendData(buffer, 0, read);
                    await output.WriteAsync(buffer.AsMemory(0, read), ct);
                }
                await output.FlushAsync(ct);
                output.Flush(flushToDisk: true);
            }
            var etag = $"\"{Convert.ToHexStringLower(md5.GetHashAndReset())}\"";
            var properties = new FileProperties(details.ContentType, etag, new Dictionary<string, string>(details.Metadata), new Dictionary<string, string>(details.Tags));
            await File.WriteAllBytesAsync(tempMeta, JsonSerializer.SerializeToUtf8Bytes(properties), ct);
            File.Move(tempMeta, metaPath, overwrite: true);
            File.Move(temp, path, overwrite: false);
            return new StoredFile(name, length, etag, File.GetLastWriteTimeUtc(path), details);
        }
        finally
        {
            File.Delete(temp);
            File.Delete(tempMeta);
        }
    }

    public async Task<StoredFile?> GetAsync(string name, CancellationToken ct)
    {
        var (path, metaPath) = Paths(name);
        var info = new FileInfo(path);
        if (!info.Exists) return null;
        return await ReadPropertiesAsync(name, info, metaPath, ct);
    }

    public async Task<(StoredFile File, Stream Content)?> OpenReadAsync(string name, CancellationToken ct)
    {
        var (path, metaPath) = Paths(name);
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, BufferSize, FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        try
        {
            var file = await ReadPropertiesAsync(name, new FileInfo(path), metaPath, ct);
            return file is null ? null : (file, stream);
        }
        catch
        {
            await stream.DisposeAsync();
            throw;
        }
    }

    public Task<bool> DeleteAsync(string name, CancellationToken ct)
    {
        var (path, metaPath) = Paths(name);
        if (!File.Exists(path)) return Task.FromResult(false);
        File.Delete(path);
        File.Delete(metaPath);
        return Task.FromResult(true);
    }

    public Task<Uri?> DelegatedReadUrlAsync(string name, DateTimeOffset expiresOn, string contentType, string contentDisposition, CancellationToken ct) =>
        Task.FromResult<Uri?>(null);

    private static async Task<StoredFile?> ReadPropertiesAsync(string name, FileInfo info, string metaPath, CancellationToken ct)
    {
        FileProperties? properties;
        try
        {
            await using var meta = File.OpenRead(metaPath);
            properties = await JsonSerializer.DeserializeAsync<FileProperties>(meta, cancellationToken: ct);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null; // deleted between the two reads
        }
        if (properties is null) return null;
        return new StoredFile(name, info.Length, properties.ETag, info.LastWriteTimeUtc,
            new FileDetails(properties.ContentType, properties.Metadata ?? [], properties.Tags ?? []));
    }

    /// <summary>The paths of a name; names are checked by the files door, and again here so no name can leave the folder.</summary>
    private (string Content, string Meta) Paths(string name)
    {
        if (!FileNames.IsStoredName(name)) throw new ArgumentException("Not a stored file name.", nameof(name));
        var path = Path.GetFullPath(Path.Combine(_root, name));
        if (!string.Equals(Path.GetDirectoryName(path), _root, StringComparison.Ordinal)) throw new ArgumentException("Not a stored file name.", nameof(name));
        return (path, Path.Combine(MetaFolder, name + ".json"));
    }

    private sealed record FileProperties(string ContentType, string ETag, Dictionary<string, string>? Metadata, Dictionary<string, string>? Tags);
}
