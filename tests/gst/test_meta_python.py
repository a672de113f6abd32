"""Reads GstSrProbMeta from Python through GObject introspection
(GstSegrank-1.0.typelib): runs videotestsrc ! segnetinfer ! appsink and checks
the meta's fields and probabilities. Skips (77) without python3-gi or the
GStreamer typelibs."""
import sys

try:
    import gi
    gi.require_version("Gst", "1.0")
    gi.require_version("GstSegrank", "1.0")
    from gi.repository import Gst, GstSegrank
except (ImportError, ValueError) as e:
    print(f"skipped: {e} (needs python3-gi, gir1.2-gstreamer-1.0 and the built typelib)")
    sys.exit(77)

Gst.init(None)
pipe = Gst.parse_launch(
    "videotestsrc num-buffers=2 ! video/x-raw,format=RGB,width=96,height=72 ! segnetinfer ! appsink name=out")
sink = pipe.get_by_name("out")
pipe.set_state(Gst.State.PLAYING)
sample = sink.emit("pull-sample")
assert sample is not None, "no sample"
buf = sample.get_buffer()
meta = GstSegrank.prob_meta_get(buf)
assert meta is not None, "no GstSrProbMeta on the buffer"
print(f"meta: {meta.n_classes} classes, map {meta.width}x{meta.height}, frame {meta.frame_width}x{meta.frame_height}")
assert (meta.n_classes, meta.width, meta.height) == (11, 13, 13)
assert (meta.frame_width, meta.frame_height) == (96, 72)
probs = GstSegrank.ProbMeta.get_probs(meta)
assert len(probs) == 11 * 13 * 13, len(probs)
plane = 13 * 13
for cell in (0, 84, 168):
    s = sum(probs[k * plane + cell] for k in range(11))
    assert abs(s - 1) < 1e-4, (cell, s)
names = [GstSegrank.ProbMeta.get_class_name(meta, k) for k in range(meta.n_classes)]
assert names[3] == "Road", names
print("class names:", ", ".join(names))
pipe.set_state(Gst.State.NULL)
print("ok")
