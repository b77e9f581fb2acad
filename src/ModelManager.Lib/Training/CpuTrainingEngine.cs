using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using AgeGroupAnomaly.Compute;
using AgeGroupAnomaly.Modeling;
using MathNet.Numerics.Random;

namespace AgeGroupAnomaly.Training;

/// <summary>
/// The training step on the CPU in managed code: forward with ReLU and dropout, MSE loss, backward,
/// global-norm clipping and Adam, over one flat parameter buffer and one flat gradient buffer laid
/// out in the model's parameter order. Same algorithm and same dropout masks as the TorchSharp
/// path (<see cref="TorchTrainingEngine"/>); for batches of tens of rows it avoids libtorch's
/// per-operation cost, which dominated the step.
/// </summary>
/// <remarks>
/// Per-batch methods are compiled fully optimised from the first call: a training run lasts about
/// a second, too short for tiered compilation to promote them in time.
/// </remarks>
internal sealed class CpuTrainingEngine : ITrainingEngine
{
    private readonly ArchitectureInfo _architecture;
    private readonly float[] _data;
    private readonly int _dimension;
    private readonly int _threads;
    private readonly Slot[] _layers;
    private readonly float[] _parameters;
    private readonly float[] _gradients;
    private readonly FlatAdam _adam;
    private readonly ForkJoinWorker? _worker;
    private readonly float[][] _activations; // [l] = input of layer l (rows × in); [L] = reconstruction
    private readonly float[] _gradientA;
    private readonly float[] _gradientB;
    private readonly RandomSource _dropoutRandom;
    private readonly double _dropProbability;
    private readonly uint _dropThreshold;
    private readonly float _keepScale;
    private readonly byte[][] _bits; // one bulk draw per dropout layer and batch
    private float[][]? _evaluation; // activations of an evaluation pass (MeanBatchLoss), made on first use

    public CpuTrainingEngine(ModelWeights initial, float[] data, int maxBatch, double learningRate, int dropoutSeed, int threads)
    {
        _architecture = initial.Architecture;
        _data = data;
        _dimension = _architecture.InputSize;
        _threads = threads;
        IReadOnlyList<LinearLayerShape> shapes = _architecture.Layers;
        _layers = new Slot[shapes.Count];
        int offset = 0;
        for (int l = 0; l < shapes.Count; l++)
        {
            LinearLayerShape s = shapes[l];
            _layers[l] = new Slot(s.InputSize, s.OutputSize, s.ReluAfter, offset, offset + (s.InputSize * s.OutputSize));
            offset += (s.InputSize + 1) * s.OutputSize;
        }

        _parameters = new float[offset];
        for (int l = 0; l < _layers.Length; l++)
        {
            initial.Layers[l].Weight.CopyTo(_parameters, _layers[l].WeightOffset);
            initial.Layers[l].Bias.CopyTo(_parameters, _layers[l].BiasOffset);
        }

        _gradients = new float[offset];
        _adam = new FlatAdam(offset, learningRate);
        _worker = threads == 2 ? new ForkJoinWorker() : null; // two threads: the caller plus a spin-waiting worker; more go through the pool
        _activations = ActivationBuffers(maxBatch);
        int widest = _layers.Max(l => Math.Max(l.In, l.Out));
        _gradientA = new float[checked(maxBatch * widest)];
        _gradientB = new float[checked(maxBatch * widest)];

        // One generator shared by the dropout layers in forward order, as SeededDropout draws.
        _dropoutRandom = new Xoshiro256StarStar(dropoutSeed, threadSafe: false);
        _dropProbability = _architecture.Dropout;
        _keepScale = (float)(1 / (1 - _architecture.Dropout));
        _bits = [.. _layers.Select(_ => Array.Empty<byte>())];
        _dropThreshold = SeededDropout.DropThreshold(_architecture.Dropout);
    }

