using SamCluster.Messages;
using SkiaSharp;

namespace SamCluster.Training.Data;

/// <summary>Decodes an image file with SkiaSharp and resizes it (aspect not kept) to side×side RGB, written as CHW bytes.</summary>
public static class JpegDecoder
{
    /// <summary>Writes 3·side·side bytes (R plane, G plane, B plane) into <paramref name="chw"/>.</summary>
    public static void DecodeInto(string path, int side, Span<byte> chw)
    {
        // Opened by us, not by Skia's fopen: a FIFO among the images would block that open for ever.
        var file = UserPaths.OpenRead(path, "an image");
        using var codec = SKCodec.Create(file, out var result);
        if (codec is null)
        {
            file.Dispose();
            throw new UserInputException($"{path}: not a readable image ({result})");
        }
        // Let the JPEG decoder shrink by 1/2, 1/4 or 1/8 first when the image is at least that much larger: it averages
        // (no aliasing) and is much faster than decoding the full image and resizing it.
        var scale = Math.Max((float)side / codec.Info.Width, (float)side / codec.Info.Height);
        var scaled = codec.GetScaledDimensions(Math.Min(scale, 1f));
        if (scaled.Width < side || scaled.Height < side)
            scaled = codec.Info.Size;
        var decodedInfo = new SKImageInfo(scaled.Width, scaled.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var decoded = new SKBitmap(decodedInfo);
        result = codec.GetPixels(decodedInfo, decoded.GetPixels());
        if (result != SKCodecResult.Success)
            throw new UserInputException($"{path}: corrupt or truncated image ({result})");

        using var resized = scaled.Width == side && scaled.Height == side
            ? decoded.Copy()
            : decoded.Resize(new SKImageInfo(side, side, SKColorType.Rgba8888, SKAlphaType.Unpremul),
                new SKSamplingOptions(SKCubicResampler.Mitchell));
        if (resized is null)
            throw new UserInputException($"{path}: could not be resized to {side}x{side}");
        if (resized.RowBytes != 4 * side)
            throw new InvalidOperationException($"unexpected row padding in a {side}x{side} RGBA bitmap");
        var rgba = resized.GetPixelSpan();
        var plane = side * side;
        var red = chw[..plane];
        var green = chw.Slice(plane, plane);
        var blue = chw.Slice(2 * plane, plane);
        for (var i = 0; i < plane; i++)
        {
            red[i] = rgba[4 * i];
            green[i] = rgba[4 * i + 1];
            blue[i] = rgba[4 * i + 2];
        }
    }
}
