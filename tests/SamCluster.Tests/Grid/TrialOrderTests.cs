using SamCluster.Experiment.Grid;
using SamCluster.Messages;
using Xunit;
using SamCluster.Experiment;

namespace SamCluster.Tests.Grid;

public class TrialOrderTests
{
    static TrialSpec Trial(string dataset, string model, string optimizer, int repeat = 1, int trainLimit = 0, int epochs = 10,
        string stem = "imagenet", int imageSize = 0)
    {
        var facts = Vocabulary.Dataset(dataset);
        var data = new DataSpec(dataset, "/data", facts.DefaultClasses, TrainLimit: trainLimit,
            ImageSize: imageSize > 0 ? imageSize : facts.DefaultImageSize);
        return new TrialSpec(new TrialKey(dataset, model, optimizer, repeat), 1, data, RecipeTable.Defaults(epochs) with { Stem = stem });
    }

    [Fact]
    public void Cost_follows_model_optimizer_data_and_epochs()
    {
        var baseline = TrialOrder.EstimatedCost(Trial("fashion-mnist", "resnet18", "sgd"));

        Assert.Equal(2.0, TrialOrder.EstimatedCost(Trial("fashion-mnist", "resnet34", "sgd")) / baseline, 6);
        Assert.Equal(1.7, TrialOrder.EstimatedCost(Trial("fashion-mnist", "resnet18", "sam")) / baseline, 6);
        Assert.Equal(1.7, TrialOrder.EstimatedCost(Trial("fashion-mnist", "resnet18", "asam")) / baseline, 6);
        // Momentum-SAM costs SGD's one pass; LookSAM SAM's extra pass on one step in k (default 5).
        Assert.Equal(1.0, TrialOrder.EstimatedCost(Trial("fashion-mnist", "resnet18", "msam")) / baseline, 6);
        Assert.Equal(1.14, TrialOrder.EstimatedCost(Trial("fashion-mnist", "resnet18", "looksam")) / baseline, 6);
        var everyStep = Trial("fashion-mnist", "resnet18", "looksam");
        Assert.Equal(1.7, TrialOrder.EstimatedCost(everyStep with { Recipe = everyStep.Recipe with { LookSamK = 1 } }) / baseline, 6);
        Assert.Equal(1.0 + 1.0 / 5, TrialOrder.EstimatedCost(Trial("fashion-mnist", "resnet18", "looksam"), DeviceClass.Gpu)
            / TrialOrder.EstimatedCost(Trial("fashion-mnist", "resnet18", "sgd"), DeviceClass.Gpu), 6);
        Assert.Equal(3.0, TrialOrder.EstimatedCost(Trial("fashion-mnist", "resnet18", "sgd", epochs: 30)) / baseline, 6);
        Assert.Equal(0.1, TrialOrder.EstimatedCost(Trial("fashion-mnist", "resnet18", "sgd", trainLimit: 3000)) / baseline, 6);
        Assert.Equal(16.0, TrialOrder.EstimatedCost(Trial("fashion-mnist", "resnet18", "sgd", stem: "small")) / baseline, 6);
        // 5 classes x 6,000 images x 28² pixels x 10 epochs x 1.8 GMAC/224² x 3 passes
        Assert.Equal(30_000 * 784 * 10 * 1.8 / (224 * 224) * 3, baseline, 6);
    }

    [Fact]
    public void Dogs_cost_counts_the_images_left_after_the_test_split_at_their_size()
    {
        var dogs = Trial("stanford-dogs", "resnet18", "sgd");
        Assert.Equal(1_328, TrialOrder.TrainImages(dogs.Data));
        Assert.Equal(8 * 192, TrialOrder.TrainImages(dogs.Data with { TestPerClass = 10 }));
        Assert.Equal(4.0, TrialOrder.EstimatedCost(dogs with { Data = dogs.Data with { ImageSize = 512 } }) / TrialOrder.EstimatedCost(dogs), 6);
    }

