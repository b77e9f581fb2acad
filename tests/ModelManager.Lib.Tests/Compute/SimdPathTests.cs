using System.Runtime.Intrinsics;
using AgeGroupAnomaly.Compute;
using FluentAssertions;
using NUnit.Framework;

namespace AgeGroupAnomaly.Tests.Compute;

/// <summary>
/// The SIMD path in use and agreement between paths. CI runs the kernel, scoring and training tests
/// again with wide vectors switched off (.ci/simd-paths), so each path runs the whole kernel suite;
/// the paths this processor can reach are also compared with each other here, in one process.
/// </summary>
[TestFixture]
public sealed class SimdPathTests
{
    private static readonly string[] ActivePathName = [SimdPaths.Active.ToString()];

    /// <summary>The path's name is the test case's argument, so the test results show which path each run took.</summary>
    [TestCaseSource(nameof(ActivePathName))]
    public void ActivePath_IsTheWidestTheRuntimeAccelerates(string path)
    {
        TestContext.Out.WriteLine($"SIMD path: {path}");
        SimdPath expected = Vector512.IsHardwareAccelerated ? SimdPath.Vector512
            : Vector256.IsHardwareAccelerated ? SimdPath.Vector256
            : Vector128.IsHardwareAccelerated ? SimdPath.Vector128
            : SimdPath.Scalar;
        path.Should().Be(expected.ToString());

        // The switches CI uses must have taken effect, or the run would test the wide path twice.
        if (Switched("DOTNET_EnableHWIntrinsic"))
        {
            SimdPaths.Active.Should().Be(SimdPath.Scalar);
        }

        if (Switched("DOTNET_EnableAVX2"))
        {
            SimdPaths.Active.Should().BeOneOf(SimdPath.Vector128, SimdPath.Scalar);
        }

        if (Switched("DOTNET_EnableAVX512") || Switched("DOTNET_EnableAVX512F"))
        {
            SimdPaths.Active.Should().NotBe(SimdPath.Vector512);
        }
    }

    [Test]
    public void Width_MatchesTheActivePath()
    {
        int expected = SimdPaths.Active switch
        {
            SimdPath.Vector512 => 16,
            SimdPath.Vector256 => 8,
            SimdPath.Vector128 => 4,
            _ => 2,
        };

        SimdPaths.Width.Should().Be(expected);
        MatrixKernels.StripWidth.Should().Be((SimdPaths.ThirtyTwoRegisters ? 4 : 2) * expected);
    }

    [TestCase(832, new[] { 256, 128, 64 })]
    [TestCase(37, new[] { 20, 9, 5 })]
    public void Forward_OnEveryReachablePath_AgreesWithTheActivePathWithin1e5Relative(int input, int[] hidden)
    {
        (float[] Weight, float[] Bias, int In, int Out)[] layers = Layers(input, hidden);
        float[] rows = Random(5 * input, 21, 1f);
        double[] active = Losses(rows, input, layers, MatrixKernels.MultiplyTransposed);
        var reachable = new List<(string Name, double[] Losses)> { ("Scalar", Losses(rows, input, layers, On<LanesScalar>)) };
        if (Vector128.IsHardwareAccelerated)
        {
            reachable.Add(("Vector128", Losses(rows, input, layers, On<Lanes128>)));
        }

        if (Vector256.IsHardwareAccelerated)
        {
            reachable.Add(("Vector256", Losses(rows, input, layers, On<Lanes256>)));
        }

        if (Vector512.IsHardwareAccelerated)
        {
            reachable.Add(("Vector512", Losses(rows, input, layers, On<Lanes512>)));
        }

        foreach ((string name, double[] losses) in reachable)
        {
            for (int r = 0; r < active.Length; r++)
            {
                losses[r].Should().BeApproximately(active[r], active[r] * 1e-5, $"{name}, row {r}");
            }
        }
    }

