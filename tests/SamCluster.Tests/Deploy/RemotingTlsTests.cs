using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Akka.Actor;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SamCluster.Cli.Commands;
using SamCluster.Hosting;
using SamCluster.Messages;
using Xunit;

namespace SamCluster.Tests.Deploy;

/// <summary>Remoting over TLS on loopback, with a self-signed certificate made in the test: TLS systems talk to each
/// other; a plaintext system cannot reach a TLS one. The systems get their remoting options from
/// <see cref="ClusterMember.Remoting"/>, as the processes do.</summary>
public sealed class RemotingTlsTests : IDisposable
{
    const string Password = "pa\"ss\\word";
    readonly string _folder = Directory.CreateTempSubdirectory("samcluster-tls-").FullName;
    readonly List<IHost> _hosts = [];

    public void Dispose()
    {
        foreach (var host in _hosts)
        {
            host.StopAsync().Wait(TimeSpan.FromSeconds(10));
            host.Dispose();
        }
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task Message_round_trips_between_two_tls_systems()
    {
        var certificate = WriteSelfSignedPfx("cluster.pfx", Password);
        var tls = RemotingTls.Open(certificate, Password, suppressValidation: true);
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
        var server = Start("server", RemotingTls.Open(certificate, Password, suppressValidation: true));
        server.ActorOf(Props.Create(() => new Echo()), "echo");
        var plaintext = Start("plain", RemotingTls.Open(null, null, suppressValidation: true));
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
        var tls = RemotingTls.Open(certificate, Password, suppressValidation: false);
        var server = Start("server", tls);
        server.ActorOf(Props.Create(() => new Echo()), "echo");
        var client = Start("client", tls);

        await Assert.ThrowsAsync<AskTimeoutException>(() =>
            client.ActorSelection(EchoPath(server)).Ask<string>("ping", TimeSpan.FromSeconds(3)));
    }

    [Fact]
    public void Command_line_options_open_the_certificate()
    {
        var certificate = WriteSelfSignedPfx("cluster.pfx", Password);
        var options = new RemotingTlsOptions();
        var command = new System.CommandLine.Command("node");
        options.AddTo(command);

        Assert.Null(options.Open(command.Parse([])));
        var tls = options.Open(command.Parse(["--tls-cert", certificate, "--tls-password", Password, "--tls-no-verify"]));
        Assert.NotNull(tls);
        Assert.True(tls.SuppressValidation);
        Assert.Equal(certificate, tls.CertificatePath);
        Assert.Throws<UserInputException>(() => options.Open(command.Parse(["--tls-no-verify"])));
    }

    [Fact]
    public void No_certificate_means_no_tls() =>
        Assert.Null(RemotingTls.Open(null, "ignored", suppressValidation: false));

    [Fact]
    public void Remoting_options_carry_the_opened_certificate_and_mutual_authentication()
    {
        var certificate = WriteSelfSignedPfx("cluster.pfx", Password);
        var tls = RemotingTls.Open(certificate, Password, suppressValidation: false)!;

        var remote = ClusterMember.Remoting(Member(tls));

        Assert.True(remote.EnableSsl);
        Assert.NotNull(remote.Ssl);
        Assert.Same(tls.Certificate, remote.Ssl.X509Certificate);
        Assert.True(remote.Ssl.X509Certificate!.HasPrivateKey);
        Assert.False(remote.Ssl.SuppressValidation);
        Assert.True(remote.Ssl.RequireMutualAuthentication);
        Assert.Null(ClusterMember.Remoting(Member(null)).EnableSsl);
    }

    [Fact]
    public void Missing_certificate_file_is_a_user_error()
    {
        var missing = Path.Combine(_folder, "nope.pfx");
        var error = Assert.Throws<UserInputException>(() => RemotingTls.Open(missing, null, suppressValidation: true));
        Assert.Contains("nope.pfx", error.Message);
        Assert.Contains("does not exist", error.Message);
    }

    [Fact]
    public void Wrong_password_is_a_user_error()
    {
        var certificate = WriteSelfSignedPfx("cluster.pfx", Password);
        var error = Assert.Throws<UserInputException>(() => RemotingTls.Open(certificate, "wrong", suppressValidation: true));
        Assert.Contains("cannot be opened", error.Message);
    }

    [Fact]
    public void Garbage_file_is_a_user_error()
    {
        var garbage = Path.Combine(_folder, "garbage.pfx");
        File.WriteAllText(garbage, "not a certificate");
        var error = Assert.Throws<UserInputException>(() => RemotingTls.Open(garbage, null, suppressValidation: true));
        Assert.Contains("garbage.pfx", error.Message);
    }

    [Fact]
    public void Certificate_without_private_key_is_a_user_error()
    {
        using var key = RSA.Create(2048);
        using var withKey = SelfSigned(key);
        using var publicOnly = X509CertificateLoader.LoadCertificate(withKey.Export(X509ContentType.Cert));
        var path = Path.Combine(_folder, "public.pfx");
        File.WriteAllBytes(path, publicOnly.Export(X509ContentType.Pkcs12, "x"));

        var error = Assert.Throws<UserInputException>(() => RemotingTls.Open(path, "x", suppressValidation: true));
        Assert.Contains("no private key", error.Message);
    }

    static ClusterMemberOptions Member(RemotingTls? tls) => new("test", "127.0.0.1", 1, "127.0.0.1", 0, null, tls);

    ActorSystem Start(string name, RemotingTls? tls)
    {
        var remote = ClusterMember.Remoting(Member(tls));
        remote.TransportFailureDetector = new DeadlineFailureDetectorOptions { AcceptableHeartbeatPause = TimeSpan.FromSeconds(5) };
        var host = new HostBuilder().ConfigureServices(services =>
            services.AddAkka("tls-" + name, akka => akka.AddHocon("akka.loglevel = WARNING", HoconAddMode.Prepend).WithRemoting(remote))).Build();
        _hosts.Add(host);
        host.Start();
        return host.Services.GetRequiredService<ActorSystem>();
    }

    static string EchoPath(ActorSystem system) =>
        ((ExtendedActorSystem)system).Provider.DefaultAddress + "/user/echo";

    string WriteSelfSignedPfx(string fileName, string password) => WriteSelfSignedPfx(_folder, fileName, password);

    /// <summary>A self-signed certificate and key for 127.0.0.1 and localhost, as a .pfx under that password.</summary>
    internal static string WriteSelfSignedPfx(string folder, string fileName, string password)
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
