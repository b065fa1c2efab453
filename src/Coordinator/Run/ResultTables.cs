using System.Globalization;
using System.Text;
using SamCluster.Coordinator.Lifecycle;

namespace SamCluster.Coordinator.Run;

/// <summary>
/// trials.csv (one row per finished trial) and epochs.csv (one row per trial-epoch); the last column, cell, holds the
/// recipe values a grid with axes varies ("lr=0.01,rho=0.1", empty otherwise). Both are rewritten whole from the
/// coordinator's state on every change, so a trial appears exactly once whatever was retried or resent.
/// </summary>
public static class ResultTables
{
    public const string TrialsHeader =
        "dataset,model,optimizer,repeat,seed,status,epochs,train_acc,test_acc,train_loss,test_loss,seconds,node,device,attempts,reason,cell";

    public const string EpochsHeader =
        "dataset,model,optimizer,repeat,epoch,train_loss,train_acc,test_loss,test_acc,lr,seconds,images_per_second,cell";

    public static string TrialsCsv(IEnumerable<FinishedTrial> trials)
    {
        var sb = new StringBuilder(TrialsHeader).Append('\n');
        foreach (var t in trials.OrderBy(t => t.Spec.Key.Id, StringComparer.Ordinal))
        {
            var k = t.Spec.Key;
            var s = t.State.Summary;
            sb.AppendJoin(',',
                k.Dataset, k.Model, k.Optimizer, Num(k.Repeat), Num(t.Spec.Seed), t.Status,
                Num(s?.Epochs ?? t.State.Epochs.Count),
                Num(s?.TrainAcc), Num(s?.TestAcc), Num(s?.TrainLoss), Num(s?.TestLoss),
                Num(s?.Seconds ?? t.State.Epochs.Sum(e => e.Seconds)),
                Csv(t.State.Node), Csv(t.State.Device), Num(t.State.Attempt),
                Csv(t.Completed ? null : t.State.LastFailure), Csv(k.Cell)).Append('\n');
        }
        return sb.ToString();
    }

    public static string EpochsCsv(IEnumerable<FinishedTrial> trials)
    {
        var sb = new StringBuilder(EpochsHeader).Append('\n');
        foreach (var t in trials.Where(t => t.Completed).OrderBy(t => t.Spec.Key.Id, StringComparer.Ordinal))
        {
            var k = t.Spec.Key;
            foreach (var e in t.State.Epochs.OrderBy(e => e.Epoch))
                sb.AppendJoin(',', k.Dataset, k.Model, k.Optimizer, Num(k.Repeat), Num(e.Epoch),
                    Num(e.TrainLoss), Num(e.TrainAcc), Num(e.TestLoss), Num(e.TestAcc), Num(e.LearningRate),
                    Num(e.Seconds), Num(e.ImagesPerSecond), Csv(k.Cell)).Append('\n');
        }
        return sb.ToString();
    }

    static string Num(double? v) => v is null ? "" : v.Value.ToString("R", CultureInfo.InvariantCulture);
    static string Num(long v) => v.ToString(CultureInfo.InvariantCulture);

    static string Csv(string? v)
    {
        if (string.IsNullOrEmpty(v)) return "";
        return v.IndexOfAny([',', '"', '\n', '\r']) < 0 ? v : "\"" + v.Replace("\"", "\"\"").Replace('\n', ' ').Replace('\r', ' ') + "\"";
    }
}
