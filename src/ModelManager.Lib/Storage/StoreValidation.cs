using AgeGroupAnomaly.Compute;
using System.Globalization;

namespace AgeGroupAnomaly.Storage;

/// <summary>Input checks every store applies, so all implementations reject the same things.</summary>
internal static class StoreValidation
{
    /// <summary>Checks every sample of a batch (naming the row of the first bad one) before a store adds any: all or none.</summary>
    public static void Samples(IReadOnlyList<NewSample> samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        for (int i = 0; i < samples.Count; i++)
        {
            Sample(samples[i], i);
        }
    }

    public static void Sample(NewSample sample, int? index = null)
    {
        ArgumentNullException.ThrowIfNull(sample);
        string where = index is { } i ? string.Create(CultureInfo.InvariantCulture, $"Sample {i}: ") : string.Empty;
        Age(sample.AgeYears, nameof(sample.AgeYears), where);
        if (sample.Embedding is null || sample.Embedding.Length == 0)
        {
            throw new InvalidEmbeddingException($"{where}the embedding is null or empty.");
        }

        try
        {
            FiniteValues.EnsureFinite(sample.Embedding, sample.Embedding.Length, "Embedding");
        }
        catch (InvalidEmbeddingException ex)
        {
            throw new InvalidEmbeddingException(where + ex.Message, ex);
        }
    }

    /// <summary>
    /// Every new sample must have the dimension of the samples already stored (or, in an empty
    /// store, of the first new one): one sample of another length would make every training of its
    /// range fail.
    /// </summary>
    public static void SameDimension(IReadOnlyList<NewSample> samples, int? storedDimension)
    {
        int expected = storedDimension ?? samples[0].Embedding.Length;
        for (int i = 0; i < samples.Count; i++)
        {
            int length = samples[i].Embedding.Length;
            if (length != expected)
            {
                throw new InvalidEmbeddingException(
                    storedDimension is null
                        ? string.Create(CultureInfo.InvariantCulture, $"Sample {i} has {length} values but sample 0 has {expected}; all embeddings in a store must have one dimension. Nothing was added.")
                        : string.Create(CultureInfo.InvariantCulture, $"Sample {i} has {length} values but the store holds embeddings of {expected}; all embeddings in a store must have one dimension. Nothing was added."),
                    i);
            }
        }
    }

    /// <summary>Ages are finite numbers of years in [0, <see cref="NewSample.MaxAgeYears"/>] wherever they enter.</summary>
    public static void Age(double age, string name, string prefix = "")
    {
        if (!double.IsFinite(age) || age < 0 || age > NewSample.MaxAgeYears)
        {
            throw new ArgumentOutOfRangeException(name, age, string.Create(CultureInfo.InvariantCulture, $"{prefix}{name} is {age}; an age must be a finite number of years, at least 0 and at most {NewSample.MaxAgeYears}."));
        }
    }

    public static void Range(double ageMin, double ageMax)
    {
        Age(ageMin, nameof(ageMin));
        Age(ageMax, nameof(ageMax));
        if (ageMin > ageMax)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"ageMin {ageMin} is greater than ageMax {ageMax}; the range is [ageMin, ageMax]."), nameof(ageMin));
        }
    }

    public static void Model(ModelRecord model)
    {
        ArgumentNullException.ThrowIfNull(model);
        Range(model.AgeMin, model.AgeMax);
        if (model.EmbeddingDimension < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(model), model.EmbeddingDimension, "EmbeddingDimension must be at least 1.");
        }

        if (!double.IsFinite(model.Threshold))
        {
            throw new ArgumentOutOfRangeException(nameof(model), model.Threshold, "Threshold must be finite.");
        }

        if (string.IsNullOrWhiteSpace(model.CheckpointPath) || string.IsNullOrWhiteSpace(model.CheckpointSha256))
        {
            throw new ArgumentException("A model record needs its checkpoint path and SHA-256.", nameof(model));
        }
    }
}