    [Fact]
    public void Longest_first_with_ties_broken_by_id()
    {
        Assert.Equal(
        [
            "stanford-dogs/resnet34/sam/1", "stanford-dogs/resnet34/sam/2", "stanford-dogs/resnet34/sgd/1",
            "stanford-dogs/resnet18/sam/1", "fashion-mnist/resnet34/sam/1", "fashion-mnist/resnet18/sgd/1",
        ],
        TrialOrder.LongestFirst(
        [
            Trial("fashion-mnist", "resnet18", "sgd"), Trial("stanford-dogs", "resnet34", "sam", repeat: 2),
            Trial("stanford-dogs", "resnet18", "sam"), Trial("stanford-dogs", "resnet34", "sgd"),
            Trial("fashion-mnist", "resnet34", "sam"), Trial("stanford-dogs", "resnet34", "sam", repeat: 1),
        ]).Select(t => t.Key.Id));
    }

    [Fact]
    public void Order_of_a_whole_grid_does_not_depend_on_the_input_order()
    {
        var grid = GridConfigLoader.Load(GridTestFiles.Grid("paper.yaml"));
        var trials = GridExpander.Expand(grid);

        var forward = TrialOrder.LongestFirst(trials).Select(t => t.Key.Id).ToList();
        var backward = TrialOrder.LongestFirst(trials.Reverse()).Select(t => t.Key.Id).ToList();

        Assert.Equal(forward, backward);
        Assert.Equal("stanford-dogs/resnet34/sam/1", forward[0]);
        Assert.Equal("fashion-mnist/resnet18/sgd/5", forward[^1]);
    }

    [Fact]
    public void On_a_gpu_the_small_images_many_steps_outlast_the_large_images_few()
    {
        // Measured on an H100 (PERFORMANCE.md, "GPU"): a Fashion-MNIST ResNet-34 SAM trial of the study took 483 s, the
        // Stanford Dogs ones 94-164 s beside it. By arithmetic alone Dogs costs 5.5 times more; with each step's launches
        // counted, Fashion-MNIST costs about 4.5 times more.
        var trials = GridExpander.Expand(GridConfigLoader.Load(GridTestFiles.Grid("paper.yaml")));
        var fashion = trials.First(t => t.Key.Id == "fashion-mnist/resnet34/sam/1");
        var dogs = trials.First(t => t.Key.Id == "stanford-dogs/resnet34/sam/1");

        Assert.InRange(TrialOrder.EstimatedCost(dogs) / TrialOrder.EstimatedCost(fashion), 5.0, 6.0);
        Assert.InRange(TrialOrder.EstimatedCost(fashion, DeviceClass.Gpu) / TrialOrder.EstimatedCost(dogs, DeviceClass.Gpu), 4.0, 5.0);

        var onGpu = TrialOrder.LongestFirst(trials, DeviceClass.Gpu).Select(t => t.Key.Id).ToList();
        Assert.Equal(["fashion-mnist/resnet34/sam/1", "fashion-mnist/resnet34/sam/2"], onGpu.Take(2));
        Assert.All(onGpu.Take(20), id => Assert.StartsWith("fashion-mnist/", id));   // the whole Fashion-MNIST half first
        // On a GPU SAM costs two steps; the launches do not depend on the image size.
        var sgd = Trial("fashion-mnist", "resnet18", "sgd");
        Assert.Equal(2.0, TrialOrder.EstimatedCost(Trial("fashion-mnist", "resnet18", "sam"), DeviceClass.Gpu) / TrialOrder.EstimatedCost(sgd, DeviceClass.Gpu), 6);
        Assert.Equal(DeviceClass.Gpu, TrialOrder.ClassOf("cuda:1"));
        Assert.Equal(DeviceClass.Cpu, TrialOrder.ClassOf("cpu"));
    }

    [Fact]
    public void Unknown_model_has_no_cost()
    {
        Assert.Throws<ArgumentException>(() => TrialOrder.EstimatedCost(Trial("fashion-mnist", "vgg16", "sgd")));
    }
}
