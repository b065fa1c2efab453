using SamCluster.Messages;
using SamCluster.Experiment;

namespace SamCluster.Reporting;

/// <summary>How the report compares optimizers. Control is the baseline every other optimizer is compared with.</summary>
/// <param name="Sequential">The run's group-sequential design (run.json's `sequential`), null for a fixed-repeats run:
/// each comparison then states its looks and decision.</param>
public sealed record ReportOptions(
    Alternative Alternative = Alternative.Greater,
    TestKind Test = TestKind.Welch,
    string Control = Experiment.Vocabulary.SgdName,
    bool Curves = true,
    SequentialPlan? Sequential = null)
{
    public static Alternative ParseAlternative(string text) => text.Trim().ToLowerInvariant() switch
    {
        "greater" => Alternative.Greater,
        "two-sided" or "two_sided" or "twosided" => Alternative.TwoSided,
        "less" => Alternative.Less,
        _ => throw new UserInputException($"--alternative must be greater, two-sided or less, got '{text}'"),
    };

    public static TestKind ParseTest(string text) => text.Trim().ToLowerInvariant() switch
    {
        "welch" => TestKind.Welch,
        "student" => TestKind.Student,
        "paired" => TestKind.Paired,
        "mann-whitney" or "mannwhitney" or "mann_whitney" => TestKind.MannWhitney,
        _ => throw new UserInputException($"--test must be welch, student, paired or mann-whitney, got '{text}'"),
    };

    public static string Name(Alternative alternative) => alternative switch
    {
        Alternative.Greater => "greater",
        Alternative.Less => "less",
        _ => "two-sided",
    };

    public static string Name(TestKind test) => test switch
    {
        TestKind.Welch => "welch",
        TestKind.Student => "student",
        TestKind.Paired => "paired",
        _ => "mann-whitney",
    };
}
