using TorchSharp;
using static TorchSharp.torch;

namespace SamCluster.Training;

/// <summary>The Scalar-taking tensor operations training uses, called so that each Scalar outlives its native call.
/// TorchSharp (0.107) passes libtorch a Scalar's native handle and keeps nothing alive meanwhile (no GC.KeepAlive), so a
/// Scalar that no variable holds — every implicit number → Scalar conversion, and the alpha of 1 that add_(Tensor) and
/// BatchNorm's forward create inside TorchSharp — can be collected by a garbage collection another thread starts while
/// libtorch still reads it; its finalizer then frees the native Scalar under libtorch's feet: "Expected false to be true
/// … toFloat", "Unknown scalar type", a wrong alpha check, or silently wrong values. It takes other threads allocating
/// (trials side by side in a node, Akka, tests in parallel), hence "only sometimes". Here each Scalar is a using local:
/// alive until the call has returned, then freed at once. Training passes TorchSharp no Scalar any other way (an
/// architecture test checks the compiled code).</summary>
public static class KeptScalars
{
    /// <summary>t += other.</summary>
    public static Tensor AddInPlace(this Tensor t, Tensor other)
    {
        using var one = 1.ToScalar();   // an int, as TorchSharp's add_(Tensor) passes it
        t.add_(other, one);
        GC.KeepAlive(other);
        return t;
    }

    /// <summary>t += alpha · other.</summary>
    public static Tensor AddInPlace(this Tensor t, Tensor other, double alpha)
    {
        using var scale = alpha.ToScalar();
        t.add_(other, scale);
        GC.KeepAlive(other);
        return t;
    }

    /// <summary>t += value (a float64 Scalar, as the implicit conversion of a double makes).</summary>
    public static Tensor AddInPlace(this Tensor t, double value)
    {
        using var scalar = value.ToScalar();
        using var one = 1.ToScalar();
        return t.add_(scalar, one);
    }

    /// <summary>t += value (an int Scalar: integer tensors such as BatchNorm's batch count).</summary>
    public static Tensor AddInPlace(this Tensor t, int value)
    {
        using var scalar = value.ToScalar();
        using var one = 1.ToScalar();
        return t.add_(scalar, one);
    }

    /// <summary>t += value · a · b, with no temporary the size of t (b may be a 0-dim factor that stays on the device).
    /// A temporary of a whole flat buffer costs a fresh allocation and its page faults at every step: on a CPU that was
    /// most of Momentum-SAM's step.</summary>
    public static Tensor AddProductInPlace(this Tensor t, Tensor a, Tensor b, double value)
    {
        using var scalar = value.ToScalar();
        t.addcmul_(a, b, scalar);
        GC.KeepAlive(a);
        GC.KeepAlive(b);
        return t;
    }

    /// <summary>t *= factor.</summary>
    public static Tensor MulInPlace(this Tensor t, double factor)
    {
        using var scalar = factor.ToScalar();
        return t.mul_(scalar);
    }

    /// <summary>t = t ^ exponent.</summary>
    public static Tensor PowInPlace(this Tensor t, int exponent)
    {
        using var scalar = exponent.ToScalar();
        return t.pow_(scalar);
    }
}
