namespace AgeGroupAnomaly.Plots;

/// <summary>Size and detail of the PNG files <see cref="ModelPlots"/> writes.</summary>
public sealed record ModelPlotOptions
{
    /// <summary>Image width in pixels, 200 to 8000.</summary>
    /// <value>The default is 900.</value>
    public int Width { get; init; } = 900;

    /// <summary>Image height in pixels, 150 to 8000.</summary>
    /// <value>The default is 540.</value>
    public int Height { get; init; } = 540;

    /// <summary>Bars of the histograms, 2 to 500.</summary>
    /// <value>The default is 40.</value>
    public int Bins { get; init; } = 40;

    /// <summary>Checks every value against its allowed range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is outside its range; the message names it.</exception>
    public void Validate()
    {
        Check(nameof(Width), Width, 200, 8000);
        Check(nameof(Height), Height, 150, 8000);
        Check(nameof(Bins), Bins, 2, 500);
    }

    private static void Check(string name, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            throw new ArgumentOutOfRangeException(name, value, $"ModelPlotOptions.{name} must be between {min} and {max}; it is {value}.");
        }
    }
}
