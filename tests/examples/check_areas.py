"""Runs an example application (the arguments after --) and checks its
output: --frames N lines "frame I: CLASS=FRACTION ...", frames 0 to N-1 in
order, each frame's fractions in [0, 1] and summing to 1 within the printed
precision (6 decimals, so 1e-5 over a dozen classes; the label map
covers the whole frame)."""
import re
import subprocess
import sys

args = sys.argv[1:]
split = args.index("--")
opts, cmd = args[:split], args[split + 1:]
frames = int(opts[opts.index("--frames") + 1])
run = subprocess.run(cmd, capture_output=True, text=True, timeout=100)
sys.stdout.write(run.stdout)
sys.stderr.write(run.stderr)
if run.returncode == 77:
    sys.exit(77)
assert run.returncode == 0, f"{cmd} exited with {run.returncode}"
seen = []
for line in run.stdout.splitlines():
    m = re.fullmatch(r"frame (\d+):((?: [^ =]+=[0-9.]+)+)", line)
    if not m:
        continue
    areas = {k: float(v) for k, v in (item.split("=") for item in m.group(2).split())}
    assert all(0 <= a <= 1 for a in areas.values()), line
    assert abs(sum(areas.values()) - 1) < 1e-5, f"frame {m.group(1)}: the areas sum to {sum(areas.values())}"
    seen.append(int(m.group(1)))
assert seen == list(range(frames)), f"expected frames 0..{frames - 1}, got {seen}"
print(f"check: {frames} frames, areas sum to 1")