    [TestCase(1, 3, 5)]
    [TestCase(9, 37, 23)]  // 4-row and 3-row tiles, lane and column tails on every width
    [TestCase(6, 70, 33)]
    public void MultiplyTransposed_OnEveryReachablePath_EqualsTheDefinition(int m, int depth, int n)
    {
        float[] a = Random(m * depth, 1, 1f), b = Random(n * depth, 2, 1f), bias = Random(n, 3, 1f);
        foreach ((string name, Product product) in ReachableProducts())
        {
            float[] c = new float[m * n];
            product(a, depth, b, depth, bias, c, n, m, depth, 0, n);
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    double expected = bias[j];
                    for (int p = 0; p < depth; p++)
                    {
                        expected += (double)a[(i * depth) + p] * b[(j * depth) + p];
                    }

                    c[(i * n) + j].Should().BeApproximately((float)expected, 1e-4f, $"{name}: C[{i}, {j}]");
                }
            }
        }
    }

    [TestCase(11, 150, 71, false)]
    [TestCase(7, 300, 37, true)]
    public void Multiply_OnEveryReachablePath_EqualsTheDefinition(int m, int depth, int n, bool transposedA)
    {
        float[] a = Random(m * depth, 4, 1f), b = Random(depth * n, 5, 1f);
        (int rowStride, int depthStride) = transposedA ? (1, m) : (depth, 1);
        var paths = new List<(string, Action<float[], float[], float[]>)>
        {
            ("Scalar", (x, y, c) => MatrixKernels.Multiply<LanesScalar>(ref x[0], rowStride, depthStride, ref y[0], n, ref c[0], n, m, depth, 0, n)),
        };
        if (Vector128.IsHardwareAccelerated)
        {
            paths.Add(("Vector128", (x, y, c) => MatrixKernels.Multiply<Lanes128>(ref x[0], rowStride, depthStride, ref y[0], n, ref c[0], n, m, depth, 0, n)));
        }

        if (Vector256.IsHardwareAccelerated)
        {
            paths.Add(("Vector256", (x, y, c) => MatrixKernels.Multiply<Lanes256>(ref x[0], rowStride, depthStride, ref y[0], n, ref c[0], n, m, depth, 0, n)));
        }

        if (Vector512.IsHardwareAccelerated)
        {
            paths.Add(("Vector512", (x, y, c) => MatrixKernels.Multiply<Lanes512>(ref x[0], rowStride, depthStride, ref y[0], n, ref c[0], n, m, depth, 0, n)));
        }

        foreach ((string name, Action<float[], float[], float[]> multiply) in paths)
        {
            float[] c = new float[m * n];
            multiply(a, b, c);
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    double expected = 0;
                    for (int p = 0; p < depth; p++)
                    {
                        expected += (double)a[(i * rowStride) + (p * depthStride)] * b[(p * n) + j];
                    }

                    c[(i * n) + j].Should().BeApproximately((float)expected, 1e-4f, $"{name}: C[{i}, {j}]");
                }
            }
        }
    }

    private delegate void Product(ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, ReadOnlySpan<float> bias, Span<float> c, int ldc, int m, int depth, int j0, int j1);

    private static IEnumerable<(string Name, Product Product)> ReachableProducts()
    {
        yield return ("Scalar", On<LanesScalar>);
        if (Vector128.IsHardwareAccelerated)
        {
            yield return ("Vector128", On<Lanes128>);
        }

        if (Vector256.IsHardwareAccelerated)
        {
            yield return ("Vector256", On<Lanes256>);
        }

        if (Vector512.IsHardwareAccelerated)
        {
            yield return ("Vector512", On<Lanes512>);
        }
    }

    private static void On<T>(ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, ReadOnlySpan<float> bias, Span<float> c, int ldc, int m, int depth, int j0, int j1)
        where T : struct, ILanes<T> =>
        MatrixKernels.MultiplyTransposed<T>(
            ref System.Runtime.InteropServices.MemoryMarshal.GetReference(a), lda,
            ref System.Runtime.InteropServices.MemoryMarshal.GetReference(b), ldb,
            ref System.Runtime.InteropServices.MemoryMarshal.GetReference(bias),
            ref System.Runtime.InteropServices.MemoryMarshal.GetReference(c), ldc, m, depth, j0, j1);

    private static double[] Losses(float[] rows, int input, (float[] Weight, float[] Bias, int In, int Out)[] layers, Product product)
    {
        int count = rows.Length / input;
        float[] current = rows;
        for (int l = 0; l < layers.Length; l++)
        {
            var (weight, bias, inSize, outSize) = layers[l];
            float[] next = new float[count * outSize];
            product(current, inSize, weight, inSize, bias, next, outSize, count, inSize, 0, outSize);
            if (l < layers.Length - 1)
            {
                Elementwise.Relu(next);
            }

            current = next;
        }

        return [.. Enumerable.Range(0, count).Select(r => Elementwise.SquaredDistance(rows.AsSpan(r * input, input), current.AsSpan(r * input, input)) / input)];
    }

    private static (float[] Weight, float[] Bias, int In, int Out)[] Layers(int input, int[] hidden)
    {
        int[] sizes = [input, .. hidden, .. hidden.Reverse().Skip(1), input];
        return [.. Enumerable.Range(0, sizes.Length - 1).Select(l => (Random(sizes[l] * sizes[l + 1], 100 + l, 2f / MathF.Sqrt(sizes[l])), Random(sizes[l + 1], 200 + l, 0.1f), sizes[l], sizes[l + 1]))];
    }

    private static bool Switched(string variable) => Environment.GetEnvironmentVariable(variable) is "0";

    private static float[] Random(int length, int seed, float scale)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, length).Select(_ => (float)(rng.NextDouble() - 0.5) * scale)];
    }
}

