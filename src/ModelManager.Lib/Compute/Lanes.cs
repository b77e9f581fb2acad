using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace AgeGroupAnomaly.Compute;

/// <summary>The vector width the kernels run at in this process, chosen once from what the processor (and the runtime's settings) offer.</summary>
internal enum SimdPath
{
    /// <summary>No hardware vectors (for example <c>DOTNET_EnableHWIntrinsic=0</c>): two independent scalar lanes.</summary>
    Scalar,

    /// <summary>16-byte vectors: SSE4 on x64 without AVX2, AdvSimd on ARM64.</summary>
    Vector128,

    /// <summary>32-byte vectors: AVX2 with FMA.</summary>
    Vector256,

    /// <summary>64-byte vectors: AVX-512.</summary>
    Vector512,
}

/// <summary>Which <see cref="SimdPath"/> the kernels take.</summary>
internal static class SimdPaths
{
    /// <summary>
    /// The widest path the runtime accelerates. Every kernel dispatches on the same JIT-time
    /// constants, so a process uses one path throughout and its results are reproducible.
    /// </summary>
    public static SimdPath Active =>
        Vector512.IsHardwareAccelerated ? SimdPath.Vector512
        : Vector256.IsHardwareAccelerated ? SimdPath.Vector256
        : Vector128.IsHardwareAccelerated ? SimdPath.Vector128
        : SimdPath.Scalar;

    /// <summary>
    /// Whether the JIT has 32 vector registers (AVX-512's EVEX encoding, ARM64), so a kernel may
    /// keep 16–24 accumulators at any width; 16 registers on AVX2 and SSE.
    /// </summary>
    public static bool ThirtyTwoRegisters => Vector512.IsHardwareAccelerated || AdvSimd.Arm64.IsSupported;

    /// <summary>Floats per vector on the active path (2 for the scalar path's two lanes).</summary>
    public static int Width => Active switch
    {
        SimdPath.Vector512 => 16,
        SimdPath.Vector256 => 8,
        SimdPath.Vector128 => 4,
        _ => 2,
    };
}

/// <summary>
/// The handful of lane operations the kernels are written in, so one generic kernel serves every
/// width. <see cref="MultiplyAdd(TSelf, TSelf, TSelf)"/> and the scalar
/// <see cref="MultiplyAdd(float, float, float)"/> round the same way on a given path (both fused,
/// or both not), which keeps a kernel's vector body and scalar tail consistent.
/// </summary>
/// <typeparam name="TSelf">The lane type.</typeparam>
internal interface ILanes<TSelf>
    where TSelf : struct, ILanes<TSelf>
{
    /// <summary>Floats per value.</summary>
    static abstract int Count { get; }

    /// <summary>All lanes zero.</summary>
    static abstract TSelf Zero { get; }

    /// <summary>Count floats from <paramref name="source"/> + <paramref name="offset"/>.</summary>
    static abstract TSelf Load(ref float source, nuint offset);

    /// <summary>
    /// Count pairs of bfloat16 values from <paramref name="source"/> + <paramref name="offset"/>
    /// (each lane's 32 bits: the lower value first), widened exactly: the lower values to
    /// <paramref name="lower"/>, the upper to <paramref name="upper"/>.
    /// </summary>
    static abstract void LoadBFloat16Pairs(ref ushort source, nuint offset, out TSelf lower, out TSelf upper);

    /// <summary>Every lane <paramref name="value"/>.</summary>
    static abstract TSelf Broadcast(float value);

    /// <summary>x · y + addend per lane.</summary>
    static abstract TSelf MultiplyAdd(TSelf x, TSelf y, TSelf addend);

    /// <summary>x · y + addend, rounded as the lanes round it.</summary>
    static abstract float MultiplyAdd(float x, float y, float addend);

    /// <summary>x + y per lane.</summary>
    static abstract TSelf Add(TSelf x, TSelf y);

    /// <summary>max(x, 0) per lane, NaN staying NaN.</summary>
    static abstract TSelf Relu(TSelf x);

    /// <summary>The lanes' sum, in a fixed order.</summary>
    static abstract float Sum(TSelf value);

    /// <summary>Whether every lane is finite.</summary>
    static abstract bool AllFinite(TSelf value);

    /// <summary>Writes Count floats to <paramref name="destination"/> + <paramref name="offset"/>.</summary>
    static abstract void Store(TSelf value, ref float destination, nuint offset);
}

