using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using SamCluster.RunStore;
using SamCluster.Hosting.Logging;
using Serilog.Core;
using Serilog.Events;
using Serilog.Parsing;
using Xunit;
using LogEvent = Serilog.Events.LogEvent;

namespace SamCluster.Tests.Cluster;

/// <summary>Which of Akka's events are demoted to Debug, which reach a console, and what Akka.Logger.Serilog hands over.</summary>
public sealed class AkkaLogTests
{
    static readonly MessageTemplateParser Parser = new();

    static LogEvent Event(LogEventLevel level, string sourceContext, string template, Exception? exception = null, params object[] args)
    {
        var properties = new List<LogEventProperty>();
        if (sourceContext != "") properties.Add(new LogEventProperty(Constants.SourceContextPropertyName, new ScalarValue(sourceContext)));
        for (var i = 0; i < args.Length; i++) properties.Add(new LogEventProperty(i.ToString(), new ScalarValue(args[i])));
        return new LogEvent(DateTimeOffset.Now, level, exception, Parser.Parse(template), properties);
    }

    [Fact]
    public void A_peer_leaving_is_demoted_to_Debug_with_its_properties_and_exception_kept()
    {
        var trace = new InvalidOperationException("Disassociated");
        var gated = Event(LogEventLevel.Warning, "Akka.Remote.ReliableDeliverySupervisor",
            "Association with remote system {0} has failed; address is now gated for {1} ms. Reason is: [{2}]", trace,
            "akka.tcp://samcluster@127.0.0.1:4053", 5000, "Disassociated");

        var demoted = AkkaLog.Demoted(gated);

        Assert.Equal(LogEventLevel.Debug, demoted.Level);
        Assert.Same(trace, demoted.Exception);
        Assert.Equal(gated.RenderMessage(), demoted.RenderMessage());
        Assert.Equal("Akka.Remote.ReliableDeliverySupervisor", ((ScalarValue)demoted.Properties["SourceContext"]).Value);
    }

    [Theory]
    [InlineData(LogEventLevel.Error, "Akka.Remote.EndpointWriter", "Disassociated")]
    [InlineData(LogEventLevel.Warning, "Akka.Remote.EndpointWriter", "Tried to associate with unreachable remote address [akka.tcp://samcluster@127.0.0.1:1]. Address is now gated for 5000 ms")]
    [InlineData(LogEventLevel.Warning, "Akka.Remote.EndpointManager", "Association to [akka.tcp://samcluster@127.0.0.1:4053] having UID [12] is irrecoverably failed. UID is now quarantined")]
    [InlineData(LogEventLevel.Error, "Akka.Remote.EndpointWriter", "AssociationError [akka.tcp://samcluster@127.0.0.1:1] -> akka.tcp://samcluster@127.0.0.1:2: Error [Connection refused]")]
    [InlineData(LogEventLevel.Warning, "Akka.Cluster.JoinSeedNodeProcess", "Couldn't join seed nodes after [2] attempts, will try again. seed-nodes=[akka.tcp://samcluster@127.0.0.1:1]")]
    [InlineData(LogEventLevel.Warning, "Akka.Cluster.Tools.Singleton.ClusterSingletonProxy", "ClusterSingletonProxy failed to find an associated singleton named [grid-coordinator] in role [coordinator] after 30 seconds.")]
    [InlineData(LogEventLevel.Warning, "Akka.Cluster.SBR.SplitBrainResolver", "SBR took decision DownUnreachable and is downing [akka.tcp://samcluster@127.0.0.1:4054]")]
    [InlineData(LogEventLevel.Information, "Akka.Cluster.Tools.Singleton.ClusterSingletonManager", "ClusterSingletonManager state change [Oldest -> WasOldest] Akka.Cluster.Tools.Singleton.WasOldestData")]
    [InlineData(LogEventLevel.Information, "Akka.Cluster.Tools.Singleton.ClusterSingletonManager", "Singleton manager stopping singleton actor [akka://samcluster/user/grid-coordinator/grid-coordinator]")]
    [InlineData(LogEventLevel.Information, "Akka.Cluster.Tools.Singleton.ClusterSingletonManager", "Singleton actor [akka://samcluster/user/grid-coordinator/grid-coordinator] was terminated")]
    [InlineData(LogEventLevel.Information, "Akka.Cluster.Tools.Singleton.OldestChangedBuffer", "akka://samcluster/user/grid-coordinator observed OldestChanged: [akka.tcp://samcluster@127.0.0.1:4053 -> ]")]
    [InlineData(LogEventLevel.Information, "Akka.Actor.DeadLetterActorRef", "Message [GossipEnvelope] from [akka://samcluster/system/cluster/core/daemon#1] to [akka://samcluster/deadLetters] was not delivered. [2] dead letters encountered.")]
    [InlineData(LogEventLevel.Information, "Akka.Actor.EmptyLocalActorRef", "Message [LeaseTick] wrapped in [$ScheduledTellMsg] to [akka://samcluster/user/grid-coordinator#3] was not delivered. [1] dead letters encountered.")]
    public void Expected_events_of_a_normal_run_are_demoted(LogEventLevel level, string source, string message)
    {
        var demoted = AkkaLog.Demoted(Event(level, source, message.Replace("{", "{{").Replace("}", "}}")));
        Assert.Equal(LogEventLevel.Debug, demoted.Level);
        Assert.False(AkkaLog.Shown(demoted, verbose: false));
        Assert.True(AkkaLog.Shown(demoted, verbose: true));
    }

