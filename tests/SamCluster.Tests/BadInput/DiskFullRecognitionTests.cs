using SamCluster.RunStore;
using SamCluster.Messages;
using Xunit;

namespace SamCluster.Tests.BadInput;

/// <summary>What counts as a full disk, and how it is named to the user.</summary>
public sealed class DiskFullRecognitionTests
{
    [SkippableTheory]
    [InlineData(28, true)]   // ENOSPC
    [InlineData(122, true)]  // EDQUOT (Linux)
    [InlineData(5, false)]   // EIO
    [InlineData(13, false)]  // EACCES
    public void An_io_error_is_a_full_disk_by_its_errno(int errno, bool full)
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "errno values are Linux's");
        var e = new IOException("write failed", errno);
        Assert.Equal(full, DiskFull.Is(e));
        Assert.Equal(full, DiskFull.Is(new AggregateException(new InvalidOperationException("wrapped", e))));
        Assert.Equal(full, JournalErrors.IsDiskFull(e));
    }

    [Fact]
    public void A_full_disk_names_the_file_under_the_folder_the_user_gave()
    {
        var full = new DiskFullException("/runs/paper/checkpoints/fashion-mnist/resnet18/sgd/2/attempt-1-epoch-0002.ckpt", node: "gpu7");
        Assert.True(DiskFull.Is(full));
        Assert.Same(full, DiskFull.Wrap(new IOException("again", full), "/elsewhere"));
        Assert.Equal("no space left on device under /runs/paper (writing checkpoints/fashion-mnist/resnet18/sgd/2/attempt-1-epoch-0002.ckpt on gpu7)",
            full.Describe("/runs/paper", "/shared/ckpt"));
        Assert.Equal("no space left on device under /runs/paper/checkpoints/fashion-mnist/resnet18/sgd/2 (writing attempt-1-epoch-0002.ckpt on gpu7)",
            full.Describe("/runs/other"));
        Assert.Equal("no space left on device under /runs/paper (writing journal.db)", new DiskFullException("journal.db").Describe("/runs/paper/"));
        Assert.Null(DiskFull.Wrap(new IOException("Is a directory", 21), "/x"));
    }

    [Fact]
    public void Sqlite_reports_a_full_disk_as_SQLITE_FULL()
    {
        var full = new Microsoft.Data.Sqlite.SqliteException("SQLite Error 13: 'database or disk is full'.", 13);
        Assert.True(JournalErrors.IsDiskFull(full));
        Assert.False(JournalErrors.IsDiskFull(new Microsoft.Data.Sqlite.SqliteException("SQLite Error 5: 'database is locked'.", 5)));
    }
}
