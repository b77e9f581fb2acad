using AgeGroupAnomaly.Tests.Checkpoints;
using Amazon.S3;

namespace AgeGroupAnomaly.Checkpoints.S3.Tests;

/// <summary>The checkpoint-store contract on a real S3 gateway, one fresh key prefix per test.</summary>
public sealed class S3CheckpointStoreContractTests : CheckpointStoreContractTests
{
    private AmazonS3Client? _client;
    private S3CheckpointStoreOptions? _options;

    protected override Task<ICheckpointStore> CreateStoreAsync()
    {
        _options = S3TestServer.OptionsOrIgnore();
        _client = S3CheckpointStore.CreateClient(_options);
        return Task.FromResult<ICheckpointStore>(new S3CheckpointStore(_client, _options));
    }

    protected override async Task DisposeStoreAsync(ICheckpointStore store)
    {
        if (_client is null)
        {
            return;
        }

        using (_client)
        {
            await S3TestServer.DeletePrefixAsync(_client!, _options!);
        }
    }
}
