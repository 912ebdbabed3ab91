#!/usr/bin/env python3
"""Generate the Backstage Inspector app icons (RGBA PNG, standard library only).

The logo is a rounded square with a teal-to-indigo diagonal gradient and a
white magnifying glass whose lens shows three "rows" (a database table under
inspection). Shapes are drawn as signed distance fields, so every size is
rendered directly with anti-aliased edges instead of being downscaled.

Usage:  python3 icons/generate.py            (writes next to this script)
        python3 icons/generate.py OUT_DIR
"""

import math
import os
import struct
import sys
import zlib

# Output file name -> edge length in pixels.
SIZES = {
    "32x32.png": 32,
    "128x128.png": 128,
    "128x128@2x.png": 256,
    "icon.png": 512,
}

# Colours (sRGB, 0-255).
TEAL = (15, 124, 134)
INDIGO = (59, 63, 156)
WHITE = (255, 255, 255)

# Geometry in unit coordinates (0..1, origin top-left).
BG_INSET = 0.04          # transparent margin around the rounded square
BG_RADIUS = 0.22         # corner radius of the rounded square
LENS_C = (0.43, 0.43)    # lens centre
LENS_R = 0.215           # radius of the ring's centre line
RING_W = 0.075           # ring stroke width
HANDLE_END = (0.775, 0.775)
HANDLE_W = 0.105         # handle thickness
ROW_H = 0.038            # thickness of the rows inside the lens
ROW_GAP = 0.072          # distance between row centre lines
ROW_HALF = (0.115, 0.135, 0.085)  # half-lengths of the three rows


def clamp01(v):
    return 0.0 if v < 0.0 else 1.0 if v > 1.0 else v


def sd_round_rect(px, py, x0, y0, x1, y1, r):
    """Signed distance to a rounded rectangle (negative inside)."""
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    hx, hy = (x1 - x0) / 2 - r, (y1 - y0) / 2 - r
    qx, qy = abs(px - cx) - hx, abs(py - cy) - hy
    outside = math.hypot(max(qx, 0.0), max(qy, 0.0))
    inside = min(max(qx, qy), 0.0)
    return outside + inside - r


def sd_circle(px, py, cx, cy, r):
    return math.hypot(px - cx, py - cy) - r


def sd_capsule(px, py, ax, ay, bx, by, r):
    """Signed distance to a segment a-b with round caps of radius r."""
    pax, pay = px - ax, py - ay
    bax, bay = bx - ax, by - ay
    h = clamp01((pax * bax + pay * bay) / (bax * bax + bay * bay))
    return math.hypot(pax - bax * h, pay - bay * h) - r


def coverage(sd, size):
    """Anti-aliased coverage of a shape from its signed distance (unit coords)."""
    return clamp01(0.5 - sd * size)


def over(dst, src_rgb, src_a):
    """Composite a straight-alpha colour over a straight-alpha pixel."""
    dr, dg, db, da = dst
    out_a = src_a + da * (1.0 - src_a)
    if out_a <= 0.0:
        return (0.0, 0.0, 0.0, 0.0)
    k = da * (1.0 - src_a)
    return (
        (src_rgb[0] * src_a + dr * k) / out_a,
        (src_rgb[1] * src_a + dg * k) / out_a,
        (src_rgb[2] * src_a + db * k) / out_a,
        out_a,
    )


def render(size):
    """Return the image as a list of rows, each a bytes object of RGBA pixels."""
    cx, cy = LENS_C
    # The handle starts on the ring's outer edge, at 45 degrees down-right.
    d = (LENS_R + RING_W / 2) / math.sqrt(2)
    hx0, hy0 = cx + d, cy + d
    hx1, hy1 = HANDLE_END
    rows = []
    for j in range(size):
        py = (j + 0.5) / size
        row = bytearray()
        for i in range(size):
            px = (i + 0.5) / size
            pix = (0.0, 0.0, 0.0, 0.0)

            # Background: rounded square with a diagonal gradient.
            a = coverage(sd_round_rect(px, py, BG_INSET, BG_INSET,
                                       1 - BG_INSET, 1 - BG_INSET, BG_RADIUS), size)
            if a > 0.0:
                t = clamp01((px + py - 2 * BG_INSET) / (2 - 4 * BG_INSET))
                bg = tuple(TEAL[k] + (INDIGO[k] - TEAL[k]) * t for k in range(3))
                pix = over(pix, bg, a)

                # Lens glass: a faint white tint inside the ring.
                lens = coverage(sd_circle(px, py, cx, cy, LENS_R), size)
                pix = over(pix, WHITE, 0.14 * lens * a)

                # Three rows inside the lens.
                for n, half in enumerate(ROW_HALF):
                    ry = cy + (n - 1) * ROW_GAP
                    rx0 = cx - 0.135 + ROW_H / 2
                    rx1 = cx - 0.135 + 2 * half - ROW_H / 2
                    s = sd_capsule(px, py, rx0, ry, rx1, ry, ROW_H / 2)
                    pix = over(pix, WHITE, 0.9 * coverage(s, size) * a)

                # Ring and handle.
                ring = abs(math.hypot(px - cx, py - cy) - LENS_R) - RING_W / 2
                handle = sd_capsule(px, py, hx0, hy0, hx1, hy1, HANDLE_W / 2)
                pix = over(pix, WHITE, coverage(min(ring, handle), size) * a)

            r, g, b, al = pix
            row += bytes((
                int(round(r)), int(round(g)), int(round(b)),
                int(round(clamp01(al) * 255)),
            ))
        rows.append(bytes(row))
    return rows


def png_chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def write_png(path, size, rows):
    # IHDR: width, height, bit depth 8, colour type 6 (RGBA), compression 0,
    # filter 0, interlace 0.
    ihdr = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    raw = b"".join(b"\x00" + row for row in rows)  # filter type 0 (None) per row
    data = (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(raw, 9))
        + png_chunk(b"IEND", b"")
    )
    with open(path, "wb") as f:
        f.write(data)


def main(argv):
    out_dir = argv[1] if len(argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    os.makedirs(out_dir, exist_ok=True)
    for name, size in SIZES.items():
        path = os.path.join(out_dir, name)
        write_png(path, size, render(size))
        print(f"wrote {path} ({size}x{size})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
