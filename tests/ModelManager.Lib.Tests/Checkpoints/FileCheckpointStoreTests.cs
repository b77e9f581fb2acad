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
        // The other model's bytes under this model's own name: the name is right, the hash catches it.
        var a = Guid.NewGuid();
        var b = Guid.NewGuid();
        CheckpointInfo infoA = _store.Write(a, CheckpointTestData.Weights(1));
        CheckpointInfo infoB = _store.Write(b, CheckpointTestData.Weights(2));
        File.Copy(Path.Combine(_root, infoB.RelativePath), Path.Combine(_root, infoA.RelativePath), overwrite: true);

        FluentActions.Invoking(() => _store.Read(a, infoA.RelativePath, infoA.Sha256, null))
            .Should().Throw<ModelLoadingException>().Where(e => e.Reason == ModelLoadFailure.ChecksumMismatch);
    }

    [Test]
    public async Task ReadAndDelete_WithAnotherModelsGeneratedName_ThrowInvalidPathAndLeaveTheFile()
    {
        // A record whose path names another model's file (with that file's hash): refused by name.
        var a = Guid.NewGuid();
        var b = Guid.NewGuid();
        _store.Write(a, CheckpointTestData.Weights(1));
        CheckpointInfo infoB = _store.Write(b, CheckpointTestData.Weights(2));

        FluentActions.Invoking(() => _store.Read(a, infoB.RelativePath, infoB.Sha256, null))
            .Should().Throw<ModelLoadingException>().Where(e => e.Reason == ModelLoadFailure.InvalidPath && e.ModelId == a)
            .WithMessage("*another model's checkpoint name*");
        await FluentActions.Awaiting(() => _store.ReadAsync(a, infoB.RelativePath))
            .Should().ThrowAsync<ModelLoadingException>().Where(e => e.Reason == ModelLoadFailure.InvalidPath);
        await _store.DeleteAsync(a, infoB.RelativePath);

        File.Exists(Path.Combine(_root, infoB.RelativePath)).Should().BeTrue("a model never deletes another model's file");
    }

    [TestCase("\n")]
    [TestCase("\r\n")]
    [TestCase(" ")]
    public void Read_GeneratedNameWithATrailingCharacter_ThrowsInvalidPath(string suffix)
    {
        var id = Guid.NewGuid();
        CheckpointInfo info = _store.Write(id, CheckpointTestData.Weights());
        string location = info.RelativePath + suffix;

        FluentActions.Invoking(() => _store.Read(id, location, info.Sha256, null))
            .Should().Throw<ModelLoadingException>().Where(e => e.Reason == ModelLoadFailure.InvalidPath);
    }

    [Test]
    public void Read_DirectoryAtTheCheckpointName_ThrowsInvalidPath()
    {
        var id = Guid.NewGuid();
        Directory.CreateDirectory(Path.Combine(_root, FileCheckpointStore.FileNameFor(id)));

        FluentActions.Invoking(() => _store.Read(id, FileCheckpointStore.FileNameFor(id), new string('0', 64), null))
            .Should().Throw<ModelLoadingException>().Where(e => e.Reason == ModelLoadFailure.InvalidPath).WithMessage("*a directory*");
    }

    [TestCase("loop")]
    [TestCase("inside")]
    [TestCase("outside")]
    [TestCase("dangling")]
    public void Read_SymbolicLinkAtTheCheckpointName_ThrowsInvalidPath(string target)
    {
        var id = Guid.NewGuid();
        string name = FileCheckpointStore.FileNameFor(id);
        CheckpointInfo real = _store.Write(Guid.NewGuid(), CheckpointTestData.Weights());
        string outside = Path.Combine(Path.GetDirectoryName(_root)!, Guid.NewGuid().ToString("N"));
        switch (target)
        {
            case "loop":
                File.CreateSymbolicLink(Path.Combine(_root, "other"), name);
                File.CreateSymbolicLink(Path.Combine(_root, name), "other");
                break;
            case "inside":
                File.CreateSymbolicLink(Path.Combine(_root, name), real.RelativePath);
                break;
            case "outside":
                File.Copy(Path.Combine(_root, real.RelativePath), outside);
                File.CreateSymbolicLink(Path.Combine(_root, name), outside);
                break;
            default:
                File.CreateSymbolicLink(Path.Combine(_root, name), Path.Combine(_root, "nothing-here"));
                break;
        }

        try
        {
            FluentActions.Invoking(() => _store.Read(id, name, real.Sha256, null))
                .Should().Throw<ModelLoadingException>().Where(e => e.Reason == ModelLoadFailure.InvalidPath).WithMessage("*symbolic link*");
        }
        finally
        {
            File.Delete(outside);
        }
    }

    [Test]
    [Platform("Linux")]
    public async Task Read_NamedPipeAtTheCheckpointName_ThrowsInvalidPathWithoutOpeningIt()
    {
        var id = Guid.NewGuid();
        string name = FileCheckpointStore.FileNameFor(id);
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", Path.Combine(_root, name)))
        {
            await mkfifo.WaitForExitAsync();
            mkfifo.ExitCode.Should().Be(0);
        }

        // Opening a pipe without a writer would block for ever; the type is checked first.
        await FluentActions.Awaiting(() => _store.ReadAsync(id, name, 1_000_000))
            .Should().ThrowAsync<ModelLoadingException>().Where(e => e.Reason == ModelLoadFailure.InvalidPath).WithMessage("*named pipe*");
    }

    [Test]
    public async Task ReadAsync_CancelledToken_ThrowsOperationCanceled()
    {
        var id = Guid.NewGuid();
        CheckpointInfo info = _store.Write(id, CheckpointTestData.Weights());

        await FluentActions.Awaiting(() => _store.ReadAsync(id, info.RelativePath, new CancellationToken(canceled: true)))
            .Should().ThrowAsync<OperationCanceledException>();
        await FluentActions.Awaiting(() => _store.ReadAsync(id, info.RelativePath, 1_000_000, new CancellationToken(canceled: true)))
            .Should().ThrowAsync<OperationCanceledException>();
    }

    [TestCase(1L)]
    [TestCase(100L * 1024 * 1024 * 1024)]
    public async Task ReadAsync_SparseFileAboveTheBound_ThrowsTooLargeWithoutReadingIt(long extraBytes)
    {
        var id = Guid.NewGuid();
        CheckpointInfo info = _store.Write(id, CheckpointTestData.Weights());
        string path = Path.Combine(_root, info.RelativePath);
        long bound = SafetensorsCheckpoint.MaxFileBytes(CheckpointTestData.Architecture);
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Write))
        {
            stream.SetLength(bound + extraBytes); // sparse: no data blocks are written
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        await FluentActions.Awaiting(() => _store.ReadAsync(id, info.RelativePath, bound))
            .Should().ThrowAsync<ModelLoadingException>().Where(e => e.Reason == ModelLoadFailure.TooLarge);
        FluentActions.Invoking(() => _store.Read(id, info.RelativePath, info.Sha256, CheckpointTestData.Architecture))
            .Should().Throw<ModelLoadingException>().Where(e => e.Reason == ModelLoadFailure.TooLarge);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        TestContext.Out.WriteLine($"file of {bound + extraBytes} bytes: {allocated} bytes allocated");
        allocated.Should().BeLessThan(256 * 1024, "nothing of the file is read (what is allocated is the exceptions and the assertions)");
    }

    [Test]
    public async Task ReadAsync_FileExactlyAtTheBound_IsRead()
    {
        var id = Guid.NewGuid();
        CheckpointInfo info = _store.Write(id, CheckpointTestData.Weights());
        long length = new FileInfo(Path.Combine(_root, info.RelativePath)).Length;

        (await _store.ReadAsync(id, info.RelativePath, length)).Should().HaveCount((int)length);
        await FluentActions.Awaiting(() => _store.ReadAsync(id, info.RelativePath, length - 1))
            .Should().ThrowAsync<ModelLoadingException>().Where(e => e.Reason == ModelLoadFailure.TooLarge);
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
