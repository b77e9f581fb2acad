using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using FluentAssertions;
using NUnit.Framework;

namespace AgeGroupAnomaly.Checkpoints.S3.Tests;

/// <summary>Settings and registration; no server needed.</summary>
public sealed class S3CheckpointStoreOptionsTests
{
    [Test]
    public void Validate_WithoutABucket_ThrowsNamingTheSetting()
    {
        FluentActions.Invoking(() => new S3CheckpointStoreOptions().Validate())
            .Should().Throw<ArgumentException>().WithMessage("*BucketName*");
    }

    [TestCase("/checkpoints/", "KeyPrefix")]
    [TestCase("checkpoints/", "AccessKey")]
    public void Validate_InvalidPrefixOrHalfTheCredentials_ThrowsNamingTheSetting(string prefix, string setting)
    {
        var options = new S3CheckpointStoreOptions { BucketName = "b", KeyPrefix = prefix, AccessKey = "only-the-access-key" };
        if (setting == "KeyPrefix")
        {
            options.SecretKey = "secret";
        }

        FluentActions.Invoking(options.Validate).Should().Throw<ArgumentException>().WithMessage($"*{setting}*");
    }

    [Test]
    public void Store_PrefixWithoutATrailingSlash_GetsOne()
    {
        var options = new S3CheckpointStoreOptions { BucketName = "b", KeyPrefix = "models", ServiceUrl = new Uri("http://127.0.0.1:1"), AccessKey = "a", SecretKey = "s" };
        using var store = new S3CheckpointStore(options);

        store.ObjectKeyFor("x.safetensors").Should().Be("models/x.safetensors");
    }

    [Test]
    public void AddS3CheckpointStore_FromConfiguration_RegistersTheStoreAsTheCheckpointStore()
    {
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["BucketName"] = "models",
            ["KeyPrefix"] = "prod/",
            ["ServiceUrl"] = "http://127.0.0.1:1",
            ["AccessKey"] = "a",
            ["SecretKey"] = "s",
        }).Build();
        using ServiceProvider provider = new ServiceCollection().AddS3CheckpointStore(configuration).BuildServiceProvider();

        var store = provider.GetRequiredService<ICheckpointStore>().Should().BeOfType<S3CheckpointStore>().Subject;

        store.BucketName.Should().Be("models");
        store.KeyPrefix.Should().Be("prod/");
    }

    [Test]
    public void AddS3CheckpointStore_WithoutABucket_IsRefusedAtRegistration()
    {
        FluentActions.Invoking(() => new ServiceCollection().AddS3CheckpointStore(o => o.ServiceUrl = new Uri("http://127.0.0.1:1")))
            .Should().Throw<ArgumentException>().WithMessage("*BucketName*");
    }
}
