using System.Net;
using System.Security.Cryptography;
using Azure.Storage.Blobs;
using Crm.Functions.Core.Files;
using Crm.Functions.Storage.Files;

namespace Crm.Functions.Tests.Files;

/// <summary>
/// The contract of <see cref="IFileStore"/>, one suite run on every adapter: the folder under the data folder and Azure
/// Blob Storage (on Azurite). Whatever the files door relies on is here: whole-or-nothing writes, the size limit,
/// properties, lazy seekable reads, deletes, and the store's own read URLs where it has them.
/// </summary>
public abstract class FileStoreContract : IAsyncLifetime
{
    private protected IFileStore Store { get; private set; } = null!;

    private protected abstract IFileStore CreateStore();

    /// <summary>Whether the adapter hands out its own read URLs (Blob Storage's SAS).</summary>
    protected abstract bool ServesItself { get; }

    public async Task InitializeAsync()
    {
        Store = CreateStore();
        await Store.InitializeAsync(CancellationToken.None);
    }

    public virtual Task DisposeAsync() => Task.CompletedTask;

    private static FileDetails Details(string type = "application/pdf") => new(type,
        new Dictionary<string, string> { ["owner"] = "alice", ["note"] = "Q3 – proposal" },
        new Dictionary<string, string> { ["deal"] = "D1" });

    private static byte[] Bytes(int length) => RandomNumberGenerator.GetBytes(length);

    private static async Task<byte[]> ReadAllAsync(Stream stream)
    {
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }

    [Fact]
    public async Task a_saved_file_reads_back_with_its_bytes_type_metadata_tags_and_a_quoted_etag()
    {
        var bytes = Bytes(300_000);
        var name = FileNames.NewStoredName("proposal.pdf");
        var saved = await Store.SaveAsync(name, new MemoryStream(bytes), Details(), 1_000_000, CancellationToken.None);
        Assert.Equal(name, saved.Name);
        Assert.Equal(bytes.Length, saved.Length);
        Assert.Matches("^\".+\"$", saved.ETag);

        var info = await Store.GetAsync(name, CancellationToken.None);
        Assert.NotNull(info);
        Assert.Equal(bytes.Length, info.Length);
        Assert.Equal(saved.ETag, info.ETag);
        Assert.Equal("application/pdf", info.Details.ContentType);
        Assert.Equal("alice", info.Details.Metadata["owner"]);
        Assert.Equal("Q3 – proposal", info.Details.Metadata["note"]);
        Assert.Equal("D1", info.Details.Tags["deal"]);

        var opened = await Store.OpenReadAsync(name, CancellationToken.None);
        Assert.NotNull(opened);
        await using var content = opened.Value.Content;
        Assert.Equal(saved.ETag, opened.Value.File.ETag);
        Assert.Equal(bytes, await ReadAllAsync(content));
    }

    [Fact]
    public async Task reads_seek_to_any_offset_for_range_requests()
    {
        var bytes = Bytes(3 * 1024 * 1024 + 17);
        var name = FileNames.NewStoredName("big.bin");
        await Store.SaveAsync(name, new MemoryStream(bytes), Details("application/octet-stream"), 10_000_000, CancellationToken.None);
        var opened = await Store.OpenReadAsync(name, CancellationToken.None);
        await using var content = opened!.Value.Content;
        Assert.True(content.CanSeek);
        Assert.Equal(bytes.Length, content.Length);
        content.Seek(2 * 1024 * 1024 + 5, SeekOrigin.Begin);
        var part = new byte[100];
        await content.ReadExactlyAsync(part);
        Assert.Equal(bytes.AsSpan(2 * 1024 * 1024 + 5, 100).ToArray(), part);
        content.Seek(10, SeekOrigin.Begin);
        await content.ReadExactlyAsync(part);
        Assert.Equal(bytes.AsSpan(10, 100).ToArray(), part);
    }

    [Fact]
    public async Task a_file_over_the_limit_is_refused_and_leaves_nothing_behind()
    {
        var name = FileNames.NewStoredName("too-big.bin");
        // A stream of unknown length, as a chunked upload is: the limit is found while reading.
        var error = await Assert.ThrowsAsync<FileTooLargeException>(() =>
            Store.SaveAsync(name, new UnknownLengthStream(Bytes(5_000_001)), Details(), 5_000_000, CancellationToken.None));
        Assert.Equal(5_000_000, error.MaxBytes);
        Assert.Null(await Store.GetAsync(name, CancellationToken.None));
        Assert.Null(await Store.OpenReadAsync(name, CancellationToken.None));
        // Exactly the limit is fine.
        var exact = await Store.SaveAsync(name, new UnknownLengthStream(Bytes(5_000_000)), Details(), 5_000_000, CancellationToken.None);
        Assert.Equal(5_000_000, exact.Length);
    }

