using System.Reflection;
using System.Reflection.Emit;
using SamCluster.Training;
using TorchSharp;
using Xunit;

namespace SamCluster.Tests.Architecture;

/// <summary>Training hands TorchSharp only Scalars it holds until the native call has returned (<see cref="KeptScalars"/>):
/// in the compiled Training assembly, outside KeptScalars, no method makes a Scalar (implicit conversions included) or
/// calls a TorchSharp method that takes one or makes a temporary one itself. Read from the IL, so a `t.add_(1.0)`
/// anywhere fails it. (BatchNorm's forward, the other temporary inside TorchSharp, is ModelTests' to check.)</summary>
public sealed class ScalarLifetimeTests
{
    const BindingFlags Declared = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!).ToDictionary(o => o.Value);

    // Tensor methods without a Scalar parameter that pass libtorch a temporary alpha of 1 (TorchSharp 0.107's source).
    static readonly HashSet<string> TemporaryAlpha = ["add", "add_", "sub", "sub_", "op_Addition", "op_Subtraction"];

    [Fact]
    public void Training_passes_TorchSharp_only_Scalars_it_holds()
    {
        var problems = Methods(typeof(KeptScalars).Assembly.GetTypes().Where(t => t != typeof(KeptScalars)))
            .SelectMany(m => Callees(m).Select(callee => (Caller: m, Callee: callee, Why: Why(callee))))
            .Where(c => c.Why is not null)
            .Select(c => $"{c.Caller.DeclaringType?.FullName}.{c.Caller.Name} calls {c.Callee.DeclaringType?.Name}.{c.Callee.Name}: {c.Why}")
            .Distinct().ToList();
        Assert.True(problems.Count == 0, "use KeptScalars instead:\n" + string.Join("\n", problems));

        // The reading sees what it looks for: KeptScalars itself makes Scalars and passes them.
        var kept = Methods([typeof(KeptScalars)]).SelectMany(Callees).Select(Why).ToList();
        Assert.Contains("a Scalar made here", kept);
        Assert.Contains("a Scalar argument", kept);
    }

    static IEnumerable<MethodBase> Methods(IEnumerable<Type> types) =>
        types.SelectMany(t => t.GetMethods(Declared).Cast<MethodBase>().Concat(t.GetConstructors(Declared)));

    static string? Why(MethodBase callee)
    {
        var type = callee.DeclaringType;
        if (type?.Assembly != typeof(Scalar).Assembly) return null;
        if (type == typeof(Scalar) && callee.Name == "op_Implicit" || type == typeof(ScalarExtensionMethods)) return "a Scalar made here";
        if (callee.GetParameters().Any(p => p.ParameterType == typeof(Scalar))) return "a Scalar argument";
        if (type == typeof(torch.Tensor) && TemporaryAlpha.Contains(callee.Name)) return "TorchSharp passes a temporary alpha of 1";
        return null;
    }

    /// <summary>Every method a method's IL calls, loads a pointer to or constructs.</summary>
    static IEnumerable<MethodBase> Callees(MethodBase method)
    {
        if (method.GetMethodBody()?.GetILAsByteArray() is not { } il) yield break;
        var typeArguments = method.DeclaringType is { IsGenericType: true } generic ? generic.GetGenericArguments() : null;
        var methodArguments = method.IsGenericMethod ? method.GetGenericArguments() : null;
        for (int i = 0; i < il.Length;)
        {
            var op = il[i] == 0xFE ? OpCodesByValue[unchecked((short)(0xFE00 | il[i + 1]))] : OpCodesByValue[il[i]];
            i += op.Size;
            if (op.OperandType == OperandType.InlineMethod)
                yield return method.Module.ResolveMethod(BitConverter.ToInt32(il, i), typeArguments, methodArguments)!;
            i += op.OperandType switch
            {
                OperandType.InlineNone => 0,
                OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
                OperandType.InlineVar => 2,
                OperandType.InlineI8 or OperandType.InlineR => 8,
                OperandType.InlineSwitch => 4 + 4 * BitConverter.ToInt32(il, i),
                _ => 4,
            };
        }
    }
}
