"""Reads GstSrSegmentationMeta from Python through GObject introspection
(GstSegrank-1.0.typelib): videotestsrc ! segnetinfer ! proposalload !
proposalscore ! appsink on a proposal folder written here, where one
proposal is the net's own argmax and the others are constant maps, checks
that proposalscore picked the net's labelling, that the costs are readable
and the selected one is the lowest, and the label map, class names and
method; then without proposals (method "net", selected -1, the frame's
size). Skips (77) without python3-gi or the GStreamer typelibs."""
import math
import os
import shutil
import struct
import sys
import tempfile
import zlib

try:
    import gi
    gi.require_version("Gst", "1.0")
    gi.require_version("GstSegrank", "1.0")
    from gi.repository import Gst, GstSegrank
except (ImportError, ValueError) as e:
    print(f"skipped: {e} (needs python3-gi, gir1.2-gstreamer-1.0 and the built typelib)")
    sys.exit(77)

Gst.init(None)
W, H = 48, 36
SRC = f"videotestsrc num-buffers=1 pattern=smpte ! video/x-raw,format=RGB,width={W},height={H} ! segnetinfer"


def write_grey_png(path, width, height, values):
    """An 8-bit greyscale PNG of @values (row-major), without any imaging library."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    rows = b"".join(b"\0" + bytes(values[y * width:(y + 1) * width]) for y in range(height))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def first_buffer(description):
    pipe = Gst.parse_launch(description + " ! appsink name=out")
    pipe.set_state(Gst.State.PLAYING)
    sample = pipe.get_by_name("out").emit("try-pull-sample", 60 * Gst.SECOND)
    if sample is None:
        msg = pipe.get_bus().pop_filtered(Gst.MessageType.ERROR)
        raise AssertionError(f"{description}: no sample" + (f": {msg.parse_error()}" if msg else ""))
    return pipe, sample.get_buffer()


# The net's own argmax at the frame size, read from the segmentation meta of
# a frame without proposals.
pipe, buf = first_buffer(SRC + " ! proposalscore")
meta = GstSegrank.segmentation_meta_get(buf)
assert meta is not None, "no GstSrSegmentationMeta without proposals"
assert meta.method == "net" and meta.selected == -1, (meta.method, meta.selected)
assert (meta.width, meta.height, meta.n_classes, meta.n_scores) == (W, H, 11, 0)
net_labels = list(GstSegrank.SegmentationMeta.get_labels(meta))
assert len(net_labels) == W * H and max(net_labels) < 11
assert len(GstSegrank.SegmentationMeta.get_scores(meta)) == 0
assert GstSegrank.SegmentationMeta.get_class_name(meta, 3) == "Road"
prob = GstSegrank.prob_meta_get(buf)
assert prob is not None
print(f"no proposals: method {meta.method}, selected {meta.selected}, {meta.width}x{meta.height}, "
      f"{len(set(net_labels))} classes in the net's argmax")
pipe.set_state(Gst.State.NULL)

# Three proposals: two constant maps around the net's argmax (index 1).
# Constant classes the net's argmax does not use everywhere, so they are
# worse than the argmax.
absent = [c for c in range(11) if c not in net_labels] or [c for c in range(11)]
maps = [[absent[0]] * (W * H), net_labels, [absent[-1]] * (W * H)]
tmp = tempfile.mkdtemp(prefix="segrank-segmentation-python-")
try:
    frame_dir = os.path.join(tmp, "frame0")
    os.mkdir(frame_dir)
    for k, values in enumerate(maps):
        write_grey_png(os.path.join(frame_dir, f"{k:02d}.png"), W, H, values)
    pipe, buf = first_buffer(SRC + f" ! proposalload location={tmp} ! proposalscore")
    meta = GstSegrank.segmentation_meta_get(buf)
    assert meta is not None, "no GstSrSegmentationMeta from proposalscore"
    assert meta.method == "eq17", meta.method
    costs = list(GstSegrank.SegmentationMeta.get_scores(meta))
    assert len(costs) == 3 == meta.n_scores, costs
    assert all(math.isfinite(c) for c in costs), costs
    assert meta.selected == 1 and costs[1] == min(costs), (meta.selected, costs)
    assert [GstSegrank.SegmentationMeta.get_score(meta, k) for k in range(3)] == costs
    assert list(GstSegrank.SegmentationMeta.get_labels(meta)) == net_labels, "labels are not the selected map"
    assert GstSegrank.SegmentationMeta.get_class_name(meta, 0) == "Sky"
    print(f"proposalscore: selected {meta.selected} of {meta.n_scores}, costs {[round(c, 3) for c in costs]}")
    pipe.set_state(Gst.State.NULL)
finally:
    shutil.rmtree(tmp)
print("ok")
