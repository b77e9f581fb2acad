using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace AgeGroupAnomaly.Checkpoints.S3;

/// <summary>
/// Checkpoints as objects in an S3 bucket (AWS S3 or an S3-compatible server such as Ceph radosgw
/// or MinIO), so that several app instances share one set of models. One object per model, named
/// <c>{KeyPrefix}{model id}.safetensors</c>; the location kept in the model record is the name
/// without the prefix, as with <see cref="FileCheckpointStore"/>.
/// </summary>
/// <remarks>
/// <para>
/// Writes are create-only (<c>If-None-Match: *</c>): a second checkpoint for a model id fails with
/// <see cref="IOException"/> and the first stays. A write is one PUT with <c>Content-Length</c> and
/// <c>Content-MD5</c>, so the server stores the whole object or nothing: an interrupted or corrupted
/// upload never becomes visible. The library verifies each checkpoint's SHA-256 after every read,
/// whichever store it came from.
/// </para>
/// <para>
/// The client made from <see cref="S3CheckpointStoreOptions"/> computes and validates the SDK's
/// own checksums only when an operation requires them (<c>WHEN_REQUIRED</c>) and sends unchunked
/// bodies: AWSSDK.S3 4.x otherwise adds trailing CRC checksums in chunked uploads, which several
/// S3-compatible servers reject or store as part of the object. A client passed in should be
/// configured the same way.
/// </para>
/// <para>
/// Orphan removal compares the objects' <c>LastModified</c> (the server's clock) with this
/// machine's clock; a grace period of minutes absorbs ordinary clock skew.
/// </para>
/// </remarks>
public sealed partial class S3CheckpointStore : ICheckpointStore, IDisposable
{
    private readonly IAmazonS3 _client;
    private readonly bool _ownsClient;
    private readonly string _bucket;
    private readonly string _prefix;

    /// <summary>Creates the store with its own client, made from the options.</summary>
    /// <param name="options">Bucket, prefix, endpoint and credentials.</param>
    /// <exception cref="ArgumentException">A setting is missing or invalid.</exception>
    public S3CheckpointStore(S3CheckpointStoreOptions options)
        : this(CreateClient(options), options, ownsClient: true)
    {
    }

    /// <summary>Creates the store over a client the caller owns (and disposes).</summary>
    /// <param name="client">The S3 client; see the remarks on its checksum settings.</param>
    /// <param name="options">Bucket and prefix (the endpoint and credentials settings are not used).</param>
    /// <exception cref="ArgumentException">The bucket or prefix is missing or invalid.</exception>
    public S3CheckpointStore(IAmazonS3 client, S3CheckpointStoreOptions options)
        : this(client, options, ownsClient: false)
    {
    }