/// <summary>The opt-in bfloat16 weights of single scores.</summary>
[TestFixture]
[NonParallelizable]
public sealed class CompactWeightsTests
{
    [Test]
    public void ReconstructionLosses_WithCompactWeights_EqualScoringEachRowAloneBitForBit()
    {
        TorchSharp.torch.manual_seed(14);
        using var model = new AgeGroupAnomaly.Modeling.AutoencoderModel(37, [20, 9, 5]);
        var kernel = new InferenceKernel(model.ToWeights(), compactWeights: true);
        float[][] rows = TestData.Embeddings(151, 37, seed: 4);

        var batch = new double[rows.Length];
        kernel.ReconstructionLosses(rows.SelectMany(r => r).ToArray(), batch);

        batch.Should().Equal(rows.Select(r => kernel.ReconstructionLoss(r)));
    }

    [Test]
    public void ReconstructionLoss_WithCompactWeights_StaysWithinTheRoundingOfTheWeights()
    {
        TorchSharp.torch.manual_seed(15);
        using var model = new AgeGroupAnomaly.Modeling.AutoencoderModel(100, [40, 12]);
        var full = new InferenceKernel(model.ToWeights());
        var compact = new InferenceKernel(model.ToWeights(), compactWeights: true);
        float[][] rows = TestData.Embeddings(20, 100, seed: 6);

        double[] differences = [.. rows.Select(r => Math.Abs(compact.ReconstructionLoss(r) - full.ReconstructionLoss(r)) / full.ReconstructionLoss(r))];

        compact.CompactWeights.Should().BeTrue();
        differences.Max().Should().BeLessThan(0.01, "bfloat16 keeps 8 significant bits of each weight");
        differences.Max().Should().BeGreaterThan(0, "the weights were rounded");
    }

    [TestCase(1f, (ushort)0x3F80)]
    [TestCase(1.00390625f, (ushort)0x3F80)]  // 1 + 2^-8, a tie: to the even neighbour below
    [TestCase(1.01171875f, (ushort)0x3F82)]  // 1 + 3·2^-8, a tie: to the even neighbour above
    [TestCase(-2.5f, (ushort)0xC020)]
    public void BFloat16_RoundsToNearestEven(float value, ushort expected)
    {
        BFloat16.FromSingle(value).Should().Be(expected);
        BFloat16.ToSingle(expected).Should().BeApproximately(value, Math.Abs(value) / 128);
    }

    [Test]
    public void BFloat16_KeepsNaNAndInfinity()
    {
        float.IsNaN(BFloat16.ToSingle(BFloat16.FromSingle(float.NaN))).Should().BeTrue();
        BFloat16.ToSingle(BFloat16.FromSingle(float.PositiveInfinity)).Should().Be(float.PositiveInfinity);
    }
}
