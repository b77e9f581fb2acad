using AgeGroupAnomaly.Import;
using FluentAssertions;
using NUnit.Framework;
using TorchSharp;

namespace AgeGroupAnomaly.Tests.Import;

/// <summary>The reader alone, on the calling thread, where TorchSharp counts the tensors it leaves alive.</summary>
[NonParallelizable]
public sealed class PyTorchStateDictReaderTests
{
    private static string Fixture(string name) => Path.Combine(TestEnvironment.RepositoryRoot, "tests", "ModelManager.Lib.Tests", "Import", "Fixtures", name);

    [Test]
    public void Read_Repeatedly_LeavesNoTensorsAliveWhetherItSucceedsOrThrows()
    {
        byte[] wrapped = File.ReadAllBytes(Fixture("wrapped_state_dict.pt"));
        byte[] wrongShape = File.ReadAllBytes(Fixture("wrong_shape.pt"));
        PyTorchStateDictReader.Read(wrapped, "wrapped_state_dict.pt"); // warm-up: TorchSharp creates a few long-lived tensors on first use

        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 3; i++)
        {
            PyTorchStateDictReader.Read(wrapped, "wrapped_state_dict.pt").Weights.Layers.Should().HaveCount(4);
            Action read = () => PyTorchStateDictReader.Read(wrongShape, "wrong_shape.pt");
            read.Should().Throw<ModelLoadingException>();
        }

        DisposeScopeManager.Statistics.ThreadTotalLiveCount.Should().Be(before);
    }

    [Test]
    public void Read_OfAWrappedStateDict_NamesTheFormAndTheKeysBesideIt()
    {
        ImportedStateDict imported = PyTorchStateDictReader.Read(File.ReadAllBytes(Fixture("wrapped_state_dict.pt")), "wrapped_state_dict.pt");

        imported.Form.Should().Be("a dict holding the state dict under 'state_dict'");
        imported.IgnoredKeys.Should().Equal("epoch", "hidden_dims", "note", "threshold");
    }

    [Test]
    public void Read_OfAFloat64StateDict_GivesTheFloat32WeightsOfTheSameModel()
    {
        ImportedStateDict single = PyTorchStateDictReader.Read(File.ReadAllBytes(Fixture("state_dict.pt")), "state_dict.pt");
        ImportedStateDict dbl = PyTorchStateDictReader.Read(File.ReadAllBytes(Fixture("float64.pt")), "float64.pt");

        dbl.Weights.BitwiseEquals(single.Weights).Should().BeTrue("float32 values widened to float64 and back are unchanged");
    }
}
