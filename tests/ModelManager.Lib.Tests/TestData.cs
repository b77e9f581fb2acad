namespace AgeGroupAnomaly.Tests;

/// <summary>Small, seeded synthetic embeddings for fast tests.</summary>
internal static class TestData
{
    /// <summary>Rows drawn around a low-rank structure plus noise, so an autoencoder can learn them.</summary>
    public static float[][] Embeddings(int rows, int dimension, int seed = 1, float scale = 1f, float offset = 0f)
    {
        var rng = new Random(seed);
        var basis = new float[3][];
        for (int b = 0; b < basis.Length; b++)
        {
            basis[b] = [.. Enumerable.Range(0, dimension).Select(_ => (float)(rng.NextDouble() * 2 - 1))];
        }

        var result = new float[rows][];
        for (int r = 0; r < rows; r++)
        {
            var row = new float[dimension];
            for (int b = 0; b < basis.Length; b++)
            {
                float w = (float)(rng.NextDouble() * 2 - 1);
                for (int d = 0; d < dimension; d++)
                {
                    row[d] += w * basis[b][d];
                }
            }

            for (int d = 0; d < dimension; d++)
            {
                row[d] = ((row[d] + (float)(rng.NextDouble() * 0.1 - 0.05)) * scale) + offset;
            }

            result[r] = row;
        }

        return result;
    }
}
