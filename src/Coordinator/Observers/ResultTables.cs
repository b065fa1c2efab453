using System.Globalization;
using System.Text;
using SamCluster.Coordinator.Lifecycle;
using SamCluster.Messages;

namespace SamCluster.Coordinator.Observers;

/// <summary>
/// trials.csv (one row per finished trial, rewritten whole from the coordinator's state whenever a trial finishes, so a
/// trial appears exactly once whatever was retried or resent) and epochs.csv (one row per epoch of every attempt, with
/// its attempt number: rebuilt from the journal on start, then appended to as each epoch is journaled). cell holds the
/// recipe values a grid with axes varies ("lr=0.01,rho=0.1", empty otherwise).
/// </summary>
public static class ResultTables
{
    public const string TrialsHeader =
        "dataset,model,optimizer,repeat,seed,status,epochs,train_acc,test_acc,train_loss,test_loss,seconds,node,device,attempts,reason,cell";

    public const string EpochsHeader =
        "dataset,model,optimizer,repeat,epoch,train_loss,train_acc,test_loss,test_acc,lr,seconds,images_per_second,cell,attempt";

    public static string TrialsCsv(IEnumerable<BoardEntry> trials)
    {
        var sb = new StringBuilder(TrialsHeader).Append('\n');
        foreach (var t in trials.OrderBy(t => t.Spec.Key.Id, StringComparer.Ordinal))
        {
            var k = t.Spec.Key;
            var s = t.State.Summary;
            sb.AppendJoin(',',
                k.Dataset, k.Model, k.Optimizer, Num(k.Repeat), Num(t.Spec.Seed), t.StatusName,
                Num(s?.Epochs ?? t.State.Epochs.Count),
                Num(s?.TrainAcc), Num(s?.TestAcc), Num(s?.TrainLoss), Num(s?.TestLoss),
                Num(s?.Seconds ?? t.State.Epochs.Sum(e => e.Seconds)),
                Csv(t.State.Node), Csv(t.State.Device), Num(t.State.Attempt),
                Csv(t.Completed == true ? null : t.State.LastFailure), Csv(k.Cell)).Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>epochs.csv as the journal has it: every epoch of every attempt (a failed or superseded attempt's too),
    /// by trial id, attempt and epoch.</summary>
    public static string EpochsCsv(IEnumerable<BoardEntry> trials)
    {
        var sb = new StringBuilder(EpochsHeader).Append('\n');
        foreach (var t in trials.OrderBy(t => t.Spec.Key.Id, StringComparer.Ordinal))
            foreach (var attempt in t.State.Attempts.OrderBy(a => a.Number))
                foreach (var e in attempt.Epochs.OrderBy(e => e.Epoch))
                    sb.Append(EpochRow(t.Spec.Key, attempt.Number, e));
        return sb.ToString();
    }

    /// <summary>One line of epochs.csv, with its newline.</summary>
    public static string EpochRow(TrialKey k, int attempt, EpochMetrics e) =>
        string.Join(',', k.Dataset, k.Model, k.Optimizer, Num(k.Repeat), Num(e.Epoch),
            Num(e.TrainLoss), Num(e.TrainAcc), Num(e.TestLoss), Num(e.TestAcc), Num(e.LearningRate),
            Num(e.Seconds), Num(e.ImagesPerSecond), Csv(k.Cell), Num(attempt)) + "\n";

    static string Num(double? v) => v is null ? "" : v.Value.ToString("R", CultureInfo.InvariantCulture);
    static string Num(long v) => v.ToString(CultureInfo.InvariantCulture);

    static string Csv(string? v)
    {
        if (string.IsNullOrEmpty(v)) return "";
        return v.IndexOfAny([',', '"', '\n', '\r']) < 0 ? v : "\"" + v.Replace("\"", "\"\"").Replace('\n', ' ').Replace('\r', ' ') + "\"";
    }
}
