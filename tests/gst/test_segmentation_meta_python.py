"""Reads GstSrSegmentationMeta from Python through GObject introspection
(GstSegrank-1.0.typelib): videotestsrc ! segnetinfer ! proposalload !
proposalscore ! appsink on a proposal folder written here, where one
proposal is the net's own argmax and the others are constant maps, checks
that proposalscore picked the net's labelling, that the costs are readable
and the selected one is the lowest, and the label map, class names and
method; then without proposals (method "net", selected -1, the frame's
size), where the labels must equal the prob meta's own label map
(ProbMeta.get_label_map, the same bilinear upsampling). Reads EVERY field
the typelib gives the meta (the label and colour pointers are opaque:
reading them used to abort or return garbage) and every accessor, and
creates a segmentation meta from Python that segoverlay draws. Skips (77)
without python3-gi or the GStreamer typelibs."""
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
    from gi.repository import GLib, Gst, GstSegrank
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


SEG_FIELDS = ["meta", "method", "selected", "width", "height", "n_classes", "class_names", "class_colors", "labels",
              "n_scores", "scores", "labels_bytes"]


def read_every_field(meta):
    """getattr on each field the typelib gives the record (an abort here
    fails the test); checks the names and that the pointer fields GI cannot
    size read as opaque addresses."""
    fields = [f.get_name() for f in type(meta).__info__.get_fields()]
    assert fields == SEG_FIELDS, fields
    values = {name: getattr(meta, name) for name in fields}
    for name in ("class_colors", "labels"):
        assert isinstance(values[name], int) and values[name] != 0, f"{name}: {values[name]!r}"
    return values


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
f = read_every_field(meta)
assert (f["method"], f["selected"], f["width"], f["height"], f["n_classes"], f["n_scores"]) == ("net", -1, W, H, 11, 0)
assert f["scores"] == [] and f["class_names"][3] == "Road" and isinstance(f["meta"], Gst.Meta)
assert meta.get_labels_bytes().get_data() == bytes(net_labels)
assert meta.get_label_map(W, H).get_data() == bytes(net_labels)
assert meta.get_class_color(3) == (128, 64, 128)
# The net's fallback is the prob meta's label map, pixel for pixel.
assert prob.get_label_map().get_data() == bytes(net_labels), "ProbMeta.get_label_map differs from the net fallback"
# At twice the size: nearest neighbour, each label doubled.
big = meta.get_label_map(2 * W, 2 * H).get_data()
assert all(big[(2 * y + 1) * 2 * W + 2 * x + 1] == net_labels[y * W + x] for y in range(H) for x in range(W))
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
    f = read_every_field(meta)
    assert (f["method"], f["selected"], f["n_scores"]) == ("eq17", 1, 3) and f["scores"] == costs
    assert meta.get_labels_bytes().get_data() == bytes(net_labels)
    print(f"proposalscore: selected {meta.selected} of {meta.n_scores}, costs {[round(c, 3) for c in costs]}")
    pipe.set_state(Gst.State.NULL)
finally:
    shutil.rmtree(tmp)
# A segmentation meta made in Python, read back and drawn by segoverlay
# (which draws the final segmentation over everything else).
SW, SH = 6, 4
labels = bytes([(x + y) % 3 if x != 5 else 200 for y in range(SH) for x in range(SW)])  # column 5 void
palette = [(10, 20, 30), (200, 100, 0), (0, 255, 64)]
STRIDE = (SW * 3 + 3) // 4 * 4  # GStreamer pads RGB rows to 4 bytes: 20 here
buf = Gst.Buffer.new_wrapped(bytes(STRIDE * SH))
made = GstSegrank.segmentation_meta_add(buf, "python", 0, SW, SH, 3, ["a", "b", "c"],
                                        GLib.Bytes.new(b"".join(bytes(c) for c in palette)), GLib.Bytes.new(labels),
                                        [0.25, 4.0])
assert made is not None, "segmentation_meta_add failed"
f = read_every_field(made)
assert (f["method"], f["selected"], f["width"], f["height"], f["n_classes"]) == ("python", 0, SW, SH, 3)
assert f["class_names"] == ["a", "b", "c"] and f["scores"] == [0.25, 4.0] and f["n_scores"] == 2
assert made.get_labels_bytes().get_data() == labels and made.get_score(1) == 4.0
assert [made.get_class_color(c) for c in range(3)] == palette
assert GstSegrank.segmentation_meta_add(Gst.Buffer.new(), "python", 2, SW, SH, 3, ["a", "b", "c"],
                                        GLib.Bytes.new(bytes(9)), GLib.Bytes.new(labels), [0.25, 4.0]) is None, \
    "selected past the scores was accepted"
pipe = Gst.parse_launch(f"appsrc name=src format=time caps=video/x-raw,format=RGB,width={SW},height={SH},framerate=1/1 "
                        "! segoverlay mode=labels ! appsink name=out")
pipe.set_state(Gst.State.PLAYING)
buf.pts, buf.duration = 0, Gst.SECOND
assert pipe.get_by_name("src").emit("push-buffer", buf) == Gst.FlowReturn.OK
pipe.get_by_name("src").emit("end-of-stream")
sample = pipe.get_by_name("out").emit("try-pull-sample", 30 * Gst.SECOND)
assert sample is not None, "segoverlay gave no frame"
out = sample.get_buffer().extract_dup(0, STRIDE * SH)
stride = STRIDE
for i, label in enumerate(labels):
    x, y = i % SW, i // SW
    want = bytes(palette[label]) if label < 3 else bytes(3)
    assert out[y * stride + 3 * x:y * stride + 3 * x + 3] == want, (x, y, label, out[y * stride + 3 * x:][:3])
pipe.set_state(Gst.State.NULL)
print("segmentation meta made in Python: read back and drawn by segoverlay")
print("ok")
