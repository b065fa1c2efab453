using SamCluster.Experiment.Grid;
using Xunit;

namespace SamCluster.Tests.Grid;

public class GridFingerprintTests
{
    const string Study = """
        datasets: [fashion-mnist, stanford-dogs]
        models: [resnet18, resnet34]
        optimizers: [sgd, sam]
        repeats: 2
        data: {stanford-dogs: {path: /dogs}}
        """;

    static string Fingerprint(string yaml) => GridConfigLoader.Parse(yaml, "grid.yaml").Fingerprint;

    [Fact]
    public void Same_trials_same_fingerprint()
    {
        Assert.Equal(Fingerprint(Study), Fingerprint(Study));
        // list order, comments, explicit defaults and data locations do not change what is computed
        Assert.Equal(Fingerprint(Study), Fingerprint("""
            # same grid, written differently
            datasets: [stanford-dogs, fashion-mnist]
            models: [resnet34, resnet18]
            optimizers: [sam, sgd]
            repeats: 2
            seed: 0
            recipe: {lr: 0.001, batch_size: 128}
            data:
              stanford-dogs: {path: /elsewhere/dogs, cache_dir: /tmp/cache}
              fashion-mnist: {path: /mnt/fm, classes: [T-shirt/top, 1, 2, 3, 4]}
            """));
    }

    [Theory]
    [InlineData("repeats: 2", "repeats: 3")]
    [InlineData("optimizers: [sgd, sam]", "optimizers: [sgd, asam]")]
    [InlineData("models: [resnet18, resnet34]", "models: [resnet18]")]
    [InlineData("data: {stanford-dogs: {path: /dogs}}", "data: {stanford-dogs: {path: /dogs, epochs: 31}}")]
    [InlineData("data: {stanford-dogs: {path: /dogs}}", "data: {stanford-dogs: {path: /dogs, split_seed: 1}}")]
    [InlineData("data: {stanford-dogs: {path: /dogs}}", "data: {stanford-dogs: {path: /dogs}, fashion-mnist: {classes: [0, 1, 2, 3, 5]}}")]
    [InlineData("data: {stanford-dogs: {path: /dogs}}", "data: {stanford-dogs: {path: /dogs}, fashion-mnist: {train_limit: 100}}")]
    [InlineData("repeats: 2", "repeats: 2\nseed: 1")]
    [InlineData("repeats: 2", "repeats: 2\nrecipe: {lr: 0.0011}")]
    [InlineData("repeats: 2", "repeats: 2\nrecipe: {scheduler: {patience: 4}}")]
    [InlineData("repeats: 2", "repeats: 2\noptimizer_overrides: {sam: {rho: 0.1}}")]
    public void Different_trials_different_fingerprint(string line, string replacement)
    {
        Assert.Contains(line, Study);
        Assert.NotEqual(Fingerprint(Study), Fingerprint(Study.Replace(line, replacement)));
    }

    [Fact]
    public void Fingerprint_is_pinned_so_a_change_of_its_canonical_form_is_noticed()
    {
        // A run folder written today must still be recognised after an upgrade; update this only with a migration.
        Assert.Equal(Fingerprint(Study), GridFingerprint.Of(GridExpander.Expand(GridConfigLoader.Parse(Study, "other.yaml"))));
        Assert.Equal("85cbc464bf4e5fbd63243b8e0577c01ea6ca8797d28fc8f84a7bbe20f53e8f92", Fingerprint(Study));
    }
}
