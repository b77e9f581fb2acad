using System.Globalization;
using System.Text;

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

    /// <summary>
    /// Writes an EmbeddingsCli input file: ages cycle from 3 through 3 + <paramref name="ageCount"/> − 1,
    /// values drift with age; with <paramref name="subject"/> a header and a subject column are added.
    /// </summary>
    public static void WriteEmbeddingCsv(string path, int rows, int dimension, int ageCount, int seed, string? subject = null, double ageShift = 0.1)
    {
        var random = new Random(seed);
        var text = new StringBuilder();
        if (subject is not null)
        {
            text.Append("age,subject,").AppendJoin(",", Enumerable.Range(0, dimension).Select(i => $"v{i}")).Append('\n');
        }

        for (int r = 0; r < rows; r++)
        {
            int age = 3 + (r % ageCount);
            text.Append(age.ToString(CultureInfo.InvariantCulture)).Append(',');
            if (subject is not null)
            {
                text.Append(subject).Append(',');
            }

            text.AppendJoin(",", Enumerable.Range(0, dimension).Select(_ => (random.NextDouble() + (age * ageShift)).ToString("0.0000", CultureInfo.InvariantCulture))).Append('\n');
        }

        File.WriteAllText(path, text.ToString());
    }
}
