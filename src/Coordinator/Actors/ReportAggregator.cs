using Akka.Actor;

namespace SamCluster.Coordinator.Actors;

/// <summary>
/// Builds the study's report (statistics, tables, curves) once every trial has finished. The work itself is a plain
/// function over the run folder (trials.csv, epochs.csv), so `samcluster report` and tests use it without actors; here it
/// runs off the actor thread and its result (the table to print) goes back to the coordinator.
/// </summary>
public sealed class ReportAggregator : ReceiveActor
{
    public sealed record BuildReport;

    public ReportAggregator(Func<string> writeReport)
    {
        Receive<BuildReport>(_ =>
        {
            var replyTo = Sender;
            Task.Run(writeReport)
                .PipeTo(replyTo, success: table => new GridCoordinator.ReportWritten(table), failure: e => new Status.Failure(e));
        });
    }

    public static Props Props(Func<string> writeReport) =>
        Akka.Actor.Props.Create(() => new ReportAggregator(writeReport));
}
