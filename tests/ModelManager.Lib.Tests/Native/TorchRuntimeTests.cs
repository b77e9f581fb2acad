using AgeGroupAnomaly.Native;
using FluentAssertions;
using NUnit.Framework;
using TorchSharp;

namespace AgeGroupAnomaly.Tests.Native;

[TestFixture]
[NonParallelizable]
public sealed class TorchRuntimeTests
{
    [Test]
    public void EnsureAvailable_InTheTestProcess_LoadsTorchSharpAndMultipliesTensors()
    {
        TorchRuntime.EnsureAvailable();

        using var a = torch.tensor(new float[] { 1, 2, 3, 4 }, 2, 2);
        using var b = torch.tensor(new float[] { 5, 6, 7, 8 }, 2, 2);
        using var product = a.matmul(b);

        product.data<float>().ToArray().Should().Equal(19f, 22f, 43f, 50f);
    }

    [Test]
    public void Explain_WhenLibStdCxxLacksTheVersion_NamesTheCauseAndTheRemedy()
    {
        var generic = new NotSupportedException("This application or script uses TorchSharp but doesn't contain a reference to libtorch-cpu-linux-x64.");
        var failure = new TypeInitializationException("TorchSharp.torch", generic);

        NativeRuntimeUnavailableException ex = TorchRuntime.Explain(failure, libStdCxxHasRequiredVersion: false);

        ex.Message.Should().Contain("GLIBCXX_3.4.32")
            .And.Contain("ModelManagerPatchLibTorchSharp")
            .And.Contain("Debian 12");
        ex.InnerException.Should().BeSameAs(failure);
    }

    [Test]
    public void Explain_WhenLibStdCxxIsRecentEnough_PointsAtMissingNativeFiles()
    {
        var failure = new DllNotFoundException("libtorch_cpu.so: cannot open shared object file");

        NativeRuntimeUnavailableException ex = TorchRuntime.Explain(failure, libStdCxxHasRequiredVersion: true);

        ex.Message.Should().Contain("runtimes/linux-x64/native").And.NotContain("GLIBCXX_3.4.32 (");
        ex.Message.Should().EndWith(failure.Message);
    }

    [Test]
    public void TryLoad_ReturnsTheFailureOfTheLoadAction()
    {
        var boom = new InvalidOperationException("boom");

        TorchRuntime.TryLoad(() => throw boom).Should().BeSameAs(boom);
        TorchRuntime.TryLoad(() => { }).Should().BeNull();
    }
}
