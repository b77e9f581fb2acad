namespace AgeGroupAnomaly.Checkpoints.S3;

/// <summary>Where <see cref="S3CheckpointStore"/> keeps checkpoints and how it reaches the server.</summary>
public sealed class S3CheckpointStoreOptions
{
    /// <summary>The bucket; it must exist (the store never creates or deletes buckets).</summary>
    public string BucketName { get; set; } = string.Empty;

    /// <summary>
    /// Prepended to every object key, so one bucket can hold several things (default
    /// <c>checkpoints/</c>); a missing trailing <c>/</c> is added. Empty for the bucket's root.
    /// </summary>
    public string KeyPrefix { get; set; } = "checkpoints/";

    /// <summary>
    /// The endpoint of an S3-compatible server (for example <c>http://127.0.0.1:7480</c> for Ceph
    /// radosgw); null for AWS S3 in <see cref="Region"/>.
    /// </summary>
    public Uri? ServiceUrl { get; set; }

    /// <summary>The region (AWS) or the signing region the server expects; default <c>us-east-1</c>.</summary>
    public string Region { get; set; } = "us-east-1";

    /// <summary>The access key; null (with <see cref="SecretKey"/>) for the SDK's default credential chain.</summary>
    public string? AccessKey { get; set; }

    /// <summary>The secret key that goes with <see cref="AccessKey"/>.</summary>
    public string? SecretKey { get; set; }

    /// <summary>
    /// Path-style addresses (<c>endpoint/bucket/key</c>) rather than virtual-host ones
    /// (<c>bucket.endpoint/key</c>); null for path style exactly when <see cref="ServiceUrl"/> is set,
    /// which is what S3-compatible servers without wildcard DNS need.
    /// </summary>
    public bool? ForcePathStyle { get; set; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting that cannot work.</summary>
    /// <exception cref="ArgumentException">A setting is missing or invalid.</exception>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(BucketName))
        {
            throw new ArgumentException("S3CheckpointStoreOptions.BucketName is empty; give the bucket that holds the checkpoints.", nameof(BucketName));
        }

        if (KeyPrefix is null || KeyPrefix.StartsWith('/'))
        {
            throw new ArgumentException($"S3CheckpointStoreOptions.KeyPrefix '{KeyPrefix}' must not be null or start with '/'; use for example 'checkpoints/' or an empty string.", nameof(KeyPrefix));
        }

        if (string.IsNullOrWhiteSpace(AccessKey) != string.IsNullOrWhiteSpace(SecretKey))
        {
            throw new ArgumentException("S3CheckpointStoreOptions: give both AccessKey and SecretKey, or neither (for the SDK's default credentials).", nameof(AccessKey));
        }

        if (ServiceUrl is { IsAbsoluteUri: false })
        {
            throw new ArgumentException($"S3CheckpointStoreOptions.ServiceUrl '{ServiceUrl}' is not an absolute address.", nameof(ServiceUrl));
        }

        if (string.IsNullOrWhiteSpace(Region))
        {
            throw new ArgumentException("S3CheckpointStoreOptions.Region is empty; S3-compatible servers usually take us-east-1.", nameof(Region));
        }
    }

    /// <summary>The prefix with the trailing slash added when missing.</summary>
    internal string NormalizedPrefix => KeyPrefix.Length == 0 || KeyPrefix.EndsWith('/') ? KeyPrefix : KeyPrefix + "/";
}