    [Theory]
    [InlineData(LogEventLevel.Error, "Akka.Persistence.Sql.Journal.SqlWriteJournal", "Failed to write events for trial fashion-mnist/resnet18/sgd/1")]
    [InlineData(LogEventLevel.Error, "Akka.Remote.EndpointWriter", "AssociationError [akka.ssl.tcp://samcluster@127.0.0.1:1] -> akka.ssl.tcp://samcluster@127.0.0.1:2: Error [The remote certificate is invalid]")]
    [InlineData(LogEventLevel.Warning, "Akka.Cluster.ClusterCoreDaemon", "Cluster Node [akka.tcp://samcluster@127.0.0.1:1] - Marking node(s) as UNREACHABLE [Member(address = akka.tcp://samcluster@127.0.0.1:2)]")]
    [InlineData(LogEventLevel.Information, "Akka.Actor.LocalActorRef", "Message [TrialEpoch] from [akka://samcluster/user/worker-0#1] to [akka://samcluster/user/grid-coordinator#2] was not delivered. [1] dead letters encountered.")]
    [InlineData(LogEventLevel.Fatal, "Akka.Remote.EndpointWriter", "Disassociated")]
    public void A_real_fault_keeps_its_level(LogEventLevel level, string source, string message)
    {
        var e = Event(level, source, message);
        Assert.Equal(level, AkkaLog.Demoted(e).Level);
    }

    [Theory]
    [InlineData("Akka.Remote.Transport.DotNetty.TcpServerHandler", "Error caught channel [[::ffff:127.0.0.1]:39953->[::ffff:127.0.0.1]:58252](Id=35bbc892)")]
    [InlineData("Akka.Remote.EndpointReader", "Error while decoding incoming Akka PDU of length 2041")]
    [InlineData("Akka.Remote.Transport.ProtocolStateActor", "No response from remote for inbound association. Handshake timed out after [15000] ms")]
    [InlineData("Akka.Remote.Transport.DotNetty.TcpServerHandler", "TLS handshake failed on channel [[::ffff:127.0.0.1]:46539->[::ffff:127.0.0.1]:44308](Id=602fc636)\nTLS handshake failed (Server side):")]
    public void Garbage_on_the_remoting_port_is_a_warning_not_an_error(string source, string message)
    {
        Assert.Equal(LogEventLevel.Warning, AkkaLog.Demoted(Event(LogEventLevel.Error, source, message)).Level);
        Assert.Equal(LogEventLevel.Information, AkkaLog.Demoted(Event(LogEventLevel.Information, source, message)).Level);   // never raised
    }

    [Fact]
    public void Our_own_lines_are_never_demoted_whatever_they_say()
    {
        foreach (var source in new[] { "", "SamCluster.GpuNode.TrialWorker" })
            Assert.Equal(LogEventLevel.Warning, AkkaLog.Demoted(Event(LogEventLevel.Warning, source, "Disassociated from the coordinator")).Level);
    }

