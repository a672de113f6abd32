"""meta_app.py: tests/examples/meta_app.c in Python, through the GstSegrank
typelib: runs

  videotestsrc num-buffers=N pattern=smpte ! video/x-raw,format=RGB,width=160,height=120
    ! segnetinfer ! appsink

and prints, per frame, the share of the frame's pixels each class gets in
the net's full-resolution label map (ProbMeta.get_label_map(): the coarse
distribution upsampled bilinearly, then argmax, as segoverlay draws it):

  frame 0: Sky=0.251042 Building=0.000000 ...

Usage: python3 meta_app.py [N] (default 10 frames). Needs python3-gi,
gir1.2-gstreamer-1.0 and gir1.2-gst-plugins-base-1.0 (exits 77 without them).

Installed (the typelib in girepository-1.0, the plugin in GStreamer's plugin
folder): python3 meta_app.py 5

Uninstalled, from the repository root after `meson setup build && ninja -C build`:

  GI_TYPELIB_PATH=build/gst/uninstalled GST_PLUGIN_PATH=build/gst python3 tests/examples/meta_app.py 5

(build/tests/examples holds the typelib that names the library by its full
build path, so no LD_LIBRARY_PATH is needed.)
"""
import sys

try:
    import gi
    gi.require_version("Gst", "1.0")
    gi.require_version("GstSegrank", "1.0")
    from gi.repository import Gst, GstSegrank
except (ImportError, ValueError) as e:
    print(f"skipped: {e} (needs python3-gi, gir1.2-gstreamer-1.0 and the GstSegrank typelib)")
    sys.exit(77)


def class_areas(meta):
    """The share of the frame's pixels per class name, from the label map."""
    labels = meta.get_label_map().get_data()  # bytes, frame_width * frame_height
    counts = [0] * meta.n_classes
    for k in range(meta.n_classes):
        counts[k] = labels.count(k)  # bytes.count of one byte value: C speed
    return {meta.get_class_name(k): counts[k] / len(labels) for k in range(meta.n_classes)}


def main():
    frames = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    Gst.init(None)
    pipeline = Gst.parse_launch(f"videotestsrc num-buffers={frames} pattern=smpte ! "
                                "video/x-raw,format=RGB,width=160,height=120 ! segnetinfer ! "
                                "appsink name=out sync=false")
    sink = pipeline.get_by_name("out")
    pipeline.set_state(Gst.State.PLAYING)
    index, status = 0, 0
    while True:
        sample = sink.emit("pull-sample")  # None at the end of the stream, or on an error
        if sample is None:
            break
        meta = GstSegrank.prob_meta_get(sample.get_buffer())
        if meta is None:
            print(f"frame {index}: no GstSrProbMeta", file=sys.stderr)
            status = 1
        else:
            areas = class_areas(meta)
            print(f"frame {index}:" + "".join(f" {name}={a:.6f}" for name, a in areas.items()))
        index += 1
    msg = pipeline.get_bus().pop_filtered(Gst.MessageType.ERROR)
    if msg:
        err, debug = msg.parse_error()
        print(f"error: {err.message} ({debug})", file=sys.stderr)
        status = 1
    pipeline.set_state(Gst.State.NULL)
    return status if index == frames else 1


if __name__ == "__main__":
    sys.exit(main())
