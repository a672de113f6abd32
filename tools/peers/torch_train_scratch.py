"""PyTorch CPU timing of a from-scratch SegNet training step: conv1-8 (with the
pools and LRNs between, Caffe's ceil rounding), batch 8, 256x256 crops,
cross-entropy on soft targets at the output resolution, backward (no input
gradient), SGD with momentum 0.9 and weight decay 5e-4: the step
`segrank bench --train` times as "from scratch" (sr_train_bench).
Run: /usr/bin/python3 torch_train_scratch.py [threads=2] [runs=10] [peers-dir=../shared/peers]
(the shared peers' segnet_def.py and quiet.py are used from peers-dir).
Every measurement waits for the machine to be idle and is retried if other
processes used >5% CPU (quiet.py)."""
import os, statistics, sys, time

THREADS = int(sys.argv[1]) if len(sys.argv) > 1 else 2
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 10
PEERS = sys.argv[3] if len(sys.argv) > 3 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "peers")
sys.path.insert(0, PEERS)
import torch
import torch.nn as nn
from segnet_def import CONVS, out_hw
from quiet import guarded

torch.set_num_threads(THREADS)
torch.manual_seed(0)
B, HW, CLASSES = 8, 256, 21


def build():
    layers = []
    for name, ci, co, k, s, p, g, _, relu in CONVS:
        layers.append(nn.Conv2d(ci, co if name != "conv8" else CLASSES, k, stride=s, padding=p, groups=g))
        if relu:
            layers.append(nn.ReLU(inplace=True))
        if name in ("conv1", "conv2"):
            layers += [nn.MaxPool2d(3, 2, ceil_mode=True), nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0)]
    return nn.Sequential(*layers)


def flops(hw):
    """Training FLOPs per frame: forward, weight gradients, input gradients but conv1's."""
    total = 0
    for name, ci, co, k, s, p, g, _, _ in CONVS:
        o = out_hw(hw, k, s, p)
        f = 2 * co * (ci // g) * k * k * o * o
        total += 3 * f - (f if name == "conv1" else 0)
        hw = o
        if name in ("conv1", "conv2"):
            hw = -(-(hw - 3) // 2) + 1  # ceil rounding
    return total


net = build().train()
x = torch.randn(B, 3, HW, HW) * 60
with torch.no_grad():
    z = net(x)
oh, ow = z.shape[2], z.shape[3]
target = torch.softmax(torch.randn(B, CLASSES, oh, ow) * 3, dim=1)  # soft targets, as our trainer's
opt = torch.optim.SGD(net.parameters(), lr=1e-3, momentum=0.9, weight_decay=5e-4)
lossf = nn.CrossEntropyLoss()


def step():
    opt.zero_grad(set_to_none=True)
    loss = lossf(net(x), target)
    loss.backward()
    opt.step()


def timeit(fn, runs=RUNS, warm=2):
    for _ in range(warm):
        fn()
    ts = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), min(ts)


F = flops(HW)
print(f"torch {torch.__version__} threads={torch.get_num_threads()} mkldnn_enabled={torch.backends.mkldnn.enabled} "
      f"from-scratch step: batch {B}, {HW}x{HW} crops, output {oh}x{ow}, {F/1e9:.3f} GFLOP/frame, runs={RUNS}")
(med, best), fl = guarded(lambda: timeit(step), "train scratch")
for lab, t in (("median", med), ("best", best)):
    print(f"{'train step scratch conv1-8 b8 (' + lab + ')':40s} {t*1e3:9.2f} ms/call {t*1e3/B:8.2f} ms/frame "
          f"{F*B/t/1e9:7.1f} GFLOP/s  [foreign load {100*fl:.0f}%]", flush=True)
