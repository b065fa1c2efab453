namespace SamCluster.Reporting;

/// <summary>Where a chart's legend goes: a corner of the data area that no data passes through, else outside it.</summary>
public enum LegendSpot { UpperRight, UpperLeft, LowerRight, LowerLeft, Outside }

/// <summary>The PNG legend rule (issue 27: a legend sat on the last epoch's points): try the corners in the order
/// upper right, upper left, lower right, lower left, and take the first whose box (the legend's size plus a margin) holds
/// no point of any line, nor any point on a segment between two of its points; when every corner is taken, the legend
/// goes outside the data area. Coordinates are fractions of the data area: x 0 left to 1 right, y 0 bottom to 1 top.</summary>
public static class LegendPlacement
{
    /// <summary>Room kept between the legend and the nearest data, as a fraction of the data area.</summary>
    public const double Margin = 0.03;

    /// <summary>Points checked per segment of a line: enough that a line crossing a corner box is seen there.</summary>
    const int SamplesPerSegment = 24;

    static readonly LegendSpot[] Corners = [LegendSpot.UpperRight, LegendSpot.UpperLeft, LegendSpot.LowerRight, LegendSpot.LowerLeft];

    /// <param name="lines">Each drawn series as its points in order (a lone point is a line of one); points outside
    /// [0, 1] are off the data area and ignored.</param>
    /// <param name="width">The legend's width as a fraction of the data area's.</param>
    /// <param name="height">The legend's height as a fraction of the data area's.</param>
    public static LegendSpot Choose(IEnumerable<IReadOnlyList<(double X, double Y)>> lines, double width, double height)
    {
        if (width + Margin >= 1 || height + Margin >= 1) return LegendSpot.Outside;
        var samples = lines.SelectMany(Sample).ToList();
        foreach (var corner in Corners)
        {
            var (x0, x1) = corner is LegendSpot.UpperLeft or LegendSpot.LowerLeft ? (0.0, width + Margin) : (1 - width - Margin, 1.0);
            var (y0, y1) = corner is LegendSpot.UpperLeft or LegendSpot.UpperRight ? (1 - height - Margin, 1.0) : (0.0, height + Margin);
            if (!samples.Any(p => p.X >= x0 && p.X <= x1 && p.Y >= y0 && p.Y <= y1)) return corner;
        }
        return LegendSpot.Outside;
    }

    static IEnumerable<(double X, double Y)> Sample(IReadOnlyList<(double X, double Y)> line)
    {
        if (line.Count == 1) yield return line[0];
        for (var i = 1; i < line.Count; i++)
            for (var k = 0; k <= SamplesPerSegment; k++)
            {
                var f = (double)k / SamplesPerSegment;
                yield return (line[i - 1].X + f * (line[i].X - line[i - 1].X), line[i - 1].Y + f * (line[i].Y - line[i - 1].Y));
            }
    }
}
