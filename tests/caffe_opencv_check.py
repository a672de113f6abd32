"""Cross-check against an implementation nobody here wrote: import the peers'
random-weight SegNet .caffemodel with `segrank import-caffe`, run it with
`segrank forward` on both backends, and compare the probabilities with OpenCV
DNN's Caffe importer on the same input: max |diff| must stay below 1e-4.
Skips (exit 77) when ../shared/peers or python3-opencv is absent."""
import os, subprocess, sys, tempfile

shared = os.environ.get("SEGRANK_SHARED", os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
peers = os.path.join(shared, "peers")
model = os.path.join(peers, "segnet_random.caffemodel")
if not os.path.exists(model):
    print(f"skipped: {model} not present")
    sys.exit(77)
try:
    import cv2
    import numpy as np
except ImportError as e:
    print(f"skipped: {e} (install python3-opencv)")
    sys.exit(77)

segrank = os.environ["SEGRANK_BIN"]
TOL = 1e-4
with tempfile.TemporaryDirectory() as tmp:
    sr_model = os.path.join(tmp, "peer.srmodel")
    subprocess.check_call([segrank, "import-caffe", model, "-o", sr_model])
    net = cv2.dnn.readNetFromCaffe(os.path.join(peers, "segnet_deploy.prototxt"), model)
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    worst = 0.0
    for seed, shape in ((1, (2, 3, 227, 227)), (2, (1, 3, 227, 227))):
        x = (np.random.default_rng(seed).standard_normal(shape) * 60).astype(np.float32)
        net.setInput(x)
        want = net.forward()
        xp, yp = os.path.join(tmp, "x.npy"), os.path.join(tmp, "y.npy")
        np.save(xp, x)
        for backend in ("cpu", "ref"):
            subprocess.check_call([segrank, "forward", "-m", sr_model, "-b", backend, "-i", xp, "-o", yp])
            got = np.load(yp)
            assert got.shape == want.shape, (got.shape, want.shape)
            d = float(np.abs(got - want).max())
            agree = float((got.argmax(1) == want.argmax(1)).mean())
            print(f"seed {seed} {shape} {backend}: max|diff| {d:.3e} (bound {TOL:g}), argmax agreement {agree*100:.2f}%")
            worst = max(worst, d)
    if worst >= TOL:
        print(f"FAIL: max |diff| {worst:.3e} >= {TOL:g}")
        sys.exit(1)
print("ok")