    [Fact]
    public async Task missing_files_are_null_and_deletes_say_whether_there_was_one()
    {
        var name = FileNames.NewStoredName("gone.txt");
        Assert.Null(await Store.GetAsync(name, CancellationToken.None));
        Assert.Null(await Store.OpenReadAsync(name, CancellationToken.None));
        Assert.False(await Store.DeleteAsync(name, CancellationToken.None));

        await Store.SaveAsync(name, new MemoryStream("hello"u8.ToArray()), Details("text/plain"), 100, CancellationToken.None);
        Assert.True(await Store.DeleteAsync(name, CancellationToken.None));
        Assert.Null(await Store.GetAsync(name, CancellationToken.None));
        Assert.Null(await Store.OpenReadAsync(name, CancellationToken.None));
        Assert.False(await Store.DeleteAsync(name, CancellationToken.None));
    }

    [Fact]
    public async Task files_without_metadata_keep_empty_maps_and_their_type()
    {
        var name = FileNames.NewStoredName("plain.txt");
        await Store.SaveAsync(name, new MemoryStream("x"u8.ToArray()), new FileDetails("text/plain; charset=utf-8", FileDetails.None, FileDetails.None), 10, CancellationToken.None);
        var info = await Store.GetAsync(name, CancellationToken.None);
        Assert.Equal("text/plain; charset=utf-8", info!.Details.ContentType);
        Assert.Empty(info.Details.Metadata);
        Assert.Empty(info.Details.Tags);
    }

    [Fact]
    public async Task names_that_could_leave_the_store_are_refused()
    {
        foreach (var name in new[] { "../escape.txt", "a/b.txt", ".hidden", "x\\y.txt" })
            await Assert.ThrowsAnyAsync<Exception>(() => Store.SaveAsync(name, new MemoryStream("x"u8.ToArray()), Details(), 10, CancellationToken.None));
        Assert.False(FileNames.IsStoredName("../escape.txt"));
    }

    [Fact]
    public async Task delegated_read_urls_download_as_attachments_until_they_expire()
    {
        var bytes = Bytes(1000);
        var name = FileNames.NewStoredName("quote.pdf");
        await Store.SaveAsync(name, new MemoryStream(bytes), Details(), 10_000, CancellationToken.None);
        var url = await Store.DelegatedReadUrlAsync(name, DateTimeOffset.UtcNow.AddMinutes(5), "application/pdf", $"attachment; filename={name}", CancellationToken.None);
        if (!ServesItself)
        {
            Assert.Null(url);
            return;
        }
        Assert.NotNull(url);
        using var http = new HttpClient();
        using (var response = await http.GetAsync(url))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(bytes, await response.Content.ReadAsByteArrayAsync());
            Assert.Equal("attachment", response.Content.Headers.ContentDisposition?.DispositionType);
            Assert.Equal("application/pdf", response.Content.Headers.ContentType?.MediaType);
        }
        var expired = await Store.DelegatedReadUrlAsync(name, DateTimeOffset.UtcNow.AddMinutes(-1), "application/pdf", $"attachment; filename={name}", CancellationToken.None);
        using (var refused = await http.GetAsync(expired))
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
    }

    /// <summary>A stream that does not tell its length, like a chunked request body.</summary>
    private sealed class UnknownLengthStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
    }
}

public sealed class LocalFileStoreContractTests : FileStoreContract
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "crm-files-tests", Guid.NewGuid().ToString("N"));

    private protected override IFileStore CreateStore() => new LocalFileStore(_folder);

    protected override bool ServesItself => false;

    [Fact]
    public async Task an_interrupted_upload_leaves_only_a_temporary_file_which_the_next_start_removes()
    {
        var name = FileNames.NewStoredName("cut.bin");
        await Assert.ThrowsAsync<IOException>(() => Store.SaveAsync(name, new FailingStream(), new FileDetails("application/octet-stream", FileDetails.None, FileDetails.None), 10_000_000, CancellationToken.None));
        Assert.Null(await Store.GetAsync(name, CancellationToken.None));
        Assert.Empty(Directory.GetFiles(Path.Combine(_folder, ".tmp")));
        Assert.Empty(Directory.GetFiles(_folder));
    }

    public override Task DisposeAsync()
    {
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
        return Task.CompletedTask;
    }

    /// <summary>A body that breaks off after some bytes, as a dropped connection does.</summary>
    private sealed class FailingStream : Stream
    {
        private int _reads;
        public override int Read(byte[] buffer, int offset, int count) => ++_reads < 3 ? count : throw new IOException("connection reset");
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ++_reads < 3 ? ValueTask.FromResult(buffer.Length) : throw new IOException("connection reset");
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => 0; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

public sealed class BlobFileStoreContractTests : FileStoreContract
{
    private readonly string _container = AzuriteServer.NewContainer();

    private protected override IFileStore CreateStore() =>
        new BlobFileStore(new BlobServiceClient(AzuriteServer.Instance.ConnectionString), _container, TimeProvider.System);

    protected override bool ServesItself => true;

    public override async Task DisposeAsync() =>
        await new BlobServiceClient(AzuriteServer.Instance.ConnectionString).GetBlobContainerClient(_container).DeleteIfExistsAsync();
}
