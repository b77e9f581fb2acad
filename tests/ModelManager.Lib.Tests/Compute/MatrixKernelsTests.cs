using AgeGroupAnomaly.Compute;
using FluentAssertions;
using NUnit.Framework;

namespace AgeGroupAnomaly.Tests.Compute;

/// <summary>The managed matrix products against a plain double-precision loop, on sizes that hit every tail.</summary>
[TestFixture]
public sealed class MatrixKernelsTests
{
    [TestCase(7, 300, 37)]  // row, depth and column tails; depth spans several depth blocks
    [TestCase(5, 40, 12)]   // a 3-row tile then a 2-row tile
    [TestCase(4, 8, 16)]    // a 3-row tile and a single row
    [TestCase(1, 3, 5)]     // smaller than any tile
    public void MultiplyTransposed_EqualsTheDefinition(int m, int depth, int n)
    {
        float[] a = Random(m * depth, 1), b = Random(n * depth, 2), bias = Random(n, 3), c = new float[m * n];

        MatrixKernels.MultiplyTransposed(a, depth, b, depth, bias, c, n, m, depth, 0, n);

        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double expected = bias[j];
                for (int p = 0; p < depth; p++)
                {
                    expected += (double)a[(i * depth) + p] * b[(j * depth) + p];
                }

                c[(i * n) + j].Should().BeApproximately((float)expected, 1e-4f, $"C[{i}, {j}]");
            }
        }
    }

    [TestCase(7, 300, 37, false)]
    [TestCase(7, 300, 37, true)]
    [TestCase(5, 1, 40, false)]
    [TestCase(11, 150, 33, true)] // 6-row, 4-row and single-row blocks; depth spans two blocks
    public void Multiply_EqualsTheDefinition(int m, int depth, int n, bool transposedA)
    {
        float[] a = Random(m * depth, 4), b = Random(depth * n, 5), c = new float[m * n];
        (int rowStride, int depthStride) = transposedA ? (1, m) : (depth, 1);

        MatrixKernels.Multiply(a, rowStride, depthStride, b, n, c, n, m, depth, 0, n);

        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double expected = 0;
                for (int p = 0; p < depth; p++)
                {
                    expected += (double)a[(i * rowStride) + (p * depthStride)] * b[(p * n) + j];
                }

                c[(i * n) + j].Should().BeApproximately((float)expected, 1e-4f, $"C[{i}, {j}]");
            }
        }
    }

    // Training's forward products: however rows fall into blocks, tiles (four or three rows, by the
    // registers) or single dot products, each element is the one dot product of its row and column.
    [TestCase(32, 832, 24)] // several row blocks of the L1 budget
    [TestCase(15, 300, 9)]  // with four-row tiles: three of them, then a three-row tile
    [TestCase(7, 832, 6)]   // blocks of one tile: four rows, then three
    [TestCase(13, 300, 9)]  // a single row after the tiles
    [TestCase(2, 64, 5)]    // dot products only
    public void MultiplyTransposed_OnEveryReachablePath_EachElementIsItsRowsDotProductBitForBit(int m, int depth, int n)
    {
        float[] a = Random(m * depth, 11), b = Random(n * depth, 12), bias = Random(n, 13);
        CheckDots<LanesScalar>(a, b, bias, m, depth, n);
        if (System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated)
        {
            CheckDots<Lanes128>(a, b, bias, m, depth, n);
        }

        if (System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated)
        {
            CheckDots<Lanes256>(a, b, bias, m, depth, n);
        }

        if (System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated)
        {
            CheckDots<Lanes512>(a, b, bias, m, depth, n);
        }
    }

    // Training's forward product on AVX-512 pairs two rows in each 512-bit accumulator: tiles of eight
    // rows × four columns, then the 256-bit kernel for the remaining rows and columns, depth tails
    // of every length, and a column range that starts inside a tile.
    [TestCase(32, 832, 256, 0, 256)]
    [TestCase(13, 37, 29, 0, 29)]
    [TestCase(7, 5, 19, 3, 19)]
    [TestCase(9, 64, 16, 8, 16)]
    [TestCase(17, 20, 10, 2, 10)] // two row tiles, a row left over, columns from inside a tile
    [TestCase(5, 300, 41, 1, 40)]
    [TestCase(1, 8, 8, 0, 8)]
    public void TrainingMultiplyTransposed_EqualsThe256BitProductBitForBit_WherePathsAllowIt(int m, int depth, int n, int j0, int j1)
    {
        float[] a = Random(m * depth, 14), b = Random(n * depth, 15), bias = Random(n, 16);
        float[] training = new float[m * n], reference = new float[m * n];
        Array.Fill(training, float.NaN); // a sentinel no product writes

        MatrixKernels.TrainingMultiplyTransposed(a, depth, b, depth, bias, training, n, m, depth, j0, j1);
        if (System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated)
        {
            // AVX2 and AVX-512 machines train alike: each element is its 256-bit dot product.
            MatrixKernels.MultiplyTransposed<Lanes256>(ref a[0], depth, ref b[0], depth, ref bias[0], ref reference[0], n, m, depth, j0, j1);
        }
        else
        {
            MatrixKernels.MultiplyTransposed(a, depth, b, depth, bias, reference, n, m, depth, j0, j1);
        }

        for (int k = 0; k < m * n; k++)
        {
            if (k % n < j0 || k % n >= j1)
            {
                float.IsNaN(training[k]).Should().BeTrue($"C[{k / n}, {k % n}] lies outside the column range and is not written");
            }
            else
            {
                BitConverter.SingleToInt32Bits(training[k]).Should().Be(BitConverter.SingleToInt32Bits(reference[k]), $"C[{k / n}, {k % n}]");
            }
        }
    }

    [Test]
    public void ColumnRanges_ComputedSeparately_EqualTheWholeProductBitForBit()
    {
        const int m = 6, depth = 200, n = 70;
        float[] a = Random(m * depth, 6), b = Random(n * depth, 7), bias = Random(n, 8), bt = Random(depth * n, 9);
        float[] whole = new float[m * n], parts = new float[m * n], wholeAb = new float[m * n], partsAb = new float[m * n];

        MatrixKernels.MultiplyTransposed(a, depth, b, depth, bias, whole, n, m, depth, 0, n);
        MatrixKernels.Multiply(a, depth, 1, bt, n, wholeAb, n, m, depth, 0, n);
        foreach ((int start, int end) in new[] { ColumnSplit.Range(n, 16, 3, 0), ColumnSplit.Range(n, 16, 3, 1), ColumnSplit.Range(n, 16, 3, 2) })
        {
            MatrixKernels.MultiplyTransposed(a, depth, b, depth, bias, parts, n, m, depth, start, end);
            MatrixKernels.Multiply(a, depth, 1, bt, n, partsAb, n, m, depth, start, end);
        }

        parts.Should().Equal(whole);
        partsAb.Should().Equal(wholeAb);
    }

    [Test]
    public void ColumnSplitRanges_CoverTheColumnsOnceOnAlignedBoundaries()
    {
        var ranges = Enumerable.Range(0, 3).Select(p => ColumnSplit.Range(70, 16, 3, p)).ToList();

        ranges[0].Start.Should().Be(0);
        ranges[^1].End.Should().Be(70);
        ranges.Zip(ranges.Skip(1)).Should().OnlyContain(pair => pair.First.End == pair.Second.Start);
        ranges.Take(2).Should().OnlyContain(r => r.End % 16 == 0);
    }

    private static void CheckDots<T>(float[] a, float[] b, float[] bias, int m, int depth, int n)
        where T : struct, ILanes<T>
    {
        float[] c = new float[m * n];
        MatrixKernels.MultiplyTransposed<T>(ref a[0], depth, ref b[0], depth, ref bias[0], ref c[0], n, m, depth, 0, n);
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                float expected = MatrixKernels.Dot<T>(ref a[i * depth], ref b[j * depth], depth) + bias[j];
                c[(i * n) + j].Should().Be(expected, $"{typeof(T).Name}: C[{i}, {j}]");
            }
        }
    }

    private static float[] Random(int length, int seed)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, length).Select(_ => (float)(rng.NextDouble() - 0.5))];
    }
}