/// <summary>AVX-512 lanes (FMA always present).</summary>
internal readonly struct Lanes512 : ILanes<Lanes512>
{
    private readonly Vector512<float> _v;

    private Lanes512(Vector512<float> v) => _v = v;

    public static int Count => 16;

    public static Lanes512 Zero => default;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 Load(ref float source, nuint offset) => new(Vector512.LoadUnsafe(ref source, offset));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void LoadBFloat16Pairs(ref ushort source, nuint offset, out Lanes512 lower, out Lanes512 upper)
    {
        Vector512<uint> pairs = Vector512.LoadUnsafe(ref Unsafe.As<ushort, uint>(ref Unsafe.Add(ref source, offset)));
        lower = new(Vector512.ShiftLeft(pairs, 16).AsSingle());
        upper = new((pairs & Vector512.Create(0xFFFF0000u)).AsSingle());
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 Broadcast(float value) => new(Vector512.Create(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 MultiplyAdd(Lanes512 x, Lanes512 y, Lanes512 addend) => new(Vector512.FusedMultiplyAdd(x._v, y._v, addend._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MultiplyAdd(float x, float y, float addend) => MathF.FusedMultiplyAdd(x, y, addend);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 Add(Lanes512 x, Lanes512 y) => new(x._v + y._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 Relu(Lanes512 x) => new(Vector512.Max(x._v, Vector512<float>.Zero));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Lanes512 value) => Vector512.Sum(value._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool AllFinite(Lanes512 value) => Vector512.EqualsAll(value._v - value._v, Vector512<float>.Zero);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Lanes512 value, ref float destination, nuint offset) => value._v.StoreUnsafe(ref destination, offset);
}

/// <summary>AVX2 lanes (the runtime accelerates Vector256 only with AVX2, which comes with FMA).</summary>
internal readonly struct Lanes256 : ILanes<Lanes256>
{
    private readonly Vector256<float> _v;

    /// <summary>Lanes over a vector (the paired-lane training kernel hands each half of a 512-bit accumulator to the 256-bit tile's row finish).</summary>
    internal Lanes256(Vector256<float> v) => _v = v;

    public static int Count => 8;

    public static Lanes256 Zero => default;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 Load(ref float source, nuint offset) => new(Vector256.LoadUnsafe(ref source, offset));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void LoadBFloat16Pairs(ref ushort source, nuint offset, out Lanes256 lower, out Lanes256 upper)
    {
        Vector256<uint> pairs = Vector256.LoadUnsafe(ref Unsafe.As<ushort, uint>(ref Unsafe.Add(ref source, offset)));
        lower = new(Vector256.ShiftLeft(pairs, 16).AsSingle());
        upper = new((pairs & Vector256.Create(0xFFFF0000u)).AsSingle());
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 Broadcast(float value) => new(Vector256.Create(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 MultiplyAdd(Lanes256 x, Lanes256 y, Lanes256 addend) => new(Vector256.FusedMultiplyAdd(x._v, y._v, addend._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MultiplyAdd(float x, float y, float addend) => MathF.FusedMultiplyAdd(x, y, addend);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 Add(Lanes256 x, Lanes256 y) => new(x._v + y._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 Relu(Lanes256 x) => new(Vector256.Max(x._v, Vector256<float>.Zero));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Lanes256 value) => Vector256.Sum(value._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool AllFinite(Lanes256 value) => Vector256.EqualsAll(value._v - value._v, Vector256<float>.Zero);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Lanes256 value, ref float destination, nuint offset) => value._v.StoreUnsafe(ref destination, offset);
}

/// <summary>
/// 16-byte lanes: SSE on x64 without AVX2 (no FMA there, so multiply then add, never the slow
/// software FMA), AdvSimd on ARM64 (fused).
/// </summary>
internal readonly struct Lanes128 : ILanes<Lanes128>
{
    private readonly Vector128<float> _v;

    private Lanes128(Vector128<float> v) => _v = v;

    public static int Count => 4;

    public static Lanes128 Zero => default;

    /// <summary>Whether multiply-adds are fused here (x86 FMA or ARM64 AdvSimd); without, a multiply then an add.</summary>
    internal static bool Fused => Fma.IsSupported || AdvSimd.IsSupported;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 Load(ref float source, nuint offset) => new(Vector128.LoadUnsafe(ref source, offset));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void LoadBFloat16Pairs(ref ushort source, nuint offset, out Lanes128 lower, out Lanes128 upper)
    {
        Vector128<uint> pairs = Vector128.LoadUnsafe(ref Unsafe.As<ushort, uint>(ref Unsafe.Add(ref source, offset)));
        lower = new(Vector128.ShiftLeft(pairs, 16).AsSingle());
        upper = new((pairs & Vector128.Create(0xFFFF0000u)).AsSingle());
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 Broadcast(float value) => new(Vector128.Create(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 MultiplyAdd(Lanes128 x, Lanes128 y, Lanes128 addend) =>
        new(Fused ? Vector128.FusedMultiplyAdd(x._v, y._v, addend._v) : (x._v * y._v) + addend._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MultiplyAdd(float x, float y, float addend) => Fused ? MathF.FusedMultiplyAdd(x, y, addend) : (x * y) + addend;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 Add(Lanes128 x, Lanes128 y) => new(x._v + y._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 Relu(Lanes128 x) => new(Vector128.Max(x._v, Vector128<float>.Zero));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Lanes128 value) => Vector128.Sum(value._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool AllFinite(Lanes128 value) => Vector128.EqualsAll(value._v - value._v, Vector128<float>.Zero);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Lanes128 value, ref float destination, nuint offset) => value._v.StoreUnsafe(ref destination, offset);
}

/// <summary>
/// Two plain float lanes for a runtime without hardware vectors: the software Vector128 is two
/// orders of magnitude slower, while independent scalar chains keep the FPU's pipelines busy (two
/// lanes, so a four-row dot product's eight accumulators stay in the sixteen registers). Multiply
/// then add (a software fused multiply-add would be slow).
/// </summary>
internal readonly struct LanesScalar : ILanes<LanesScalar>
{
    private readonly float _a, _b;

    private LanesScalar(float a, float b) => (_a, _b) = (a, b);

    public static int Count => 2;

    public static LanesScalar Zero => default;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static LanesScalar Load(ref float source, nuint offset)
    {
        ref float r = ref Unsafe.Add(ref source, offset);
        return new(r, Unsafe.Add(ref r, 1));
    }

    /// <summary>Two bfloat16 values widened exactly (the scalar path's row-major compact weights).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static LanesScalar LoadBFloat16(ref ushort source, nuint offset)
    {
        ref ushort r = ref Unsafe.Add(ref source, offset);
        return new(BFloat16.ToSingle(r), BFloat16.ToSingle(Unsafe.Add(ref r, 1)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void LoadBFloat16Pairs(ref ushort source, nuint offset, out LanesScalar lower, out LanesScalar upper)
    {
        ref ushort r = ref Unsafe.Add(ref source, offset);
        lower = new(BFloat16.ToSingle(r), BFloat16.ToSingle(Unsafe.Add(ref r, 2)));
        upper = new(BFloat16.ToSingle(Unsafe.Add(ref r, 1)), BFloat16.ToSingle(Unsafe.Add(ref r, 3)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static LanesScalar Broadcast(float value) => new(value, value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static LanesScalar MultiplyAdd(LanesScalar x, LanesScalar y, LanesScalar addend) =>
        new((x._a * y._a) + addend._a, (x._b * y._b) + addend._b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MultiplyAdd(float x, float y, float addend) => (x * y) + addend;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static LanesScalar Add(LanesScalar x, LanesScalar y) => new(x._a + y._a, x._b + y._b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static LanesScalar Relu(LanesScalar x) => new(MathF.Max(x._a, 0f), MathF.Max(x._b, 0f));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(LanesScalar value) => value._a + value._b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool AllFinite(LanesScalar value) => float.IsFinite(value._a) && float.IsFinite(value._b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(LanesScalar value, ref float destination, nuint offset)
    {
        ref float r = ref Unsafe.Add(ref destination, offset);
        r = value._a;
        Unsafe.Add(ref r, 1) = value._b;
    }
}

/// <summary>bfloat16 as the upper 16 bits of a float: exact to widen, rounded to nearest (ties to even) to narrow.</summary>
internal static class BFloat16
{
    /// <summary>The float whose upper half is <paramref name="value"/> (exact).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ToSingle(ushort value) => BitConverter.UInt32BitsToSingle((uint)value << 16);

    /// <summary>The nearest bfloat16 (ties to even); NaN stays NaN.</summary>
    public static ushort FromSingle(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value))
        {
            return (ushort)((bits >> 16) | 0x40); // quiet NaN, whatever the payload
        }

        uint roundingBias = 0x7FFF + ((bits >> 16) & 1);
        return (ushort)((bits + roundingBias) >> 16);
    }
}
