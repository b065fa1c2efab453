using SkiaSharp;

namespace SamCluster.Tests.Data;

/// <summary>A temp Stanford-Dogs-shaped tree: Root/Images/n0000000B-Breed_B/img_I.jpg, 3 breeds × 6 solid-colour
/// 40×30 JPEGs whose colour encodes (breed, image), so a test can tell which file landed where.</summary>
sealed class DogsFixture : IDisposable
{
    public static readonly string[] Folders = ["n00000001-Akita_inu", "n00000002-Border_collie", "n00000003-corgi"];
    public const int ImagesPerBreed = 6;

    public string Root { get; } = Directory.CreateTempSubdirectory("samcluster-dogs-").FullName;
    public string Images => Path.Combine(Root, "Images");
    public string CacheDir => Path.Combine(Root, "cache");

    public DogsFixture()
    {
        for (var breed = 0; breed < Folders.Length; breed++)
            for (var image = 0; image < ImagesPerBreed; image++)
                WriteJpeg(breed, image, ColourOf(breed, image));
    }

    public static SKColor ColourOf(int breed, int image) =>
        new((byte)(30 + 80 * breed), (byte)(20 + 35 * image), (byte)(220 - 60 * breed));

    public string PathOf(int breed, int image) => Path.Combine(Images, Folders[breed], $"img_{image}.jpg");

    public void WriteJpeg(int breed, int image, SKColor colour)
    {
        Directory.CreateDirectory(Path.Combine(Images, Folders[breed]));
        using var bitmap = new SKBitmap(40, 30);
        bitmap.Erase(colour);
        using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 95);
        File.WriteAllBytes(PathOf(breed, image), data.ToArray());
    }

    /// <summary>Which (breed, image) a decoded RGB pixel came from; JPEG keeps solid colours within a few levels.</summary>
    public static (int Breed, int Image) Identify(byte r, byte g, byte b)
    {
        for (var breed = 0; breed < Folders.Length; breed++)
            for (var image = 0; image < ImagesPerBreed; image++)
            {
                var c = ColourOf(breed, image);
                if (Math.Abs(c.Red - r) <= 4 && Math.Abs(c.Green - g) <= 4 && Math.Abs(c.Blue - b) <= 4)
                    return (breed, image);
            }
        throw new InvalidOperationException($"colour ({r},{g},{b}) is none of the fixture's");
    }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}
