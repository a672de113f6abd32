"""PyTorch timing of the SegNet forward pass on the GPU (batch 1, 8, 16 at
227x227, float32, cuDNN), the peer of `segrank bench --backend cuda`
(tools/gpu-check.sh runs both). Uses the shared peers' network definition.
Run: python3 torch_gpu_forward.py [runs=50] [peers-dir=../shared/peers]"""
import os, statistics, sys

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 50
PEERS = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "peers")
sys.path.insert(0, PEERS)
import torch
from segnet_def import layer_flops
from torch_net import build

assert torch.cuda.is_available(), "no CUDA device for PyTorch"
torch.backends.cuda.matmul.allow_tf32 = False  # float32 throughout, as segrank's cuda backend
torch.backends.cudnn.allow_tf32 = False
torch.backends.cudnn.benchmark = True
FLOPS = sum(r[5] for r in layer_flops())
dev = torch.device("cuda")
net = build().to(dev).eval()
print(f"torch {torch.__version__} on {torch.cuda.get_device_name(0)}, cuDNN {torch.backends.cudnn.version()}, "
      f"forward GFLOP/frame {FLOPS / 1e9:.4f}, runs {RUNS}")
with torch.no_grad():
    for batch in (1, 8, 16):
        x = torch.randn(batch, 3, 227, 227, device=dev)
        for _ in range(5):
            net(x)
        torch.cuda.synchronize()
        times = []
        for _ in range(RUNS):
            t0, t1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            t0.record()
            net(x).cpu()  # with the copy back, as segrank's timing includes its download
            t1.record()
            torch.cuda.synchronize()
            times.append(t0.elapsed_time(t1))
        med = statistics.median(times)
        print(f"forward b{batch}: {med:.3f} ms/call, {med / batch:.3f} ms/frame, "
              f"{FLOPS * batch / med / 1e6:.1f} GFLOP/s (median of {RUNS})")
