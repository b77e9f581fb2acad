using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using AgeGroupAnomaly.Checkpoints;
using AgeGroupAnomaly.Storage;
using FluentAssertions;
using NUnit.Framework;

namespace AgeGroupAnomaly.Tests.Reliability;

/// <summary>
/// Corrupt and hostile checkpoint files, reached through a model record as a deployment would:
/// each gives <see cref="ModelLoadingException"/> naming the model and the reason, allocates no more
/// than the file's size while reading it, and never yields a score.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class CorruptCheckpointTests
{
    private ReliabilityFixture _f = null!;
    private ModelRecord _record = null!;
    private string _path = null!;
    private byte[] _original = null!;

    [SetUp]
    public async Task SetUp()
    {
        _f = await ReliabilityFixture.CreateAsync();
        _record = (await _f.Store.GetModelAsync(_f.ActiveId))!;
        _path = Path.Combine(_f.CheckpointDirectory, _record.CheckpointPath);
        _original = File.ReadAllBytes(_path);
    }

    [TearDown]
    public void TearDown() => _f.Dispose();

    public sealed record Corruption(string Name, Func<byte[], byte[]?> Change, bool RecordHashFollows, ModelLoadFailure Reason)
    {
        public override string ToString() => Name;
    }

    private static int HeaderEnd(byte[] file) => 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(file);

    private static string Header(byte[] file) => Encoding.UTF8.GetString(file, 8, HeaderEnd(file) - 8);

    private static byte[] WithHeader(byte[] file, string header)
    {
        byte[] json = Encoding.UTF8.GetBytes(header);
        byte[] data = file[HeaderEnd(file)..];
        var result = new byte[8 + json.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(result, (ulong)json.Length);
        json.CopyTo(result, 8);
        data.CopyTo(result, 8 + json.Length);
        return result;
    }

    private static byte[] Flip(byte[] file, int position)
    {
        byte[] copy = [.. file];
        copy[position] ^= 0x10;
        return copy;
    }

    private static byte[] WithLastFloat(byte[] file, float value)
    {
        byte[] copy = [.. file];
        BinaryPrimitives.WriteSingleLittleEndian(copy.AsSpan(copy.Length - 4), value);
        return copy;
    }

    private static byte[] WithEveryFloat(byte[] file, float value)
    {
        byte[] copy = [.. file];
        for (int i = HeaderEnd(copy); i < copy.Length; i += 4)
        {
            BinaryPrimitives.WriteSingleLittleEndian(copy.AsSpan(i), value);
        }

        return copy;
    }

    public static IEnumerable<Corruption> Corruptions()
    {
        // The record's hash still describes the original file: the hash check catches these.
        foreach (int cut in new[] { 0, 4, 8, 100 })
        {
            yield return new($"truncated to {cut} bytes", f => f[..cut], false, ModelLoadFailure.ChecksumMismatch);
        }

        yield return new("truncated by one byte", f => f[..^1], false, ModelLoadFailure.ChecksumMismatch);
        yield return new("one flipped byte in the header", f => Flip(f, 20), false, ModelLoadFailure.ChecksumMismatch);
        yield return new("one flipped byte in the data", f => Flip(f, f.Length - 10), false, ModelLoadFailure.ChecksumMismatch);
        yield return new("missing file", _ => null, false, ModelLoadFailure.MissingFile);

        // A record rewritten to match the bad file too (a careless tool or an attacker): the
        // structural checks must still refuse it.
        foreach (int cut in new[] { 4, 12, 100 })
        {
            yield return new($"truncated to {cut} bytes, record hash updated", f => f[..cut], true, ModelLoadFailure.Truncated);
        }

        yield return new("truncated inside the data, record hash updated", f => f[..^16], true, ModelLoadFailure.InvalidTensorLayout);
        yield return new("header that is not JSON, record hash updated", f => WithHeader(f, "{this is not json"), true, ModelLoadFailure.MalformedHeader);
        yield return new("header claiming a huge length, record hash updated", f =>
        {
            byte[] copy = [.. f];
            BinaryPrimitives.WriteUInt64LittleEndian(copy, 1UL << 40);
            return copy;
        }, true, ModelLoadFailure.Truncated);
        yield return new("header claiming huge shapes, record hash updated", f => WithHeader(f, Header(f).Replace("\"shape\":[8,16]", "\"shape\":[800000000,16000000]", StringComparison.Ordinal)), true, ModelLoadFailure.InvalidTensorLayout);
        yield return new("offsets past the end, record hash updated", f => WithHeader(f, Header(f).Replace("\"data_offsets\":[0,512]", "\"data_offsets\":[0,99999999999]", StringComparison.Ordinal)), true, ModelLoadFailure.InvalidTensorLayout);
        yield return new("NaN weight, record hash updated", f => WithLastFloat(f, float.NaN), true, ModelLoadFailure.NonFiniteWeights);
        yield return new("+∞ weight, record hash updated", f => WithLastFloat(f, float.PositiveInfinity), true, ModelLoadFailure.NonFiniteWeights);
        yield return new("−∞ weight, record hash updated", f => WithLastFloat(f, float.NegativeInfinity), true, ModelLoadFailure.NonFiniteWeights);
        yield return new("unknown format version, record hash updated", f => WithHeader(f, System.Text.RegularExpressions.Regex.Replace(Header(f), "\"format_version\":\"[0-9]+\"", "\"format_version\":\"9\"")), true, ModelLoadFailure.UnsupportedFormat);
    }

    [TestCaseSource(nameof(Corruptions))]
    public async Task CorruptCheckpoint_RaisesModelLoadingExceptionAndNeverScores(Corruption c)
    {
        byte[]? bad = c.Change(_original);
        if (bad is null)
        {
            File.Delete(_path);
        }
        else
        {
            File.WriteAllBytes(_path, bad);
            if (c.RecordHashFollows)
            {
                _f.UpdateRecord(_record.Id, "checkpoint_sha256", Convert.ToHexStringLower(SHA256.HashData(bad)));
            }
        }

        ModelManager manager = _f.NewManager();
        var error = (await FluentActions.Awaiting(() => manager.ScoreAsync(TestData.Embeddings(1, ReliabilityFixture.Dimension)[0], 4).AsTask())
            .Should().ThrowAsync<ModelLoadingException>()).Which;
        error.ModelId.Should().Be(_record.Id);
        error.Reason.Should().Be(c.Reason);
        error.Message.Should().Contain(_record.Id.ToString()).And.Contain(c.Reason.ToString());

        if (bad is not null)
        {
            string expectedHash = c.RecordHashFollows ? Convert.ToHexStringLower(SHA256.HashData(bad)) : _record.CheckpointSha256;
            var checkpoints = new FileCheckpointStore(_f.CheckpointDirectory);
            long before = GC.GetAllocatedBytesForCurrentThread();
            FluentActions.Invoking(() => checkpoints.Read(_record.Id, _record.CheckpointPath, expectedHash, null)).Should().Throw<ModelLoadingException>();
            (GC.GetAllocatedBytesForCurrentThread() - before).Should().BeLessThanOrEqualTo(bad.Length + (64 * 1024), "reading allocates no more than the file (plus fixed buffers)");
        }
    }

    [Test]
    public async Task AnotherModelsCheckpointSwappedIn_IsRefused()
    {
        ModelRecord other = (await _f.Store.GetModelAsync(_f.InactiveId))!;
        File.Copy(Path.Combine(_f.CheckpointDirectory, other.CheckpointPath), _path, overwrite: true);

        (await FluentActions.Awaiting(() => _f.NewManager().ComputeReconstructionLossAsync(new float[ReliabilityFixture.Dimension], _record.Id))
            .Should().ThrowAsync<ModelLoadingException>()).Which.Reason.Should().Be(ModelLoadFailure.ChecksumMismatch);
    }

    [Test]
    public async Task RecordNamingAnotherModelsFile_IsRefusedAsInvalidPath_AndDeletingItLeavesThatFile()
    {
        ModelRecord other = (await _f.Store.GetModelAsync(_f.InactiveId))!;
        _f.UpdateRecord(_record.Id, "checkpoint_path", other.CheckpointPath);
        _f.UpdateRecord(_record.Id, "checkpoint_sha256", other.CheckpointSha256);
        ModelManager manager = _f.NewManager();

        (await FluentActions.Awaiting(() => manager.ComputeReconstructionLossAsync(new float[ReliabilityFixture.Dimension], _record.Id))
            .Should().ThrowAsync<ModelLoadingException>()).Which.Reason.Should().Be(ModelLoadFailure.InvalidPath);
        await manager.DeleteAsync(_record.Id);

        File.Exists(Path.Combine(_f.CheckpointDirectory, other.CheckpointPath)).Should().BeTrue();
        (await _f.NewManager().ComputeReconstructionLossAsync(new float[ReliabilityFixture.Dimension], other.Id)).Should().BeGreaterThanOrEqualTo(0);
    }

    [TestCase("\n")]
    [TestCase("\r\n")]
    [TestCase("\t")]
    public async Task RecordPathWithATrailingControlCharacter_IsRefusedAsInvalidPath(string suffix)
    {
        _f.UpdateRecord(_record.Id, "checkpoint_path", _record.CheckpointPath + suffix);

        (await FluentActions.Awaiting(() => _f.NewManager().ComputeReconstructionLossAsync(new float[ReliabilityFixture.Dimension], _record.Id))
            .Should().ThrowAsync<ModelLoadingException>()).Which.Reason.Should().Be(ModelLoadFailure.InvalidPath);
    }

    [TestCase("directory")]
    [TestCase("symlink loop")]
    [TestCase("symlink to the same bytes outside the folder")]
    [TestCase("named pipe")]
    public async Task SpecialFileAtTheCheckpointPath_IsRefusedAsInvalidPathWithoutOpeningIt(string kind)
    {
        File.Delete(_path);
        string outside = Path.Combine(_f.Directory, "outside.bin");
        switch (kind)
        {
            case "directory":
                Directory.CreateDirectory(_path);
                break;
            case "symlink loop":
                File.CreateSymbolicLink(_path, _path);
                break;
            case "named pipe":
                if (!OperatingSystem.IsLinux())
                {
                    Assert.Ignore("named pipes are created with mkfifo on Linux");
                }

                using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", _path))
                {
                    await mkfifo.WaitForExitAsync();
                }

                break;
            default:
                File.WriteAllBytes(outside, _original);
                File.CreateSymbolicLink(_path, outside);
                break;
        }

        ModelLoadingException error = (await FluentActions.Awaiting(() => _f.NewManager().ScoreAsync(TestData.Embeddings(1, ReliabilityFixture.Dimension)[0], 4).AsTask())
            .Should().ThrowAsync<ModelLoadingException>()).Which;
        error.Reason.Should().Be(ModelLoadFailure.InvalidPath);
        error.ModelId.Should().Be(_record.Id);
        if (Directory.Exists(_path) && !File.Exists(_path))
        {
            Directory.Delete(_path);
        }
    }

    [TestCase(1L)]
    [TestCase(100L * 1024 * 1024 * 1024)]
    public async Task SparseFileLargerThanItsArchitectureAllows_IsRefusedAsTooLargeWithoutReadingIt(long extra)
    {
        long bound = 8 + SafetensorsCheckpoint.MaxHeaderBytes
            + (4 * (new AgeGroupAnomaly.Modeling.ArchitectureInfo(ReliabilityFixture.Dimension, [8, 4], 0.1).TotalParameters + (2 * ReliabilityFixture.Dimension))); // + the standardizer's mean and scale
        bound.Should().Be(SafetensorsCheckpoint.MaxFileBytes(new AgeGroupAnomaly.Modeling.ArchitectureInfo(ReliabilityFixture.Dimension, [8, 4], 0.1)));
        using (var stream = new FileStream(_path, FileMode.Open, FileAccess.Write))
        {
            stream.SetLength(bound + extra); // sparse: the file system stores no data blocks for it
        }

        ModelManager manager = _f.NewManager();
        long before = GC.GetAllocatedBytesForCurrentThread();
        ModelLoadingException error = (await FluentActions.Awaiting(() => manager.ComputeReconstructionLossAsync(new float[ReliabilityFixture.Dimension], _record.Id))
            .Should().ThrowAsync<ModelLoadingException>()).Which;
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        TestContext.Out.WriteLine($"{bound + extra}-byte file: {allocated} bytes allocated by the failed load");
        error.Reason.Should().Be(ModelLoadFailure.TooLarge);
        allocated.Should().BeLessThan(1024 * 1024, "the file is neither read nor hashed");
    }

    [Test]
    public async Task FiniteWeightsThatOverflow_ThrowNonFiniteScoreInsteadOfANaNScore()
    {
        byte[] huge = WithEveryFloat(_original, 1e30f);
        File.WriteAllBytes(_path, huge);
        _f.UpdateRecord(_record.Id, "checkpoint_sha256", Convert.ToHexStringLower(SHA256.HashData(huge)));
        ModelManager manager = _f.NewManager();
        float[] embedding = TestData.Embeddings(1, ReliabilityFixture.Dimension)[0];

        (await FluentActions.Awaiting(() => manager.ScoreAsync(embedding, 4).AsTask()).Should().ThrowAsync<NonFiniteScoreException>())
            .Which.ModelId.Should().Be(_record.Id);
        await FluentActions.Awaiting(() => manager.ComputeReconstructionLossAsync(embedding, _record.Id)).Should().ThrowAsync<NonFiniteScoreException>();
        await FluentActions.Awaiting(() => manager.ScoreBatchAsync([embedding, embedding], 4)).Should().ThrowAsync<NonFiniteScoreException>();
    }

    [Test]
    public async Task RecordWhoseArchitectureDisagreesWithTheFile_IsRefused()
    {
        _f.UpdateRecord(_record.Id, "parameters", _record.ParametersJson.Replace("\"HiddenSizes\":[8,4]", "\"HiddenSizes\":[8,3]", StringComparison.Ordinal));

        (await FluentActions.Awaiting(() => _f.NewManager().ComputeReconstructionLossAsync(new float[ReliabilityFixture.Dimension], _record.Id))
            .Should().ThrowAsync<ModelLoadingException>()).Which.Reason.Should().Be(ModelLoadFailure.ArchitectureMismatch);
    }

    [Test]
    public async Task UnreadableParametersAndMissingFile_ReportTheParametersFirst()
    {
        // What a load reports is what it meets first: the record's parameters before the file.
        _f.UpdateRecord(_record.Id, "parameters", "{ not json");
        File.Delete(_path);

        ModelLoadingException thrown = (await FluentActions.Awaiting(() => _f.NewManager().ComputeReconstructionLossAsync(new float[ReliabilityFixture.Dimension], _record.Id))
            .Should().ThrowAsync<ModelLoadingException>()).Which;
        thrown.Reason.Should().Be(ModelLoadFailure.DamagedRecord);
        thrown.Message.Should().Contain("parameters JSON");
    }

    [Test]
    public async Task ChecksumMismatchAndBrokenContent_ReportTheChecksum()
    {
        await File.WriteAllBytesAsync(_path, (await File.ReadAllBytesAsync(_path))[..40]);

        (await FluentActions.Awaiting(() => _f.NewManager().ComputeReconstructionLossAsync(new float[ReliabilityFixture.Dimension], _record.Id))
            .Should().ThrowAsync<ModelLoadingException>()).Which.Reason.Should().Be(ModelLoadFailure.ChecksumMismatch);
    }

    [Test]
    public async Task RecordPointingOutsideTheCheckpointRoot_IsRefused()
    {
        _f.UpdateRecord(_record.Id, "checkpoint_path", "../../etc/passwd");

        (await FluentActions.Awaiting(() => _f.NewManager().ComputeReconstructionLossAsync(new float[ReliabilityFixture.Dimension], _record.Id))
            .Should().ThrowAsync<ModelLoadingException>()).Which.Reason.Should().Be(ModelLoadFailure.InvalidPath);
    }

    [Test]
    public void Readme_ListsTheHostileCheckpointCasesWithTheirReason()
    {
        string readme = File.ReadAllText(Path.Combine(TestEnvironment.RepositoryRoot, "README.md"));
        string[] rows = [.. readme.Split('\n').Where(l => l.StartsWith("| ", StringComparison.Ordinal))];
        (string Case, string Exception, string Reason)[] expected =
        [
            ("record naming another model's checkpoint file", nameof(ModelLoadingException), nameof(ModelLoadFailure.InvalidPath)),
            ("record path with a trailing newline", nameof(ModelLoadingException), nameof(ModelLoadFailure.InvalidPath)),
            ("directory at the checkpoint path", nameof(ModelLoadingException), nameof(ModelLoadFailure.InvalidPath)),
            ("symbolic link at the checkpoint path (to anywhere, or a loop)", nameof(ModelLoadingException), nameof(ModelLoadFailure.InvalidPath)),
            ("named pipe (FIFO) or device at the checkpoint path", nameof(ModelLoadingException), nameof(ModelLoadFailure.InvalidPath)),
            ("file larger than its architecture allows (a sparse 100 GiB file)", nameof(ModelLoadingException), nameof(ModelLoadFailure.TooLarge)),
            ("NaN or ±∞ weight, record hash updated", nameof(ModelLoadingException), nameof(ModelLoadFailure.NonFiniteWeights)),
            ("finite weights whose products overflow", nameof(NonFiniteScoreException), "—"),
        ];

        foreach ((string input, string exception, string reason) in expected)
        {
            rows.Should().ContainSingle(r => r.StartsWith($"| {input} | `{exception}` | {(reason == "—" ? "—" : $"`{reason}`")}", StringComparison.Ordinal), $"README should list '{input}'");
        }

        foreach (ModelLoadFailure reason in Enum.GetValues<ModelLoadFailure>().Where(r => r != ModelLoadFailure.Unknown))
        {
            readme.Should().Contain($"`{reason}`", "the README names every load failure reason");
        }
    }
}
