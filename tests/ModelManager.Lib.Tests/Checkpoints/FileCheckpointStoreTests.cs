using AgeGroupAnomaly.Checkpoints;
using AgeGroupAnomaly.Modeling;
using FluentAssertions;
using NUnit.Framework;

namespace AgeGroupAnomaly.Tests.Checkpoints;

[TestFixture]
public sealed class FileCheckpointStoreTests
{
    private string _root = null!;
    private FileCheckpointStore _store = null!;

    [SetUp]
    public void SetUp()
    {
        _root = TestEnvironment.CreateTempDirectory();
        _store = new FileCheckpointStore(_root);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_root, recursive: true);

    [Test]
    public void WriteThenRead_RoundTripsBitForBitAndRecordsTheHash()
    {
        var id = Guid.NewGuid();
        ModelWeights weights = CheckpointTestData.Weights();

        CheckpointInfo info = _store.Write(id, weights);

        info.RelativePath.Should().Be(id.ToString("N") + ".safetensors");
        info.Sha256.Should().MatchRegex("^[0-9a-f]{64}$");
        _store.Read(id, info.RelativePath, info.Sha256, CheckpointTestData.Architecture).BitwiseEquals(weights).Should().BeTrue();
        Directory.GetFiles(_root).Should().ContainSingle("no temporary file stays behind");
    }

    [Test]
    public void Write_ForAnIdThatAlreadyHasAFile_FailsAndKeepsTheOriginal()
    {
        var id = Guid.NewGuid();
        CheckpointInfo first = _store.Write(id, CheckpointTestData.Weights(1));

        FluentActions.Invoking(() => _store.Write(id, CheckpointTestData.Weights(2))).Should().Throw<IOException>();

        _store.Read(id, first.RelativePath, first.Sha256, null).BitwiseEquals(CheckpointTestData.Weights(1)).Should().BeTrue();
        Directory.GetFiles(_root).Should().ContainSingle();
    }

    [Test]
    public void Read_MissingFile_ThrowsMissingFileNamingTheModel()
    {
        var id = Guid.NewGuid();

        FluentActions.Invoking(() => _store.Read(id, FileCheckpointStore.FileNameFor(id), new string('0', 64), null))
            .Should().Throw<ModelLoadingException>().Where(e => e.ModelId == id && e.Reason == ModelLoadFailure.MissingFile)
            .WithMessage($"*{id}*");
    }

    [TestCase(0)]
    [TestCase(3)]
    [TestCase(20)]
    [TestCase(200)]
    [TestCase(-1)]
    public void Read_OneFlippedByteAnywhere_ThrowsChecksumMismatch(int position)
    {
        var id = Guid.NewGuid();
        CheckpointInfo info = _store.Write(id, CheckpointTestData.Weights());
        string path = Path.Combine(_root, info.RelativePath);
        byte[] bytes = File.ReadAllBytes(path);
        bytes[position >= 0 ? position : bytes.Length - 1] ^= 0x01;
        File.WriteAllBytes(path, bytes);

        FluentActions.Invoking(() => _store.Read(id, info.RelativePath, info.Sha256, null))
            .Should().Throw<ModelLoadingException>().Where(e => e.Reason == ModelLoadFailure.ChecksumMismatch);
    }

    [Test]
    public void Read_AnotherModelsCheckpointSwappedIn_ThrowsChecksumMismatch()
    {
        var a = Guid.NewGuid();
        var b = Guid.NewGuid();
        CheckpointInfo infoA = _store.Write(a, CheckpointTestData.Weights(1));
        CheckpointInfo infoB = _store.Write(b, CheckpointTestData.Weights(2));
        File.Copy(Path.Combine(_root, infoB.RelativePath), Path.Combine(_root, infoA.RelativePath), overwrite: true);

        FluentActions.Invoking(() => _store.Read(a, infoA.RelativePath, infoA.Sha256, null))
            .Should().Throw<ModelLoadingException>().Where(e => e.Reason == ModelLoadFailure.ChecksumMismatch);
    }

    [TestCase("../outside.safetensors")]
    [TestCase("/etc/passwd")]
    [TestCase("sub/0123456789abcdef0123456789abcdef.safetensors")]
    [TestCase(".0123456789abcdef0123456789abcdef.safetensors.1.tmp")]
    public void Read_PathThatIsNotAGeneratedName_ThrowsInvalidPath(string path)
    {
        FluentActions.Invoking(() => _store.Read(Guid.NewGuid(), path, new string('0', 64), null))
            .Should().Throw<ModelLoadingException>().Where(e => e.Reason == ModelLoadFailure.InvalidPath);
    }

    [Test]
    public void TemporaryLeftovers_AreNotListedAndAreCleanedWhenOld()
    {
        string leftover = Path.Combine(_root, $".{Guid.NewGuid():N}.safetensors.{Guid.NewGuid():N}.tmp");
        File.WriteAllBytes(leftover, [1, 2, 3]);
        File.SetLastWriteTimeUtc(leftover, DateTime.UtcNow.AddHours(-2));
        CheckpointInfo real = _store.Write(Guid.NewGuid(), CheckpointTestData.Weights());

        _store.ListFiles().Should().Equal(real.RelativePath);
        _store.CleanupTemporaryFiles(TimeSpan.FromMinutes(1)).Should().Be(1);
        File.Exists(leftover).Should().BeFalse();
    }
}
