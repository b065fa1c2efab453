using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;

namespace SamCluster.Hosting;

/// <summary>The one way SamCluster starts a small Kestrel server inside its processes (the live page, the health
/// endpoints): the slim builder, one listening address, and ASP.NET Core's own warnings and errors into the run's
/// Serilog logger (its information is left out).</summary>
public static class WebServer
{
    /// <param name="application">The server's type, naming the application (ASP.NET Core wants a name).</param>
    public static WebApplicationBuilder CreateBuilder(Type application, IPAddress address, int port, Serilog.ILogger logger)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = application.Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(new Serilog.Extensions.Logging.SerilogLoggerProvider(logger));
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseKestrel(k => k.Listen(address, port));
        return builder;
    }
}
