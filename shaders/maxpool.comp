// maxpool.comp: max pooling (Caffe's ceil-rounded output size is computed by
// the host), one invocation per output element.
#version 450
layout(constant_id = 0) const uint WG = 64;
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 3) writeonly buffer Y { float y[]; };
layout(push_constant) uniform P { int in_h, in_w, out_h, out_w, kernel, stride, pad, total; } p;

void main() {
  int i = int(gl_GlobalInvocationID.x);
  if (i >= p.total) return;
  int ox = i % p.out_w, oy = (i / p.out_w) % p.out_h, plane = i / (p.out_w * p.out_h);
  int y0 = max(oy * p.stride - p.pad, 0), y1 = min(oy * p.stride - p.pad + p.kernel, p.in_h);
  int x0 = max(ox * p.stride - p.pad, 0), x1 = min(ox * p.stride - p.pad + p.kernel, p.in_w);
  float m = -3.402823466e38;
  int base = plane * p.in_h * p.in_w;
  for (int iy = y0; iy < y1; iy++)
    for (int ix = x0; ix < x1; ix++) m = max(m, x[base + iy * p.in_w + ix]);
  y[i] = m;
}
