using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Akka.Actor;
using Akka.Configuration;
using SamCluster.Cli.Hosting;
using SamCluster.Messages;
using Xunit;

namespace SamCluster.Tests.Deploy;

/// <summary>Remoting over TLS on loopback, with a self-signed certificate made in the test: TLS systems talk to each
/// other; a plaintext system cannot reach a TLS one.</summary>
public sealed class RemotingTlsTests : IDisposable
{
    const string Password = "pa\"ss\\word";
    readonly string folder = Directory.CreateTempSubdirectory("samcluster-tls-").FullName;
    readonly List<ActorSystem> systems = [];

    public void Dispose()
    {
        foreach (var system in systems) system.Terminate().Wait(TimeSpan.FromSeconds(10));
        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public async Task Message_round_trips_between_two_tls_systems()
    {
        var certificate = WriteSelfSignedPfx("cluster.pfx", Password);
        var tls = RemotingTls.Hocon(certificate, Password, suppressValidation: true);
        var server = Start("server", tls);
        server.ActorOf(Props.Create(() => new Echo()), "echo");
        var client = Start("client", tls);

        var reply = await client.ActorSelection(EchoPath(server)).Ask<string>("ping", TimeSpan.FromSeconds(15));

        Assert.Equal("echo:ping", reply);
    }

    [Fact]
    public async Task Plaintext_system_cannot_reach_a_tls_system()
    {
        var certificate = WriteSelfSignedPfx("cluster.pfx", Password);
        var server = Start("server", RemotingTls.Hocon(certificate, Password, suppressValidation: true));
        server.ActorOf(Props.Create(() => new Echo()), "echo");
        var plaintext = Start("plain", RemotingTls.Hocon(null, null, suppressValidation: true));
        // A TLS system's address says akka.ssl.tcp; a plaintext one can only dial akka.tcp, so it tries the same port so.
        var serverAddress = ((ExtendedActorSystem)server).Provider.DefaultAddress;
        Assert.Equal(RemotingTls.Protocol, serverAddress.Protocol);
        var plaintextPath = $"akka.tcp://{serverAddress.System}@{serverAddress.Host}:{serverAddress.Port}/user/echo";

        await Assert.ThrowsAsync<AskTimeoutException>(() =>
            plaintext.ActorSelection(plaintextPath).Ask<string>("ping", TimeSpan.FromSeconds(3)));
    }

    [Fact]
    public async Task Untrusted_certificate_is_refused_when_validation_is_on()
    {
        // The self-signed certificate chains to no trusted root, so with validation both handshakes fail.
        var certificate = WriteSelfSignedPfx("cluster.pfx", Password);
        var tls = RemotingTls.Hocon(certificate, Password, suppressValidation: false);
        var server = Start("server", tls);
        server.ActorOf(Props.Create(() => new Echo()), "echo");
        var client = Start("client", tls);

        await Assert.ThrowsAsync<AskTimeoutException>(() =>
            client.ActorSelection(EchoPath(server)).Ask<string>("ping", TimeSpan.FromSeconds(3)));
    }

    [Fact]
    public void Command_line_options_build_the_hocon()
    {
        var certificate = WriteSelfSignedPfx("cluster.pfx", Password);
        var options = new RemotingTlsOptions();
        var command = new System.CommandLine.Command("node");
        options.AddTo(command);

        Assert.Equal("", options.Hocon(command.Parse([])));
        Assert.Contains("suppress-validation = true",
            options.Hocon(command.Parse(["--tls-cert", certificate, "--tls-password", Password, "--tls-no-verify"])));
        Assert.Throws<UserInputException>(() => options.Hocon(command.Parse(["--tls-no-verify"])));
    }

    [Fact]
    public void No_certificate_means_no_tls_settings() =>
        Assert.Equal("", RemotingTls.Hocon(null, "ignored", suppressValidation: false));

    [Fact]
    public void Hocon_names_the_certificate_and_parses()
    {
        var certificate = WriteSelfSignedPfx("cluster.pfx", Password);
        var config = ConfigurationFactory.ParseString(RemotingTls.Hocon(certificate, Password, suppressValidation: false));

        Assert.True(config.GetBoolean("akka.remote.dot-netty.tcp.enable-ssl"));
        Assert.False(config.GetBoolean("akka.remote.dot-netty.tcp.ssl.suppress-validation"));
        Assert.Equal(certificate, config.GetString("akka.remote.dot-netty.tcp.ssl.certificate.path"));
        Assert.Equal(Password, config.GetString("akka.remote.dot-netty.tcp.ssl.certificate.password"));
    }

    [Fact]
    public void Missing_certificate_file_is_a_user_error()
    {
        var missing = Path.Combine(folder, "nope.pfx");
        var error = Assert.Throws<UserInputException>(() => RemotingTls.Hocon(missing, null, suppressValidation: true));
        Assert.Contains("nope.pfx", error.Message);
        Assert.Contains("does not exist", error.Message);
    }

    [Fact]
    public void Wrong_password_is_a_user_error()
    {
        var certificate = WriteSelfSignedPfx("cluster.pfx", Password);
        var error = Assert.Throws<UserInputException>(() => RemotingTls.Hocon(certificate, "wrong", suppressValidation: true));
        Assert.Contains("cannot be opened", error.Message);
    }

    [Fact]
    public void Garbage_file_is_a_user_error()
    {
        var garbage = Path.Combine(folder, "garbage.pfx");
        File.WriteAllText(garbage, "not a certificate");
        var error = Assert.Throws<UserInputException>(() => RemotingTls.Hocon(garbage, null, suppressValidation: true));
        Assert.Contains("garbage.pfx", error.Message);
    }

    [Fact]
    public void Certificate_without_private_key_is_a_user_error()
    {
        using var key = RSA.Create(2048);
        using var withKey = SelfSigned(key);
        using var publicOnly = X509CertificateLoader.LoadCertificate(withKey.Export(X509ContentType.Cert));
        var path = Path.Combine(folder, "public.pfx");
        File.WriteAllBytes(path, publicOnly.Export(X509ContentType.Pkcs12, "x"));

        var error = Assert.Throws<UserInputException>(() => RemotingTls.Hocon(path, "x", suppressValidation: true));
        Assert.Contains("no private key", error.Message);
    }

    ActorSystem Start(string name, string tlsHocon)
    {
        var config = ConfigurationFactory.ParseString(tlsHocon).WithFallback(ConfigurationFactory.ParseString("""
            akka.loglevel = WARNING
            akka.actor.provider = remote
            akka.remote.dot-netty.tcp.hostname = 127.0.0.1
            akka.remote.dot-netty.tcp.port = 0
            akka.remote.transport-failure-detector.acceptable-heartbeat-pause = 5s
            """));
        var system = ActorSystem.Create("tls-" + name, config);
        systems.Add(system);
        return system;
    }

    static string EchoPath(ActorSystem system) =>
        ((ExtendedActorSystem)system).Provider.DefaultAddress + "/user/echo";

    string WriteSelfSignedPfx(string fileName, string password)
    {
        using var key = RSA.Create(2048);
        using var certificate = SelfSigned(key);
        var path = Path.Combine(folder, fileName);
        File.WriteAllBytes(path, certificate.Export(X509ContentType.Pkcs12, password));
        return path;
    }

    static X509Certificate2 SelfSigned(RSA key)
    {
        var request = new CertificateRequest("CN=samcluster-test", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(System.Net.IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], critical: false)); // server + client auth
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
    }

    sealed class Echo : ReceiveActor
    {
        public Echo() => Receive<string>(text => Sender.Tell("echo:" + text));
    }
}
