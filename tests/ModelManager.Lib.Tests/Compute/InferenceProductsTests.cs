using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using AgeGroupAnomaly.Compute;
using FluentAssertions;
using NUnit.Framework;

namespace AgeGroupAnomaly.Tests.Compute;

/// <summary>
/// The inference kernel's products over weights packed in column panels, on every SIMD path this processor
/// reaches: each equals the definition (so the paths agree within its tolerance), and a batch equals
/// one row at a time bit for bit (whatever tile, remainder or column range computed an output).
/// </summary>
[TestFixture]
public sealed class InferenceProductsTests
{
    // Sizes that leave row remainders (m not a multiple of the six-row tiles), column remainders
    // (out not a multiple of a panel, a vector or even two lanes) and depth over several blocks.
    [TestCase(1, 3, 5)]
    [TestCase(13, 37, 23)]
    [TestCase(20, 300, 71)]
    [TestCase(12, 130, 64)]
    [TestCase(7, 64, 200)]
    public void Rows_OnEveryReachablePath_EqualTheDefinition_AndOneRowAtATimeBitForBit(int m, int inSize, int outSize)
    {
        float[] a = Random(m * inSize, 1), weight = Random(outSize * inSize, 2), bias = Random(outSize, 3);
        foreach ((string name, int panelWidth, RowsProduct rows, RowProduct row) in Reachable())
        {
            float[] wt = InferenceProducts.Pack(weight, outSize, inSize, panelWidth);
            float[] batch = new float[m * outSize];
            rows(a, inSize, wt, bias, batch, outSize, m, inSize, outSize);
            for (int i = 0; i < m; i++)
            {
                float[] single = new float[outSize];
                row(a.AsSpan(i * inSize, inSize), wt, bias, single, inSize, outSize, 0, outSize);
                batch.AsSpan(i * outSize, outSize).ToArray().Should().Equal(single, $"{name}: row {i} alone equals the batch");
                for (int j = 0; j < outSize; j++)
                {
                    double expected = bias[j];
                    for (int p = 0; p < inSize; p++)
                    {
                        expected += (double)a[(i * inSize) + p] * weight[(j * inSize) + p];
                    }

                    batch[(i * outSize) + j].Should().BeApproximately((float)expected, 1e-4f, $"{name}: C[{i}, {j}]");
                }
            }
        }
    }

    [TestCase(37, 71, 13, 40)]
    [TestCase(256, 832, 416, 832)]
    [TestCase(64, 200, 3, 197)]
    public void Row_ForAColumnRange_EqualsThoseColumnsOfTheWholeRow(int inSize, int outSize, int j0, int j1)
    {
        float[] x = Random(inSize, 4), weight = Random(inSize * outSize, 5), bias = Random(outSize, 6);
        foreach ((string name, int panelWidth, RowsProduct _, RowProduct row) in Reachable())
        {
            float[] wt = InferenceProducts.Pack(weight, outSize, inSize, panelWidth);
            float[] whole = new float[outSize], part = new float[outSize];
            row(x, wt, bias, whole, inSize, outSize, 0, outSize);
            row(x, wt, bias, part, inSize, outSize, j0, j1);
            part.AsSpan(j0, j1 - j0).ToArray().Should().Equal(whole.AsSpan(j0, j1 - j0).ToArray(), name);
            part.Take(j0).Where(v => v != 0).Should().BeEmpty($"{name}: nothing before the range is written");
            part.Skip(j1).Where(v => v != 0).Should().BeEmpty($"{name}: nothing after the range is written");
        }
    }

    // Odd and even input counts (an odd one ends on a lone input), column ranges that start and
    // end off a vector boundary, and layers narrower and wider than a panel.
    [TestCase(45, 150, 0, 150)]
    [TestCase(46, 150, 0, 150)]
    [TestCase(1, 9, 0, 9)]
    [TestCase(257, 300, 3, 297)]
    [TestCase(832, 256, 128, 256)]
    public void Row_WithBFloat16PairWeights_EqualsTheFloatRowOverTheWidenedWeights_OnEveryReachablePath(int inSize, int outSize, int j0, int j1)
    {
        float[] x = Random(inSize, 7), bias = Random(outSize, 8);
        ushort[] rounded = [.. Random(inSize * outSize, 9).Select(BFloat16.FromSingle)];
        float[] widenedWeights = [.. rounded.Select(BFloat16.ToSingle)];
        foreach ((string name, int panelWidth, RowsProduct _, RowProduct row) in Reachable())
        {
            ushort[] compact = InferenceProducts.PackPairs(rounded, outSize, inSize, panelWidth);
            float[] widened = InferenceProducts.Pack(widenedWeights, outSize, inSize, panelWidth);
            float[] fromCompact = new float[outSize], fromFloat = new float[outSize];
            Array.Fill(fromCompact, float.NaN); // a sentinel no product writes

            CompactRows[name](x, compact, bias, fromCompact, inSize, outSize, j0, j1);
            row(x, widened, bias, fromFloat, inSize, outSize, j0, j1);

            fromCompact[j0..j1].Select(BitConverter.SingleToInt32Bits).Should().Equal(fromFloat[j0..j1].Select(BitConverter.SingleToInt32Bits), name);
            fromCompact.Take(j0).Concat(fromCompact.Skip(j1)).All(float.IsNaN).Should().BeTrue($"{name}: nothing outside the range is written");
        }
    }

