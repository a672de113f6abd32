#!/bin/sh
# pipelines.sh: runs every pipelines/*.pipeline the way the README does (from a
# directory holding demo/), and checks each wrote one PNG per bundled frame
# and posted no warning or error. rerank.pipeline and svmrerank.pipeline (the
# full chain) must draw the re-ranked proposals, not the net's own argmax:
# their overlays differ from demo.pipeline's. mask.pipeline (segoverlay
# mode=index) must write 8-bit grey PNGs of the frames' size holding CamVid
# class indices (0..10, or 255: not drawn), more than one class per frame.
set -eu
src="$1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ln -s "$src/demo" "$tmp/demo"
cd "$tmp"
frames=$(ls demo/frames/*.png | wc -l)
for p in "$src"/pipelines/*.pipeline; do
  name=$(basename "$p" .pipeline)
  rm -rf out && mkdir out
  # Not -q: that would hide the bus's warnings, which must not appear.
  gst-launch-1.0 $(sed '/^#/d' "$p") >log 2>&1 || { cat log; echo "FAIL: $p"; exit 1; }
  if grep -q "^WARNING: \|^ERROR: " log; then cat log; echo "FAIL: $p posted a warning or error"; exit 1; fi
  n=$(ls out/*.png 2>/dev/null | wc -l)
  echo "$name.pipeline: $n of $frames frames written"
  [ "$n" -eq "$frames" ] || { echo "FAIL: $p"; exit 1; }
  mv out "out-$name"
done
for chain in rerank svmrerank; do
  [ -d "out-$chain" ] && [ -d out-demo ] || continue
  same=0
  for f in out-demo/*.png; do
    cmp -s "$f" "out-$chain/$chain-$(basename "$f")" && same=$((same + 1))
  done
  echo "$chain.pipeline: $same of $frames overlays identical to the net's own"
  [ "$same" -lt "$frames" ] || { echo "FAIL: $chain.pipeline drew the net's argmax"; exit 1; }
done
# mask.pipeline: GRAY8 class-index PNGs (read with Python's zlib: no PIL).
if [ -d out-mask ] && ! command -v python3 >/dev/null; then
  echo "mask.pipeline: python3 missing, mask values not checked"
elif [ -d out-mask ]; then
  python3 - out-mask demo/frames <<'PY' || { echo "FAIL: mask.pipeline wrote implausible masks"; exit 1; }
import os, struct, sys, zlib

def png(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, hdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    return hdr, idat

def grey8(path):
    (w, h, depth, colour, _, _, interlace), idat = png(path)
    assert (depth, colour, interlace) == (8, 0, 0), "not 8-bit grey: depth %d, colour type %d" % (depth, colour)
    raw, rows, prev = zlib.decompress(idat), [], bytearray(w)
    for y in range(h):
        f, line = raw[y * (w + 1)], bytearray(raw[y * (w + 1) + 1:(y + 1) * (w + 1)])
        for x in range(w):
            a = line[x - 1] if x else 0
            b, c = prev[x], prev[x - 1] if x else 0
            p = a + b - c
            pred = (0, a, b, (a + b) // 2,
                    a if abs(p - a) <= abs(p - b) and abs(p - a) <= abs(p - c) else b if abs(p - b) <= abs(p - c) else c)[f]
            line[x] = (line[x] + pred) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, rows

masks, frames = sys.argv[1], sys.argv[2]
fw, fh = png(os.path.join(frames, sorted(os.listdir(frames))[0]))[0][:2]
for name in sorted(os.listdir(masks)):
    w, h, rows = grey8(os.path.join(masks, name))
    assert (w, h) == (fw, fh), "%s: %dx%d, the frames are %dx%d" % (name, w, h, fw, fh)
    hist = [0] * 256
    for r in rows:
        for v in r:
            hist[v] += 1
    classes = [v for v in range(256) if hist[v]]
    assert all(v < 11 or v == 255 for v in classes), "%s: values %s are not CamVid classes" % (name, classes)
    assert len([v for v in classes if v < 11]) >= 2, "%s: only %s" % (name, classes)
    print("mask.pipeline: %s %dx%d grey, classes %s" % (name, w, h, classes))
PY
fi