    private S3CheckpointStore(IAmazonS3 client, S3CheckpointStoreOptions options, bool ownsClient)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _client = client;
        _ownsClient = ownsClient;
        _bucket = options.BucketName;
        _prefix = options.NormalizedPrefix;
    }

    /// <summary>The bucket holding the checkpoints.</summary>
    public string BucketName => _bucket;

    /// <summary>The prefix of every checkpoint's object key (empty or ending with <c>/</c>).</summary>
    public string KeyPrefix => _prefix;

    /// <summary>The object key of a checkpoint location.</summary>
    /// <param name="location">A location <see cref="WriteAsync"/> returned.</param>
    /// <returns>The key in <see cref="BucketName"/>.</returns>
    public string ObjectKeyFor(string location) => _prefix + location;

    /// <summary>
    /// Makes the client the store uses when given options: path-style addresses for S3-compatible
    /// servers, SDK checksums only where required and no chunked uploads (see the remarks of
    /// <see cref="S3CheckpointStore"/>).
    /// </summary>
    /// <param name="options">Endpoint, region and credentials.</param>
    /// <returns>A new client; the caller disposes it.</returns>
    /// <exception cref="ArgumentException">A setting is missing or invalid.</exception>
    public static AmazonS3Client CreateClient(S3CheckpointStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var config = new AmazonS3Config
        {
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            ForcePathStyle = options.ForcePathStyle ?? options.ServiceUrl is not null,
        };
        if (options.ServiceUrl is null)
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(options.Region);
        }
        else
        {
            config.ServiceURL = options.ServiceUrl.ToString();
            config.AuthenticationRegion = options.Region;
        }

        return string.IsNullOrWhiteSpace(options.AccessKey)
            ? new AmazonS3Client(config)
            : new AmazonS3Client(new BasicAWSCredentials(options.AccessKey, options.SecretKey), config);
    }

    /// <inheritdoc />
    /// <exception cref="IOException">A checkpoint is already stored for the id, or the server refused the upload.</exception>
    public async Task<string> WriteAsync(Guid modelId, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        string location = FileCheckpointStore.FileNameFor(modelId);
        string key = ObjectKeyFor(location);
        byte[] md5 = ContentMd5(content.Span);
        using MemoryStream body = MemoryMarshal.TryGetArray(content, out ArraySegment<byte> segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(content.ToArray(), writable: false);
        var request = new PutObjectRequest
        {
            BucketName = _bucket,
            Key = key,
            InputStream = body,
            AutoCloseStream = false,
            ContentType = "application/octet-stream",
            IfNoneMatch = "*", // create-only: the server refuses to replace an existing checkpoint
            MD5Digest = Convert.ToBase64String(md5), // the server refuses bytes that changed on the way
            UseChunkEncoding = false,
        };
        request.Headers.ContentLength = content.Length;
        try
        {
            await _client.PutObjectAsync(request, cancellationToken).ConfigureAwait(false);
            return location;
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode is HttpStatusCode.PreconditionFailed or HttpStatusCode.Conflict)
        {
            // A retried PUT whose first attempt did succeed also ends here: the same bytes are not a conflict.
            if (await StoredMd5Async(key, cancellationToken).ConfigureAwait(false) is { } stored && stored.SequenceEqual(md5))
            {
                return location;
            }

            throw new IOException($"A checkpoint for model {modelId} is already stored (object '{key}' in bucket '{_bucket}'); checkpoints are never replaced.", ex);
        }
        catch (AmazonServiceException ex)
        {
            throw new IOException($"Storing the checkpoint of model {modelId} as object '{key}' in bucket '{_bucket}' failed: {Describe(ex)}", ex);
        }
    }

    /// <inheritdoc />
    public Task<byte[]> ReadAsync(Guid modelId, string location, CancellationToken cancellationToken = default) =>
        ReadAsync(modelId, location, long.MaxValue, cancellationToken);

    /// <inheritdoc />
    /// <remarks>The object's size comes from the response headers: a larger object is refused before its body is read.</remarks>
    public async Task<byte[]> ReadAsync(Guid modelId, string location, long maxBytes, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        EnsureBelongsTo(modelId, location);
        string key = ObjectKeyFor(location);
        try
        {
            using GetObjectResponse response = await _client.GetObjectAsync(new GetObjectRequest { BucketName = _bucket, Key = key }, cancellationToken).ConfigureAwait(false);
            long length = response.Headers.ContentLength;
            if (length > maxBytes || length > Array.MaxLength)
            {
                throw new ModelLoadingException(
                    modelId,
                    ModelLoadFailure.TooLarge,
                    string.Create(CultureInfo.InvariantCulture, $"the checkpoint '{location}' holds {length} bytes, more than the {Math.Min(maxBytes, Array.MaxLength)} a checkpoint of the recorded architecture can hold; it was not read."));
            }

            if (length < 0)
            {
                throw new ModelLoadingException(modelId, ModelLoadFailure.Unreadable, $"the server sent checkpoint object '{key}' of bucket '{_bucket}' without its length.");
            }

            byte[] bytes = GC.AllocateUninitializedArray<byte>((int)length);
            await response.ResponseStream.ReadExactlyAsync(bytes, cancellationToken).ConfigureAwait(false);
            return bytes;
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            throw new ModelLoadingException(modelId, ModelLoadFailure.MissingFile, $"the checkpoint object '{key}' does not exist in bucket '{_bucket}' ({ex.ErrorCode}).", ex);
        }
        catch (AmazonServiceException ex)
        {
            throw new ModelLoadingException(modelId, ModelLoadFailure.Unreadable, $"the checkpoint object '{key}' in bucket '{_bucket}' cannot be read: {Describe(ex)}", ex);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            throw new ModelLoadingException(modelId, ModelLoadFailure.Unreadable, $"the checkpoint object '{key}' in bucket '{_bucket}' cannot be read: {ex.Message}", ex);
        }
    }

    /// <inheritdoc />
    /// <exception cref="IOException">The server refused the deletion.</exception>
    public async Task DeleteAsync(Guid modelId, string location, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (location != FileCheckpointStore.FileNameFor(modelId))
        {
            return;
        }

        try
        {
            await _client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = _bucket, Key = ObjectKeyFor(location) }, cancellationToken).ConfigureAwait(false);
        }
        catch (AmazonServiceException ex)
        {
            throw new IOException($"Deleting the checkpoint of model {modelId} (object '{ObjectKeyFor(location)}' in bucket '{_bucket}') failed: {Describe(ex)}", ex);
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// Only objects under <see cref="KeyPrefix"/> named as this library names checkpoints are
    /// considered; anything else in the bucket is left alone. A PUT is never partly visible, so
    /// there are no leftovers of interrupted writes to clean.
    /// </remarks>
    public async Task<int> RemoveOrphansAsync(Func<string, bool> isReferenced, TimeSpan gracePeriod, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(isReferenced);
        DateTime cutoff = DateTime.UtcNow - gracePeriod;
        int removed = 0;
        var request = new ListObjectsV2Request { BucketName = _bucket, Prefix = _prefix };
        while (true)
        {
            ListObjectsV2Response page = await _client.ListObjectsV2Async(request, cancellationToken).ConfigureAwait(false);
            foreach (S3Object item in page.S3Objects ?? [])
            {
                cancellationToken.ThrowIfCancellationRequested();
                string name = item.Key[_prefix.Length..];
                if (IsGeneratedName(name) && item.LastModified is { } modified && modified.ToUniversalTime() <= cutoff && !isReferenced(name))
                {
                    await _client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = _bucket, Key = item.Key }, cancellationToken).ConfigureAwait(false);
                    removed++;
                }
            }

            if (page.IsTruncated != true || string.IsNullOrEmpty(page.NextContinuationToken))
            {
                return removed;
            }

            request.ContinuationToken = page.NextContinuationToken;
        }
    }

    /// <summary>Disposes the client when the store made it.</summary>
    public void Dispose()
    {
        if (_ownsClient)
        {
            _client.Dispose();
        }
    }

    /// <summary>
    /// Refuses, as <see cref="ModelLoadFailure.InvalidPath"/>, a location that is not the name
    /// generated for this model (another model's name, a path, extra characters).
    /// </summary>
    private void EnsureBelongsTo(Guid modelId, string location)
    {
        if (string.IsNullOrEmpty(location) || !IsGeneratedName(location))
        {
            throw new ModelLoadingException(modelId, ModelLoadFailure.InvalidPath, $"'{Printable(location)}' is not a checkpoint name this library generates; refusing to read outside '{_prefix}' of bucket '{_bucket}'.");
        }

        if (!string.Equals(location, FileCheckpointStore.FileNameFor(modelId), StringComparison.Ordinal))
        {
            throw new ModelLoadingException(modelId, ModelLoadFailure.InvalidPath, $"'{location}' is another model's checkpoint name; model {modelId} only reads '{FileCheckpointStore.FileNameFor(modelId)}'.");
        }
    }

    /// <summary>The MD5 of a stored object as its ETag gives it (single-PUT objects only), or null.</summary>
    private async Task<byte[]?> StoredMd5Async(string key, CancellationToken cancellationToken)
    {
        try
        {
            GetObjectMetadataResponse head = await _client.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = _bucket, Key = key }, cancellationToken).ConfigureAwait(false);
            string etag = head.ETag?.Trim('"') ?? string.Empty;
            return etag.Length == 32 && etag.All(char.IsAsciiHexDigit) ? Convert.FromHexString(etag) : null;
        }
        catch (AmazonS3Exception)
        {
            return null;
        }
    }

#pragma warning disable CA5351 // Content-MD5 is the S3 protocol's transfer check, not a security hash (SHA-256 guards the checkpoint).
    private static byte[] ContentMd5(ReadOnlySpan<byte> content) => MD5.HashData(content);
#pragma warning restore CA5351

    private static string Describe(AmazonServiceException ex) =>
        string.Create(CultureInfo.InvariantCulture, $"{(int)ex.StatusCode} {ex.ErrorCode} {ex.Message}").Trim();

    private static string Printable(string? text) =>
        text is null ? string.Empty : string.Concat(text.Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString()));

    private static bool IsGeneratedName(string name) => GeneratedName().IsMatch(name);

    [GeneratedRegex(@"\A[0-9a-f]{32}\.safetensors\z", RegexOptions.CultureInvariant)]
    private static partial Regex GeneratedName();
}
