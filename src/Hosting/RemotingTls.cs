using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Akka.Remote.Hosting;
using SamCluster.Messages;

namespace SamCluster.Hosting;

/// <summary>
/// TLS for Akka remoting (DotNetty transport). Every process of a cluster uses the same kind of setting: a PKCS#12
/// (.pfx) certificate with its private key; both sides of a connection present one (mutual TLS), so a process without
/// TLS, or with a certificate the others do not trust, cannot join. The certificate is opened once, here, and handed to
/// remoting as an object: its password never goes into a configuration string.
/// </summary>
public sealed class RemotingTls
{
    /// <summary>Environment variable read for the certificate password when no --tls-password is given.</summary>
    public const string PasswordEnvironmentVariable = "SAMCLUSTER_TLS_PASSWORD";

    /// <summary>The address protocol of a TLS system: seed addresses must say it (a plain "akka.tcp" one is refused).</summary>
    public const string Protocol = "akka.ssl.tcp";

    /// <summary>The certificate and key remoting presents (loaded exportable, as DotNetty's TLS handler needs on Linux).</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>Accept peers whose certificate does not chain to a trusted root (self-signed certificates shared by all
    /// processes). Off means every certificate must be trusted by the machines' CA store.</summary>
    public bool SuppressValidation { get; }

    public string CertificatePath { get; }

    RemotingTls(X509Certificate2 certificate, string path, bool suppressValidation) =>
        (Certificate, CertificatePath, SuppressValidation) = (certificate, path, suppressValidation);

    /// <summary>
    /// TLS with the certificate at <paramref name="certificatePath"/>, or null when it is null/empty (plain TCP). Checks
    /// that the file exists, opens with the password, holds a private key and has not expired, so a bad certificate is
    /// one clear line at start instead of failed handshakes later.
    /// </summary>
    public static RemotingTls? Open(string? certificatePath, string? password, bool suppressValidation)
    {
        if (string.IsNullOrWhiteSpace(certificatePath)) return null;
        var path = Path.GetFullPath(certificatePath);
        if (!File.Exists(path)) throw new UserInputException($"TLS certificate '{path}' does not exist (--tls-cert)");
        X509Certificate2 certificate;
        try
        {
            certificate = X509CertificateLoader.LoadPkcs12(ReadBounded(path), password, X509KeyStorageFlags.Exportable);
        }
        catch (CryptographicException e)
        {
            throw new UserInputException(
                $"TLS certificate '{path}' cannot be opened: {e.Message.TrimEnd('.')} (is it a .pfx, and is --tls-password / {PasswordEnvironmentVariable} right?)");
        }
        if (!certificate.HasPrivateKey)
        {
            certificate.Dispose();
            throw new UserInputException($"TLS certificate '{path}' has no private key (remoting needs a .pfx with its key)");
        }
        if (certificate.NotAfter < DateTime.Now)
        {
            var expired = certificate.NotAfter;
            certificate.Dispose();
            throw new UserInputException($"TLS certificate '{path}' expired on {expired:yyyy-MM-dd}");
        }
        return new RemotingTls(certificate, path, suppressValidation);
    }

    /// <summary>A certificate file is a few KiB: read by us, with a bounded open (a FIFO would block the loader's own
    /// open for ever) and a bounded length (a device such as /dev/zero never ends).</summary>
    static byte[] ReadBounded(string path)
    {
        const int maxBytes = 1 << 20;
        using var file = UserPaths.OpenRead(path, "a .pfx certificate (--tls-cert)");
        var bytes = new MemoryStream();
        try
        {
            var chunk = new byte[1 << 16];
            int read;
            while ((read = file.Read(chunk)) > 0)
            {
                bytes.Write(chunk, 0, read);
                if (bytes.Length > maxBytes)
                    throw new UserInputException($"TLS certificate '{path}' is larger than {maxBytes >> 20} MiB: not a .pfx certificate (--tls-cert)");
            }
        }
        catch (IOException e)
        {
            throw new UserInputException($"TLS certificate '{path}' cannot be read: {e.Message} (--tls-cert)");
        }
        return bytes.ToArray();
    }

    /// <summary>The password in effect: the flag's value, else SAMCLUSTER_TLS_PASSWORD, else null.</summary>
    public static string? ResolvePassword(string? flagValue) =>
        flagValue ?? Environment.GetEnvironmentVariable(PasswordEnvironmentVariable);

    /// <summary>Turns TLS on in <paramref name="remote"/>: this certificate, mutual authentication, validation as chosen.</summary>
    public void Apply(RemoteOptions remote)
    {
        remote.EnableSsl = true;
        remote.Ssl = new SslOptions
        {
            X509Certificate = Certificate,
            SuppressValidation = SuppressValidation,
            RequireMutualAuthentication = true,
        };
    }
}
