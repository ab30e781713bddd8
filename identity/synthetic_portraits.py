"""Synthetic portraits drawn by code (never photographs of people): for the
demo citizens (seed_demo) and the tests.

* :func:`synthetic_portrait` draws a face-like figure of shapes and noise
  seeded by a text (a citizen's document number): the reference portrait.
* :func:`live_variant` draws the same figure as a camera would see it a
  moment later (shifted light, a little noise, JPEG): it matches its
  reference (average-hash score ≥ 0.9), and another citizen's does not.
* :func:`pattern_image` makes an image whose average hash is exactly the
  64 bits given, so a test can put a score in any zone.
"""

from __future__ import annotations

import hashlib
import io
import random

from PIL import Image, ImageDraw, ImageFilter

SIZE = 256


def _rng(seed: str) -> random.Random:
    digest = hashlib.sha256(f"portrait:{seed}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))  # noqa: S311 - synthetic images


def _figure(seed: str) -> Image.Image:
    rng = _rng(seed)
    image = Image.new("RGB", (SIZE, SIZE), tuple(rng.randrange(0, 256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    # Background blocks, then a head, eyes and a mouth at seeded places.
    for _ in range(6):
        x, y = rng.randrange(0, SIZE), rng.randrange(0, SIZE)
        w, h = rng.randrange(40, 140), rng.randrange(40, 140)
        shade = tuple(rng.randrange(0, 256) for _ in range(3))
        draw.rectangle([x, y, x + w, y + h], fill=shade)
    cx, cy = rng.randrange(90, 166), rng.randrange(90, 166)
    rx, ry = rng.randrange(50, 80), rng.randrange(60, 95)
    skin = tuple(rng.randrange(60, 256) for _ in range(3))
    draw.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=skin)
    for side in (-1, 1):
        ex, ey = cx + side * rx // 2, cy - ry // 3
        draw.ellipse([ex - 9, ey - 6, ex + 9, ey + 6], fill=(20, 20, 20))
    draw.rectangle([cx - rx // 2, cy + ry // 2, cx + rx // 2, cy + ry // 2 + 8], fill=(90, 20, 30))
    return image


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def synthetic_portrait(seed: str) -> bytes:
    """The reference portrait for ``seed`` (PNG)."""
    return _png(_figure(seed))


def live_variant(seed: str, *, quality: int = 85) -> bytes:
    """The same figure taken "live": a little brighter, softened, with noise (JPEG)."""
    rng = _rng(f"live:{seed}")
    image = _figure(seed).filter(ImageFilter.GaussianBlur(1.2))
    pixels = image.load()
    for _ in range(SIZE * SIZE // 20):
        x, y = rng.randrange(SIZE), rng.randrange(SIZE)
        r, g, b = pixels[x, y]
        d = rng.randrange(-25, 26)
        pixels[x, y] = (
            max(0, min(255, r + d)),
            max(0, min(255, g + d)),
            max(0, min(255, b + d)),
        )
    image = image.point(lambda v: min(255, v + 6))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality)
    return out.getvalue()


def pattern_image(bits: int, *, fmt: str = "PNG", cell: int = 16) -> bytes:
    """An 8×8 grid of black and white cells (bit 63 top left, row by row):
    its average hash is ``bits``."""
    image = Image.new("L", (8, 8))
    image.putdata([255 if bits >> (63 - n) & 1 else 0 for n in range(64)])
    image = image.resize((8 * cell, 8 * cell), Image.Resampling.NEAREST).convert("RGB")
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def flip_bits(bits: int, count: int, *, seed: int = 7) -> int:
    """``bits`` with ``count`` distinct bits flipped (Hamming distance ``count``)."""
    positions = random.Random(seed).sample(range(64), count)  # noqa: S311
    for position in positions:
        bits ^= 1 << position
    return bits


def sized_live_jpeg(bits: int, *, target_bytes: int = 200_000) -> bytes:
    """A noisy JPEG of about ``target_bytes`` whose average hash is ``bits``
    (a camera-sized live portrait for the benchmark)."""
    side = 480
    while True:
        grid = Image.open(io.BytesIO(pattern_image(bits, cell=side // 8))).convert("RGB")
        noise = Image.effect_noise((side, side), 40).convert("RGB")
        image = Image.blend(grid, noise, 0.3)
        out = io.BytesIO()
        image.save(out, format="JPEG", quality=90)
        if out.tell() >= target_bytes or side >= 2048:
            return out.getvalue()
        side += 64
