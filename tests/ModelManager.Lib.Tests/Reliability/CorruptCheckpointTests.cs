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
        yield return new("unknown format version, record hash updated", f => WithHeader(f, Header(f).Replace("\"format_version\":\"1\"", "\"format_version\":\"9\"", StringComparison.Ordinal)), true, ModelLoadFailure.UnsupportedFormat);
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
    public async Task RecordWhoseArchitectureDisagreesWithTheFile_IsRefused()
    {
        _f.UpdateRecord(_record.Id, "parameters", _record.ParametersJson.Replace("\"HiddenSizes\":[8,4]", "\"HiddenSizes\":[8,3]", StringComparison.Ordinal));

        (await FluentActions.Awaiting(() => _f.NewManager().ComputeReconstructionLossAsync(new float[ReliabilityFixture.Dimension], _record.Id))
            .Should().ThrowAsync<ModelLoadingException>()).Which.Reason.Should().Be(ModelLoadFailure.ArchitectureMismatch);
    }

    [Test]
    public async Task UnreadableParametersAndMissingFile_ReportTheParametersFirst()
    {
        // The load reads the file and parses the record's JSON at the same time; what it reports
        // must still be what a sequential load meets first.
        _f.UpdateRecord(_record.Id, "parameters", "{ not json");
        File.Delete(_path);

        ModelLoadingException thrown = (await FluentActions.Awaiting(() => _f.NewManager().ComputeReconstructionLossAsync(new float[ReliabilityFixture.Dimension], _record.Id))
            .Should().ThrowAsync<ModelLoadingException>()).Which;
        thrown.Reason.Should().Be(ModelLoadFailure.MalformedHeader);
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
}
