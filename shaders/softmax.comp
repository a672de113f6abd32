// softmax.comp: softmax over channels, one invocation per (frame, pixel).
#version 450
layout(constant_id = 0) const uint WG = 64;
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 3) writeonly buffer Y { float y[]; };
layout(push_constant) uniform P { int c, plane, total; } p;

void main() {
  int i = int(gl_GlobalInvocationID.x);
  if (i >= p.total) return;
  int pix = i % p.plane, base = (i / p.plane) * p.c * p.plane + pix;
  float m = -3.402823466e38;
  for (int k = 0; k < p.c; k++) m = max(m, x[base + k * p.plane]);
  float s = 0.0;
  for (int k = 0; k < p.c; k++) s += exp(x[base + k * p.plane] - m);
  for (int k = 0; k < p.c; k++) y[base + k * p.plane] = exp(x[base + k * p.plane] - m) / s;
}