    [Test]
    public void Row_WithBFloat16PairWeights_OnTheActivePath_EqualsThePathsOwnKernel()
    {
        const int inSize = 45, outSize = 150;
        float[] x = Random(inSize, 7), bias = Random(outSize, 8);
        ushort[] rounded = [.. Random(inSize * outSize, 9).Select(BFloat16.FromSingle)];
        ushort[] compact = InferenceProducts.PackPairs(rounded, outSize, inSize, InferenceProducts.ActivePanelWidth);
        float[] widened = InferenceProducts.Pack([.. rounded.Select(BFloat16.ToSingle)], outSize, inSize, InferenceProducts.ActivePanelWidth);
        float[] fromCompact = new float[outSize], fromFloat = new float[outSize];

        InferenceProducts.Row(x, compact, bias, fromCompact, inSize, outSize, 0, outSize);
        InferenceProducts.Row(x, widened, bias, fromFloat, inSize, outSize, 0, outSize);

        fromCompact.Should().Equal(fromFloat);
    }

    [Test]
    public void PackPairs_PutsEachColumnsInputPairInOneWord_AndPadsTheLoneInputAndTheLastPanel()
    {
        ushort[] weight = [1, 2, 3, 4, 5, 6, 7, 8, 9]; // 3 outputs × 3 inputs

        InferenceProducts.PackPairs(weight, 3, 3, 2).Should().Equal(
            1, 2, 4, 5, // panel of outputs 0 and 1: inputs 0 and 1 of output 0, then of output 1
            3, 0, 6, 0, // input 2 alone
            7, 8, 0, 0, // output 2, padded
            9, 0, 0, 0);
        InferenceProducts.PairedPanelOffset(1, 3, 2).Should().Be(2);
        InferenceProducts.PairedPanelOffset(2, 3, 2).Should().Be(8);
    }

    [Test]
    public void Pack_PutsEachPanelsColumnsSideBySide_InputAfterInput_AndPadsTheLastPanel()
    {
        float[] weight = [1, 2, 3, 4, 5, 6, 7, 8, 9]; // 3 outputs × 3 inputs

        InferenceProducts.Pack(weight, 3, 3, 2).Should().Equal(
            1, 4, 2, 5, 3, 6, // panel of outputs 0 and 1: input 0, input 1, input 2
            7, 0, 8, 0, 9, 0); // output 2, padded
        InferenceProducts.PanelOffset(2, 3, 2).Should().Be(6);
    }

    private delegate void RowsProduct(ReadOnlySpan<float> a, int lda, float[] wt, float[] bias, Span<float> c, int ldc, int m, int inSize, int outSize);

    private delegate void RowProduct(ReadOnlySpan<float> x, float[] wt, float[] bias, Span<float> y, int inSize, int outSize, int j0, int j1);

    private static IEnumerable<(string Name, int PanelWidth, RowsProduct Rows, RowProduct Row)> Reachable()
    {
        yield return ("Scalar", InferenceProducts.PanelWidth<LanesScalar>(), RowsOn<LanesScalar>, RowOn<LanesScalar>);
        if (Vector128.IsHardwareAccelerated)
        {
            yield return ("Vector128", InferenceProducts.PanelWidth<Lanes128>(), RowsOn<Lanes128>, RowOn<Lanes128>);
        }

        if (Vector256.IsHardwareAccelerated)
        {
            yield return ("Vector256", InferenceProducts.PanelWidth<Lanes256>(), RowsOn<Lanes256>, RowOn<Lanes256>);
        }

        if (Vector512.IsHardwareAccelerated)
        {
            yield return ("Vector512", InferenceProducts.PanelWidth<Lanes512>(), RowsOn<Lanes512>, RowOn<Lanes512>);
        }
    }

    private delegate void CompactRowProduct(ReadOnlySpan<float> x, ushort[] wt, float[] bias, Span<float> y, int inSize, int outSize, int j0, int j1);

    private static readonly Dictionary<string, CompactRowProduct> CompactRows = new()
    {
        ["Scalar"] = CompactRowOn<LanesScalar>,
        ["Vector128"] = CompactRowOn<Lanes128>,
        ["Vector256"] = CompactRowOn<Lanes256>,
        ["Vector512"] = CompactRowOn<Lanes512>,
    };

    private static void CompactRowOn<T>(ReadOnlySpan<float> x, ushort[] wt, float[] bias, Span<float> y, int inSize, int outSize, int j0, int j1)
        where T : struct, ILanes<T> =>
        InferenceProducts.Row<T, BFloat16PairWeights>(
            ref MemoryMarshal.GetReference(x), ref Unsafe.As<ushort, byte>(ref MemoryMarshal.GetArrayDataReference(wt)), ref MemoryMarshal.GetArrayDataReference(bias),
            ref MemoryMarshal.GetReference(y), inSize, outSize, j0, j1);

    private static void RowsOn<T>(ReadOnlySpan<float> a, int lda, float[] wt, float[] bias, Span<float> c, int ldc, int m, int inSize, int outSize)
        where T : struct, ILanes<T> =>
        InferenceProducts.Rows<T>(
            ref MemoryMarshal.GetReference(a), lda, ref MemoryMarshal.GetArrayDataReference(wt), ref MemoryMarshal.GetArrayDataReference(bias),
            ref MemoryMarshal.GetReference(c), ldc, m, inSize, outSize);

    private static void RowOn<T>(ReadOnlySpan<float> x, float[] wt, float[] bias, Span<float> y, int inSize, int outSize, int j0, int j1)
        where T : struct, ILanes<T> =>
        InferenceProducts.Row<T, Float32Weights>(
            ref MemoryMarshal.GetReference(x), ref Unsafe.As<float, byte>(ref MemoryMarshal.GetArrayDataReference(wt)), ref MemoryMarshal.GetArrayDataReference(bias),
            ref MemoryMarshal.GetReference(y), inSize, outSize, j0, j1);

    private static float[] Random(int length, int seed)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, length).Select(_ => (float)(rng.NextDouble() - 0.5))];
    }
}
