using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using AgeGroupAnomaly.Compute;
using FluentAssertions;
using NUnit.Framework;

namespace AgeGroupAnomaly.Tests.Training;

/// <summary>
/// Why a training gives the same weights on AVX2 and AVX-512 machines although its backward products
/// run at the full width: <see cref="MatrixKernels.Multiply"/> computes each element as one chain of
/// fused multiply-adds over the depth in order, at every vector width. (Not in the SIMD-path reruns:
/// it compares the widths this process reaches with each other, in one run.)
/// </summary>
[TestFixture]
public sealed class TrainingReproducibilityTests
{
    // The two backward products of a dense layer with 100 inputs and 40 outputs (100 is not a
    // multiple of any strip, so every width also takes its one-column tail), batches of 32 and 13:
    // dW = dZᵀ · X (A strided (1, out)) and dX = dZ · W (A strided (out, 1)).
    [TestCase(32, true)]
    [TestCase(32, false)]
    [TestCase(13, true)]
    [TestCase(13, false)]
    public void Multiply_AtEveryFusedWidth_IsEachElementsFusedChainInDepthOrder_BitForBit(int batch, bool weightGradient)
    {
        const int inputs = 100, outputs = 40;
        var rng = new Random(batch + (weightGradient ? 1 : 0));
        float[] Values(int count) => [.. Enumerable.Range(0, count).Select(_ => (float)(rng.NextDouble() - 0.5))];
        float[] dz = Values(batch * outputs);
        (int m, int depth, int rowStride, int depthStride, float[] b) = weightGradient
            ? (outputs, batch, 1, outputs, Values(batch * inputs))
            : (batch, outputs, outputs, 1, Values(outputs * inputs));
        var expected = new float[m * inputs];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < inputs; j++)
            {
                float sum = 0;
                for (int p = 0; p < depth; p++)
                {
                    sum = MathF.FusedMultiplyAdd(dz[(i * rowStride) + (p * depthStride)], b[(p * inputs) + j], sum);
                }

                expected[(i * inputs) + j] = sum;
            }
        }

        var widths = new List<(string Name, float[] Result)>();
        void Run<T>(string name)
            where T : struct, ILanes<T>
        {
            var c = new float[m * inputs];
            MatrixKernels.Multiply<T>(
                ref MemoryMarshal.GetArrayDataReference(dz), rowStride, depthStride, ref MemoryMarshal.GetArrayDataReference(b), inputs,
                ref MemoryMarshal.GetArrayDataReference(c), inputs, m, depth, 0, inputs);
            widths.Add((name, c));
        }

        if (Vector128.IsHardwareAccelerated && Lanes128.Fused)
        {
            Run<Lanes128>("Vector128");
        }

        if (Vector256.IsHardwareAccelerated)
        {
            Run<Lanes256>("Vector256");
        }

        if (Vector512.IsHardwareAccelerated)
        {
            Run<Lanes512>("Vector512");
        }

        if (widths.Count == 0)
        {
            Assert.Ignore("No fused-multiply-add vector width on this processor: training runs scalar here.");
        }

        foreach ((string name, float[] result) in widths)
        {
            result.Should().Equal(expected, $"{name} must compute each element's chain exactly");
        }
    }
}
