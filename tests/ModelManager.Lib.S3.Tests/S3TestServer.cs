using Amazon.S3;
using Amazon.S3.Model;
using NUnit.Framework;

namespace AgeGroupAnomaly.Checkpoints.S3.Tests;

/// <summary>
/// The S3 gateway the tests run against, from the variables <c>.ci/ceph</c> exports (a real Ceph
/// radosgw; there is no mock). Without them the tests are skipped, saying how to start one.
/// </summary>
internal static class S3TestServer
{
    public const string EndpointVariable = "MM_S3_ENDPOINT";
    public const string AccessKeyVariable = "MM_S3_ACCESS_KEY";
    public const string SecretKeyVariable = "MM_S3_SECRET_KEY";
    public const string BucketVariable = "MM_S3_BUCKET";

    /// <summary>Options for a prefix no other test uses; skips the test when no gateway is configured.</summary>
    public static S3CheckpointStoreOptions OptionsOrIgnore()
    {
        string? endpoint = Environment.GetEnvironmentVariable(EndpointVariable);
        string? bucket = Environment.GetEnvironmentVariable(BucketVariable);
        if (string.IsNullOrWhiteSpace(endpoint) || string.IsNullOrWhiteSpace(bucket))
        {
            Assert.Ignore($"No S3 gateway: set {EndpointVariable}, {AccessKeyVariable}, {SecretKeyVariable} and {BucketVariable}, "
                + "or run the tests under `bash .ci/ceph run dotnet test tests/ModelManager.Lib.S3.Tests` (starts a Ceph radosgw on loopback).");
        }

        return new S3CheckpointStoreOptions
        {
            ServiceUrl = new Uri(endpoint!),
            BucketName = bucket!,
            AccessKey = Environment.GetEnvironmentVariable(AccessKeyVariable),
            SecretKey = Environment.GetEnvironmentVariable(SecretKeyVariable),
            KeyPrefix = $"tests/{Guid.NewGuid():N}/",
        };
    }

    /// <summary>Deletes every object under the options' prefix.</summary>
    public static async Task DeletePrefixAsync(IAmazonS3 client, S3CheckpointStoreOptions options)
    {
        var request = new ListObjectsV2Request { BucketName = options.BucketName, Prefix = options.KeyPrefix };
        while (true)
        {
            ListObjectsV2Response page = await client.ListObjectsV2Async(request);
            foreach (S3Object item in page.S3Objects ?? [])
            {
                await client.DeleteObjectAsync(options.BucketName, item.Key);
            }

            if (page.IsTruncated != true)
            {
                return;
            }

            request.ContinuationToken = page.NextContinuationToken;
        }
    }
}
