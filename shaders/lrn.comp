// lrn.comp: local response normalisation across channels (Caffe):
// y = x · (k + alpha/size · Σ_window x²)^(-beta), one invocation per element.
#version 450
layout(constant_id = 0) const uint WG = 64;
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 3) writeonly buffer Y { float y[]; };
layout(push_constant) uniform P { int c, plane, size, total; float alpha, beta, k; } p;

void main() {
  int i = int(gl_GlobalInvocationID.x);
  if (i >= p.total) return;
  int pix = i % p.plane, ch = (i / p.plane) % p.c, n = i / (p.plane * p.c);
  int pre = (p.size - 1) / 2;
  float s = 0.0;
  for (int j = max(ch - pre, 0); j < min(ch - pre + p.size, p.c); j++) {
    float v = x[(n * p.c + j) * p.plane + pix];
    s += v * v;
  }
  y[i] = x[i] * pow(p.k + p.alpha / float(p.size) * s, -p.beta);
}
