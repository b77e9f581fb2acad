using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using AgeGroupAnomaly.Storage;
using AgeGroupAnomaly.Training;
using Amazon.S3;
using Amazon.S3.Model;
using FluentAssertions;
using NUnit.Framework;

namespace AgeGroupAnomaly.Checkpoints.S3.Tests;

/// <summary>What the S3 store does beyond the common contract, against the real gateway.</summary>
#pragma warning disable CA1001 // [SetUp]/[TearDown] own the client and the store of each test
public sealed class S3CheckpointStoreTests
#pragma warning restore CA1001
{
    private S3CheckpointStoreOptions _options = null!;
    private AmazonS3Client _client = null!;
    private S3CheckpointStore _store = null!;

    [SetUp]
    public void SetUp()
    {
        _options = S3TestServer.OptionsOrIgnore();
        _client = S3CheckpointStore.CreateClient(_options);
        _store = new S3CheckpointStore(_client, _options);
    }

    [TearDown]
    public async Task TearDown()
    {
        if (_client is not null)
        {
            await S3TestServer.DeletePrefixAsync(_client, _options);
            _store.Dispose();
            _client.Dispose();
        }
    }

    [Test]
    public async Task WriteAsync_StoresExactlyTheBytes_AsTheServerSeesThem()
    {
        // Read back with a plain GET, not through the store: no chunk signatures or trailing
        // checksums may end up inside the object (what AWSSDK 4's defaults risk on S3-compatible servers).
        var id = Guid.NewGuid();
        byte[] content = new byte[1_500_001];
        new Random(7).NextBytes(content);

        string location = await _store.WriteAsync(id, content);

        using GetObjectResponse response = await _client.GetObjectAsync(_options.BucketName, _store.ObjectKeyFor(location));
        using var copy = new MemoryStream();
        await response.ResponseStream.CopyToAsync(copy);
        copy.ToArray().Should().Equal(content);
        response.Headers.ContentLength.Should().Be(content.Length);
#pragma warning disable CA5351 // the ETag of a single PUT is the content's MD5
        response.ETag.Trim('"').Should().Be(Convert.ToHexStringLower(MD5.HashData(content)));
#pragma warning restore CA5351
    }

    [Test]
    public async Task WriteAsync_ObjectPutThereByAnotherWriter_ThrowsIOExceptionNamingTheModel()
    {
        var id = Guid.NewGuid();
        await _client.PutObjectAsync(new PutObjectRequest
        {
            BucketName = _options.BucketName,
            Key = _store.ObjectKeyFor(FileCheckpointStore.FileNameFor(id)),
            ContentBody = "someone else's",
        });

        (await FluentActions.Awaiting(() => _store.WriteAsync(id, new byte[] { 1, 2, 3 })).Should().ThrowAsync<IOException>())
            .WithMessage($"*{id}*already stored*");
    }

    [Test]
    public async Task WriteAsync_SameBytesAgain_IsTakenAsTheRetryOfAWriteThatSucceeded()
    {
        // A PUT whose response was lost is retried and meets its own object: not a conflict.
        var id = Guid.NewGuid();
        byte[] content = [5, 6, 7];
        string location = await _store.WriteAsync(id, content);

        (await _store.WriteAsync(id, content)).Should().Be(location);
        (await _store.ReadAsync(id, location)).Should().Equal(content);
    }

    [Test]
    public async Task AnUploadWhoseBytesChangedOnTheWay_IsRefusedAndLeavesNoObject()
    {
        // The store sends Content-MD5 with every PUT; here the digest is of other bytes, as if the body changed in transit.
        string key = _options.KeyPrefix + FileCheckpointStore.FileNameFor(Guid.NewGuid());
        byte[] sent = [1, 2, 3, 4];
#pragma warning disable CA5351 // Content-MD5 is the protocol's transfer check
        string digestOfOtherBytes = Convert.ToBase64String(MD5.HashData(new byte[] { 1, 2, 3, 5 }));
#pragma warning restore CA5351

        (await FluentActions.Awaiting(() => _client.PutObjectAsync(new PutObjectRequest
        {
            BucketName = _options.BucketName,
            Key = key,
            InputStream = new MemoryStream(sent),
            MD5Digest = digestOfOtherBytes,
            UseChunkEncoding = false,
        })).Should().ThrowAsync<AmazonS3Exception>()).Which.ErrorCode.Should().Be("BadDigest");

        (await FluentActions.Awaiting(() => _client.GetObjectMetadataAsync(_options.BucketName, key)).Should().ThrowAsync<AmazonS3Exception>())
            .Which.StatusCode.Should().Be(HttpStatusCode.NotFound);
    }

    [Test]
    public async Task AnUploadCutOffHalfway_LeavesNoObject_WhileTheSameRequestWhole_IsStored()
    {
        // A writer that dies mid-PUT (a SIGKILLed instance): the gateway never shows part of a body.
        byte[] content = new byte[1_000_000];
        new Random(11).NextBytes(content);
        string wholeKey = _options.KeyPrefix + FileCheckpointStore.FileNameFor(Guid.NewGuid());
        string cutKey = _options.KeyPrefix + FileCheckpointStore.FileNameFor(Guid.NewGuid());

        string wholeStatus = await RawPutAsync(wholeKey, content, content.Length);
        string cutStatus = await RawPutAsync(cutKey, content, 100_000);

        wholeStatus.Should().StartWith("HTTP/1.1 200", "the raw request itself is valid");
        TestContext.Out.WriteLine($"cut-off upload answered: '{cutStatus}'");
        (await _client.GetObjectMetadataAsync(_options.BucketName, wholeKey)).ContentLength.Should().Be(content.Length);
        (await FluentActions.Awaiting(() => _client.GetObjectMetadataAsync(_options.BucketName, cutKey)).Should().ThrowAsync<AmazonS3Exception>())
            .Which.StatusCode.Should().Be(HttpStatusCode.NotFound);
    }

    /// <summary>
    /// PUTs through a presigned address on a bare socket, announcing the whole length but sending
    /// only <paramref name="bytesSent"/> bytes before closing; returns the status line (empty when
    /// the server closed without one).
    /// </summary>
    private async Task<string> RawPutAsync(string key, byte[] content, int bytesSent)
    {
        var url = new Uri(await _client.GetPreSignedURLAsync(new GetPreSignedUrlRequest
        {
            BucketName = _options.BucketName,
            Key = key,
            Verb = HttpVerb.PUT,
            Expires = DateTime.UtcNow.AddMinutes(10),
            Protocol = Protocol.HTTP,
        }));
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(url.Host, url.Port);
        NetworkStream stream = tcp.GetStream();
        byte[] head = Encoding.ASCII.GetBytes($"PUT {url.PathAndQuery} HTTP/1.1\r\nHost: {url.Authority}\r\nContent-Length: {content.Length}\r\nConnection: close\r\n\r\n");
        await stream.WriteAsync(head);
        await stream.WriteAsync(content.AsMemory(0, bytesSent));
        tcp.Client.Shutdown(SocketShutdown.Send); // the writer is gone: no more bytes will come
        using var reader = new StreamReader(stream, Encoding.ASCII);
        try
        {
            return await reader.ReadLineAsync() ?? string.Empty;
        }
        catch (IOException)
        {
            return string.Empty; // reset by the server
        }
    }

    [Test]
    public async Task RemoveOrphansAsync_LeavesObjectsThatAreNotCheckpointsAndEverythingOutsideThePrefix()
    {
        string foreignInside = _options.KeyPrefix + "notes.txt";
        string outside = $"outside-{Guid.NewGuid():N}/{Guid.NewGuid():N}.safetensors";
        await _client.PutObjectAsync(new PutObjectRequest { BucketName = _options.BucketName, Key = foreignInside, ContentBody = "x" });
        await _client.PutObjectAsync(new PutObjectRequest { BucketName = _options.BucketName, Key = outside, ContentBody = "x" });
        try
        {
            await _store.WriteAsync(Guid.NewGuid(), new byte[] { 1 });

            (await _store.RemoveOrphansAsync(_ => false, TimeSpan.Zero)).Should().Be(1);

            (await _client.GetObjectMetadataAsync(_options.BucketName, foreignInside)).ContentLength.Should().Be(1);
            (await _client.GetObjectMetadataAsync(_options.BucketName, outside)).ContentLength.Should().Be(1);
        }
        finally
        {
            await _client.DeleteObjectAsync(_options.BucketName, outside);
        }
    }

    [Test]
    public async Task AManagerOverTheStore_TrainsReloadsScoresAndDeletes_AndRefusesATamperedCheckpoint()
    {
        var samples = new InMemoryModelStore();
        var rng = new Random(3);
        await samples.AddSamplesAsync([.. Enumerable.Range(0, 30).Select(_ => new NewSample(5, [.. Enumerable.Range(0, 8).Select(_ => (float)rng.NextDouble())]))]);
        using var manager = new ModelManager(samples, new ModelManagerOptions(), checkpoints: _store);

        AgeGroupTrainingResult trained = await manager.TrainAgeGroupModelAsync(5, 5, new TrainingConfig { HiddenSizes = [4, 2], Epochs = 2 });
        manager.ClearModelCache();
        double loss = (await manager.ScoreAsync(new float[8], 5)).ReconstructionLoss;
        string key = _store.ObjectKeyFor(FileCheckpointStore.FileNameFor(trained.ModelId));
        using (GetObjectResponse stored = await _client.GetObjectAsync(_options.BucketName, key))
        using (var copy = new MemoryStream())
        {
            await stored.ResponseStream.CopyToAsync(copy);
            byte[] tampered = copy.ToArray();
            tampered[^1] ^= 0x01;
            await _client.PutObjectAsync(new PutObjectRequest { BucketName = _options.BucketName, Key = key, InputStream = new MemoryStream(tampered), UseChunkEncoding = false });
        }

        manager.ClearModelCache();

        loss.Should().BeGreaterThan(0, "the model was loaded back from the bucket");
        (await FluentActions.Awaiting(async () => await manager.ScoreAsync(new float[8], 5)).Should().ThrowAsync<ModelLoadingException>())
            .Which.Reason.Should().Be(ModelLoadFailure.ChecksumMismatch, "the library verifies the SHA-256 of whatever the store returns");
        await manager.DeleteAsync(trained.ModelId);
        await FluentActions.Awaiting(() => _client.GetObjectMetadataAsync(_options.BucketName, key)).Should().ThrowAsync<AmazonS3Exception>();
    }
}
