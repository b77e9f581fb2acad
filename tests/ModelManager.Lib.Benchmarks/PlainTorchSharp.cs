using System.Diagnostics;
using System.Globalization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace AgeGroupAnomaly.Benchmarks;

/// <summary>
/// The baseline of the quick benchmark: the same autoencoder written the way a TorchSharp user
/// would write it (nn.Sequential, torch.optim.Adam, clip_grad_norm_, a no_grad eval forward), with
/// libtorch's default intra-op threads (all cores). None of the library's code is used here. Every
/// call must be made on one thread (see <see cref="OneThread"/>): libtorch's OpenMP workers spin
/// for the thread that last used them, and a call from another thread pays to wake them.
/// </summary>
internal sealed class PlainTorchSharp : IDisposable
{
    private readonly Sequential _model;
    private readonly int _dimension;

    public PlainTorchSharp(int dimension, IReadOnlyList<int> hidden, double dropout = 0.1)
    {
        _dimension = dimension;
        var layers = new List<Module<Tensor, Tensor>>();
        int previous = dimension;
        foreach (int size in hidden)
        {
            layers.Add(Linear(previous, size));
            layers.Add(ReLU());
            layers.Add(Dropout(dropout));
            previous = size;
        }

        foreach (int size in hidden.Reverse().Skip(1))
        {
            layers.Add(Linear(previous, size));
            layers.Add(ReLU());
            layers.Add(Dropout(dropout));
            previous = size;
        }

        layers.Add(Linear(previous, dimension));
        _model = Sequential(layers);
        _model.eval();
    }

    /// <summary>One embedding's mean squared reconstruction error.</summary>
    public float Score(float[] embedding)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        Tensor x = tensor(embedding, [1, _dimension]);
        return functional.mse_loss(_model.forward(x), x).item<float>();
    }

    /// <summary>Each row's mean squared reconstruction error, for a row-major block.</summary>
    public float[] ScoreBatch(float[] rows)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        Tensor x = tensor(rows, [rows.Length / _dimension, _dimension]);
        Tensor diff = _model.forward(x) - x;
        return (diff * diff).mean([1]).data<float>().ToArray();
    }

    /// <summary>
    /// Trains as the library's defaults do (80/20 split, batches of 32, Adam at 1e-3, gradient norm
    /// clipped to 1, a validation pass after every epoch); returns the samples trained per second,
    /// validation time included.
    /// </summary>
    public double Train(float[][] data, int epochs, int batchSize = 32, int seed = 42)
    {
        var rng = new Random(seed);
        int[] order = [.. Enumerable.Range(0, data.Length)];
        rng.Shuffle(order);
        int validationCount = (int)(data.Length * 0.2);
        using Tensor all = tensor(data.SelectMany(r => r).ToArray(), [data.Length, _dimension]);
        using Tensor validation = all.index(tensor(order.Take(validationCount).Select(i => (long)i).ToArray()));
        long[] trainRows = [.. order.Skip(validationCount).Select(i => (long)i)];
        using var optimizer = optim.Adam(_model.parameters(), lr: 0.001);
        long start = Stopwatch.GetTimestamp();
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            _model.train();
            rng.Shuffle(trainRows);
            for (int b = 0; b < trainRows.Length; b += batchSize)
            {
                using var scope = NewDisposeScope();
                Tensor batch = all.index(tensor(trainRows.AsSpan(b, Math.Min(batchSize, trainRows.Length - b)).ToArray()));
                optimizer.zero_grad();
                Tensor loss = functional.mse_loss(_model.forward(batch), batch);
                loss.backward();
                torch.nn.utils.clip_grad_norm_(_model.parameters(), 1.0);
                optimizer.step();
            }

            _model.eval();
            using (no_grad())
            using (NewDisposeScope())
            {
                _ = functional.mse_loss(_model.forward(validation), validation).item<float>();
            }
        }

        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        _model.eval();
        return (double)trainRows.Length * epochs / seconds;
    }

    public void Dispose() => _model.Dispose();

    /// <summary>The processor's model name from /proc/cpuinfo (or the OS's description elsewhere).</summary>
    public static string ProcessorModel()
    {
        const string cpuinfo = "/proc/cpuinfo";
        string? line = File.Exists(cpuinfo) ? File.ReadLines(cpuinfo).FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal)) : null;
        return line is null ? System.Runtime.InteropServices.RuntimeInformation.OSDescription : line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
    }

    /// <summary>Runs <paramref name="body"/> to the end on one dedicated thread (so every TorchSharp call of a comparison is on the same thread).</summary>
    public static T OneThread<T>(Func<T> body)
    {
        T result = default!;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                result = body();
            }
            catch (Exception ex)
            {
                failure = ex;
            }
        }, 16 * 1024 * 1024);
        thread.Start();
        thread.Join();
        return failure is null ? result : throw new InvalidOperationException("The comparison failed: " + failure.Message, failure);
    }

    public static string Format(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);
}
