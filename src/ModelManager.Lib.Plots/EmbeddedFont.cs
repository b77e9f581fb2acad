using System.Reflection;
using ScottPlot;
using SkiaSharp;

namespace AgeGroupAnomaly.Plots;

/// <summary>
/// DejaVu Sans from this assembly's resources, registered with ScottPlot once. Without it, a machine
/// with no installed font (a slim container) renders every title, label and tick blank, silently.
/// </summary>
internal sealed class EmbeddedFont : IFontResolver
{
    /// <summary>The family name every plot of this package asks for.</summary>
    public const string Family = "DejaVu Sans";

    private static readonly Lazy<SKData> Regular = new(() => Load("DejaVuSans.ttf"));
    private static readonly Lazy<SKData> Bold = new(() => Load("DejaVuSans-Bold.ttf"));
    private static readonly Lock Gate = new();
    private static bool _registered;

    /// <summary>Puts the resolver first in ScottPlot's list (a process-wide list), once.</summary>
    public static void EnsureRegistered()
    {
        lock (Gate)
        {
            if (!_registered)
            {
                Fonts.FontResolvers.Insert(0, new EmbeddedFont());
                _registered = true;
            }
        }
    }

    public SKTypeface? CreateTypeface(string fontName, bool bold, bool italic) =>
        string.Equals(fontName, Family, StringComparison.OrdinalIgnoreCase)
            ? SKTypeface.FromData((bold ? Bold : Regular).Value)
            : null;

    public SKTypeface? CreateTypeface(string fontName, FontWeight weight, FontSlant slant, FontSpacing spacing) =>
        CreateTypeface(fontName, weight >= FontWeight.SemiBold, slant != FontSlant.Upright);

    private static SKData Load(string resource)
    {
        using Stream stream = typeof(EmbeddedFont).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"The font resource '{resource}' is missing from {typeof(EmbeddedFont).Assembly.GetName().Name}.");
        return SKData.Create(stream);
    }
}