    public double LearningRate
    {
        get => _adam.LearningRate;
        set => _adam.LearningRate = value;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public double TrainBatch(ReadOnlySpan<int> rows, double maxGradientNorm)
    {
        int n = rows.Length;
        Gather(rows, _activations[0]);
        Forward(_activations, n, training: true);
        double loss = LossAndOutputGradient(n);
        Backward(n);
        _adam.ClipAndStep(_parameters, _gradients, maxGradientNorm, _threads, _worker);
        return loss;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public double EvaluateBatch(ReadOnlySpan<int> rows)
    {
        Gather(rows, _activations[0]);
        Forward(_activations, rows.Length, training: false);
        return Loss(_activations, 0, rows.Length);
    }

    /// <summary>
    /// The mean of the batches' eval losses, as <see cref="EvaluateBatch"/> batch after batch would
    /// give it bit for bit, from one forward pass over up to <see cref="EvaluationRows"/> rows at a
    /// time: each weight is read once per pass instead of once per batch of 32.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public double MeanBatchLoss(ReadOnlySpan<int> rows, int batchSize)
    {
        if (batchSize > EvaluationRows)
        {
            return ITrainingEngine.BatchByBatch(this, rows, batchSize); // batches larger than a pass
        }

        double sum = 0;
        int batches = 0;
        int group = EvaluationRows / batchSize * batchSize;
        int passRows = Math.Min(group, rows.Length);
        if (_evaluation is null || _evaluation[0].Length < passRows * _dimension)
        {
            _evaluation = ActivationBuffers(passRows);
        }

        float[][] buffers = _evaluation;
        for (int first = 0; first < rows.Length; first += group)
        {
            int count = Math.Min(group, rows.Length - first);
            Gather(rows.Slice(first, count), buffers[0]);
            Forward(buffers, count, training: false);
            for (int start = 0; start < count; start += batchSize)
            {
                sum += Loss(buffers, start, Math.Min(batchSize, count - start));
                batches++;
            }
        }

        return sum / batches;
    }

    /// <summary>Rows one evaluation pass takes at most (its buffers hold about 10 KB per row for 832 → [256, 128, 64]).</summary>
    internal const int EvaluationRows = 512;

    /// <summary>Each layer's input for <paramref name="rows"/> rows, and the reconstruction ([l] = input of layer l; [L] = output).</summary>
    private float[][] ActivationBuffers(int rows)
    {
        var buffers = new float[_layers.Length + 1][];
        for (int l = 0; l < _layers.Length; l++)
        {
            buffers[l] = new float[checked(rows * _layers[l].In)];
        }

        buffers[^1] = new float[checked(rows * _dimension)];
        return buffers;
    }

    public ModelWeights Weights()
    {
        var layers = new List<LayerWeights>(_layers.Length);
        foreach (Slot slot in _layers)
        {
            layers.Add(new LayerWeights(
                _parameters.AsSpan(slot.WeightOffset, slot.In * slot.Out).ToArray(),
                _parameters.AsSpan(slot.BiasOffset, slot.Out).ToArray()));
        }

        return new ModelWeights(_architecture, layers);
    }

    public void Dispose() => _worker?.Dispose();

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Gather(ReadOnlySpan<int> rows, Span<float> target)
    {
        for (int r = 0; r < rows.Length; r++)
        {
            _data.AsSpan(rows[r] * _dimension, _dimension).CopyTo(target.Slice(r * _dimension, _dimension));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Forward(float[][] activations, int n, bool training)
    {
        for (int l = 0; l < _layers.Length; l++)
        {
            Slot slot = _layers[l];
            var product = new Product(this, slot, n, l, Activations: activations);
            ColumnSplit.Run(slot.Out, 4, _threads, (long)n * slot.In * slot.Out, product, [MethodImpl(MethodImplOptions.AggressiveOptimization)] static (p, j0, j1) =>
                MatrixKernels.TrainingMultiplyTransposed(
                    p.Activations![p.Layer], p.Slot.In,
                    p.Engine._parameters.AsSpan(p.Slot.WeightOffset), p.Slot.In,
                    p.Engine._parameters.AsSpan(p.Slot.BiasOffset, p.Slot.Out),
                    p.Activations![p.Layer + 1], p.Slot.Out,
                    p.Rows, p.Slot.In, j0, j1),
                _worker);
            if (slot.Relu)
            {
                Span<float> output = activations[l + 1].AsSpan(0, n * slot.Out);
                if (training && _dropProbability > 0)
                {
                    ReluDropout(output, l);
                }
                else
                {
                    Elementwise.Relu(output);
                }
            }
        }
    }

    // ReLU then dropout, as the module runs them: masks from one bulk draw per layer and batch.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ReluDropout(Span<float> values, int layer) =>
        Elementwise.ReluDropout(values, SeededDropout.DrawBits(_dropoutRandom, ref _bits[layer], values.Length), _dropThreshold, _keepScale);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private double Loss(float[][] activations, int first, int n)
    {
        ReadOnlySpan<float> x = activations[0].AsSpan(first * _dimension, n * _dimension);
        double sum = Elementwise.SquaredDistance(x, activations[^1].AsSpan(first * _dimension, n * _dimension));

        // Accumulated in double, reported as float like the float32 loss tensor of the original: a
        // loss beyond float range is infinite, which is what stops a diverging run at once.
        return (float)(sum / x.Length);
    }

    /// <summary>The batch loss, and d(loss)/d(reconstruction) = 2 (y − x) / count into the first gradient buffer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private double LossAndOutputGradient(int n)
    {
        double loss = Loss(_activations, 0, n);
        ReadOnlySpan<float> x = _activations[0].AsSpan(0, n * _dimension);
        ReadOnlySpan<float> y = _activations[^1].AsSpan(0, n * _dimension);
        Elementwise.ScaledDifference(y, x, 2f / x.Length, _gradientA.AsSpan(0, x.Length));
        return loss;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Backward(int n)
    {
        float[] outputGradient = _gradientA;
        float[] inputGradient = _gradientB;
        for (int l = _layers.Length - 1; l >= 0; l--)
        {
            Slot slot = _layers[l];
            var product = new Product(this, slot, n, l, outputGradient, inputGradient);

            // Both products of a layer's backward pass produce columns of the layer's input width, so
            // one hand-off per layer covers both: each thread takes the same column range of
            // dW = dZᵀ · X and of dX = dZ · W, then passes its dX columns back through the previous
            // layer's dropout and ReLU. Layer 0 needs no dX: nothing uses the embeddings' gradient.
            // Chunks of whole strips; an input too narrow for two wide strips splits on narrow ones.
            long work = (long)n * slot.In * slot.Out * (l == 0 ? 1 : 2);
            int alignment = slot.In >= 2 * MatrixKernels.StripWidth ? MatrixKernels.StripWidth : MatrixKernels.NarrowStripWidth;
            ColumnSplit.Run(slot.In, alignment, _threads, work, product, [MethodImpl(MethodImplOptions.AggressiveOptimization)] static (p, j0, j1) =>
            {
                MatrixKernels.Multiply(
                    p.OutputGradient, 1, p.Slot.Out,
                    p.Engine._activations[p.Layer], p.Slot.In,
                    p.Engine._gradients.AsSpan(p.Slot.WeightOffset), p.Slot.In,
                    p.Slot.Out, p.Rows, j0, j1);
                if (p.Layer > 0)
                {
                    MatrixKernels.Multiply(
                        p.OutputGradient, p.Slot.Out, 1,
                        p.Engine._parameters.AsSpan(p.Slot.WeightOffset), p.Slot.In,
                        p.InputGradient, p.Slot.In,
                        p.Rows, p.Slot.Out, j0, j1);
                    p.Engine.ThroughReluAndDropout(p.InputGradient!, p.Engine._activations[p.Layer], p.Rows, p.Slot.In, j0, j1);
                }
            },
            _worker);
            BiasGradient(outputGradient.AsSpan(0, n * slot.Out), _gradients.AsSpan(slot.BiasOffset, slot.Out));
            if (l == 0)
            {
                break;
            }

            (outputGradient, inputGradient) = (inputGradient, outputGradient);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BiasGradient(ReadOnlySpan<float> outputGradient, Span<float> bias)
    {
        bias.Clear();
        for (int r = 0; r < outputGradient.Length; r += bias.Length)
        {
            Elementwise.AddTo(bias, outputGradient.Slice(r, bias.Length));
        }
    }

    /// <summary>
    /// Columns [<paramref name="j0"/>, <paramref name="j1"/>) of a gradient with respect to a layer
    /// output that was relu(z) · mask, mask ∈ {0, 1/(1−p)}: an output above zero means both z &gt; 0
    /// and a kept unit, so the gradient passes (scaled) exactly there.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ThroughReluAndDropout(float[] gradient, float[] output, int rows, int width, int j0, int j1)
    {
        float keepScale = _dropProbability > 0 ? _keepScale : 1f;
        for (int r = 0; r < rows; r++)
        {
            Elementwise.KeepWherePositive(gradient.AsSpan((r * width) + j0, j1 - j0), output.AsSpan((r * width) + j0, j1 - j0), keepScale);
        }
    }

    private readonly record struct Slot(int In, int Out, bool Relu, int WeightOffset, int BiasOffset);

    private readonly record struct Product(CpuTrainingEngine Engine, Slot Slot, int Rows, int Layer, float[]? OutputGradient = null, float[]? InputGradient = null, float[][]? Activations = null);
}