    [Fact]
    public void A_console_shows_our_information_and_Akkas_warnings()
    {
        Assert.True(AkkaLog.Shown(Event(LogEventLevel.Information, "", "Node node-1 joined the cluster"), verbose: false));
        Assert.True(AkkaLog.Shown(Event(LogEventLevel.Information, "SamCluster.GpuNode.TrialWorker", "Training fashion-mnist/resnet18/sgd/1 (attempt 1) on cpu"), verbose: false));
        Assert.False(AkkaLog.Shown(Event(LogEventLevel.Information, "Akka.Cluster.Tools.Singleton.ClusterSingletonProxy", "Singleton identified at [x]"), verbose: false));
        Assert.False(AkkaLog.Shown(Event(LogEventLevel.Information, "Microsoft.Hosting.Lifetime", "Hosting environment: Production"), verbose: false));
        Assert.True(AkkaLog.Shown(Event(LogEventLevel.Warning, "Akka.Cluster.ClusterCoreDaemon", "Marking node(s) as UNREACHABLE"), verbose: false));
        // The coordinator's console takes only warnings of its actors (it has its own summary lines).
        Assert.False(AkkaLog.Shown(Event(LogEventLevel.Information, "SamCluster.Coordinator.Actors.GridCoordinator", "Not starting x: done"),
            verbose: false, oursFrom: LogEventLevel.Warning));
        Assert.True(AkkaLog.Shown(Event(LogEventLevel.Information, "Akka.Cluster.Tools.Singleton.ClusterSingletonProxy", "Singleton identified at [x]"), verbose: true));
    }

    sealed class Collected : ILogEventSink
    {
        public readonly ConcurrentQueue<LogEvent> Events = new();
        public void Emit(LogEvent logEvent) => Events.Enqueue(logEvent);
    }

    [Fact]
    public void The_hosts_logger_drops_Microsofts_information_and_demotes_on_the_way()
    {
        var sink = new Collected();
        using var target = new Serilog.LoggerConfiguration().MinimumLevel.Verbose().WriteTo.Sink(sink).CreateLogger();
        using var log = AkkaLog.For(target);
        log.ForContext(Constants.SourceContextPropertyName, "Microsoft.Hosting.Lifetime").Information("Hosting environment: {EnvName}", "Production");
        log.ForContext(Constants.SourceContextPropertyName, "Microsoft.Hosting.Lifetime").Warning("The host could not stop in time");
        log.ForContext(Constants.SourceContextPropertyName, "Akka.Remote.EndpointWriter").Error(new Exception("Disassociated"), "Disassociated");

        Assert.Collection(sink.Events,
            e => Assert.Equal((LogEventLevel.Warning, "The host could not stop in time"), (e.Level, e.RenderMessage())),
            e => Assert.Equal((LogEventLevel.Debug, "Disassociated"), (e.Level, e.RenderMessage())));
    }

    sealed class Chatty : ReceiveActor
    {
        public Chatty() => ReceiveAny(_ => Context.GetLogger().Info("Training {0} on {1}", "fashion-mnist/resnet18/sgd/1", "cpu"));
    }

    /// <summary>What the rules above rely on: Akka.Logger.Serilog names an actor's class as the source context, so our
    /// actors' lines are ours, and Akka's own are Akka's.</summary>
    [Fact]
    public async Task Through_Akka_Logger_Serilog_our_actors_lines_are_ours_and_Akkas_are_Akkas()
    {
        var sink = new Collected();
        using var target = new Serilog.LoggerConfiguration().MinimumLevel.Verbose().WriteTo.Sink(sink).CreateLogger();
        var previous = Serilog.Log.Logger;
        Serilog.Log.Logger = AkkaLog.For(target);
        try
        {
            var config = ConfigurationFactory.ParseString("""
                akka.loglevel = INFO
                akka.loggers = ["Akka.Logger.Serilog.SerilogLogger, Akka.Logger.Serilog"]
                akka.logger-formatter = "Akka.Logger.Serilog.SerilogLogMessageFormatter, Akka.Logger.Serilog"
                """);
            using var system = ActorSystem.Create("akka-log-test", config);
            system.ActorOf(Props.Create(() => new Chatty()), "chatty").Tell("go");
            system.Log.Warning("Disassociated");
            Assert.True(SpinWait.SpinUntil(() => sink.Events.Any(e => e.RenderMessage().StartsWith("Training"))
                                                 && sink.Events.Any(e => e.MessageTemplate.Text == "Disassociated"), TimeSpan.FromSeconds(15)));
            await system.Terminate();
        }
        finally
        {
            Serilog.Log.Logger = previous;
        }

        var training = sink.Events.First(e => e.RenderMessage().StartsWith("Training"));
        Assert.Contains("fashion-mnist/resnet18/sgd/1", training.RenderMessage());
        Assert.False(AkkaLog.IsInfrastructure(training));
        Assert.True(AkkaLog.Shown(training, verbose: false));
        var systemWarning = sink.Events.First(e => e.MessageTemplate.Text == "Disassociated");
        Assert.True(AkkaLog.IsInfrastructure(systemWarning));
        Assert.Equal(LogEventLevel.Debug, systemWarning.Level);
    }
}
