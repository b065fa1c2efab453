using SamCluster.Messages;

namespace SamCluster.Training.Data;

/// <summary>Picks the items of chosen classes from a label list, with an optional limit balanced across classes.</summary>
public static class ClassSubset
{
    /// <summary>Item indices in file order and their labels remapped to 0..k-1 (the order of the chosen classes).</summary>
    public sealed record Selection(int[] Indices, long[] Labels);

    /// <summary>Items whose label is one of <paramref name="classes"/>, in file order. With a limit, each class gets
    /// limit/k items (the first limit%k classes one more), taken as the first of that class in file order, so the
    /// result is deterministic; a class with fewer items gives what it has.</summary>
    public static Selection Select(IReadOnlyList<byte> labels, IReadOnlyList<int> classes, int limit, string split)
    {
        if (limit < 0)
            throw new UserInputException($"{split} limit must be 0 (all) or positive, got {limit}");
        if (limit > 0 && limit < classes.Count)
            throw new UserInputException($"{split} limit {limit} is smaller than the number of classes ({classes.Count})");
        var newLabel = Enumerable.Repeat(-1, 256).ToArray();
        for (var k = 0; k < classes.Count; k++)
            newLabel[classes[k]] = k;
        var quota = new int[classes.Count];
        for (var k = 0; k < quota.Length; k++)
            quota[k] = limit == 0 ? int.MaxValue : limit / classes.Count + (k < limit % classes.Count ? 1 : 0);

        var taken = new int[classes.Count];
        var indices = new List<int>();
        var remapped = new List<long>();
        for (var i = 0; i < labels.Count; i++)
        {
            var k = newLabel[labels[i]];
            if (k < 0 || taken[k] >= quota[k])
                continue;
            taken[k]++;
            indices.Add(i);
            remapped.Add(k);
        }
        for (var k = 0; k < classes.Count; k++)
            if (taken[k] == 0)
                throw new UserInputException($"{split} split has no items of class {classes[k]}");
        return new Selection(indices.ToArray(), remapped.ToArray());
    }
}
