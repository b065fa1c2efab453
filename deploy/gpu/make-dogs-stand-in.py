#!/usr/bin/env python3
"""A stand-in for Stanford Dogs' Images/ folder with the study's shape, for timing the paper grid where the real images
are not at hand (Stanford Dogs is in no registry and a GPU machine here reaches no network).

The study's 8 breed folders, each 202 JPEGs of 500x375 (the typical Stanford Dogs photo), so that with
test_per_class 36 the split is the study's 1,328 train / 288 test images and the loader decodes, resizes and caches
as much as it would for the real ones. The pixels are smooth random colour fields with a per-breed tint, so a model can
learn something, but the accuracies mean nothing: use the run for wall time and throughput only.

  make-dogs-stand-in.py OUT_DIR [--per-breed 202] [--seed 0]     (needs numpy and Pillow)
"""
import argparse, os, sys

BREEDS = ["n02085620-Chihuahua", "n02085782-Japanese_spaniel", "n02085936-Maltese_dog", "n02086079-Pekinese",
          "n02086240-Shih-Tzu", "n02086646-Blenheim_spaniel", "n02086910-papillon", "n02087046-toy_terrier"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out")
    parser.add_argument("--per-breed", type=int, default=202)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    try:
        import numpy as np
        from PIL import Image
    except ImportError as e:
        sys.exit(f"make-dogs-stand-in: needs numpy and Pillow ({e})")
    if os.path.exists(args.out) and os.listdir(args.out):
        sys.exit(f"make-dogs-stand-in: {args.out} exists and is not empty; choose another folder")
    rng = np.random.default_rng(args.seed)
    width, height = 500, 375
    for index, breed in enumerate(BREEDS):
        folder = os.path.join(args.out, breed)
        os.makedirs(folder)
        tint = rng.uniform(60, 200, size=3)
        for n in range(args.per_breed):
            # An 8x6 grid of random colours, upsampled smoothly, plus the breed's tint and a little noise.
            coarse = rng.uniform(0, 255, size=(6, 8, 3)).astype(np.uint8)
            field = np.asarray(Image.fromarray(coarse).resize((width, height), Image.BICUBIC), dtype=np.float32)
            pixels = 0.6 * field + 0.4 * tint + rng.normal(0, 12, size=field.shape)
            image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
            image.save(os.path.join(folder, f"{breed.split('-')[0]}_{n:04d}.jpg"), quality=90)
    print(f"make-dogs-stand-in: {len(BREEDS)} breeds x {args.per_breed} JPEGs ({width}x{height}) in {args.out}")


if __name__ == "__main__":
    main()
