// conv2d.comp: convolution as an implicit GEMM (im2col computed on the fly)
// with TS×TS tiles in shared memory. One workgroup computes a TS×TS block of
// (output channel × output pixel) for one (frame, group); bias and ReLU are
// fused. Bindings: 0 input N×C×H×W, 1 weights, 2 bias, 3 output.
#version 450
layout(constant_id = 0) const uint TS = 16;
layout(local_size_x_id = 0, local_size_y_id = 0) in;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Wt { float w[]; };
layout(std430, binding = 2) readonly buffer B { float bias[]; };
layout(std430, binding = 3) writeonly buffer Y { float y[]; };

layout(push_constant) uniform P {
  int in_c, in_h, in_w, out_c, out_h, out_w, kh, kw, stride, pad, group, relu, has_bias;
} p;

shared float ws[TS][TS + 1];
shared float xs[TS][TS + 1];

void main() {
  int icg = p.in_c / p.group, ocg = p.out_c / p.group;
  int K = icg * p.kh * p.kw, N = p.out_h * p.out_w;
  int n = int(gl_WorkGroupID.z) / p.group, g = int(gl_WorkGroupID.z) % p.group;
  int tx = int(gl_LocalInvocationID.x), ty = int(gl_LocalInvocationID.y);
  int col = int(gl_WorkGroupID.x * TS) + tx;  // output pixel
  int row = int(gl_WorkGroupID.y * TS) + ty;  // output channel within the group
  int in_base = (n * p.in_c + g * icg) * p.in_h * p.in_w;
  float acc = 0.0;
  for (int k0 = 0; k0 < K; k0 += int(TS)) {
    // weights tile: rows of this block, k0..k0+TS
    int wr = int(gl_WorkGroupID.y * TS) + ty, wk = k0 + tx;
    ws[ty][tx] = (wr < ocg && wk < K) ? w[(g * ocg + wr) * K + wk] : 0.0;
    // input tile: k0+ty, columns of this block
    int xk = k0 + ty, xc = int(gl_WorkGroupID.x * TS) + tx;
    float v = 0.0;
    if (xk < K && xc < N) {
      int c = xk / (p.kh * p.kw), r = xk % (p.kh * p.kw), ky = r / p.kw, kx = r % p.kw;
      int oy = xc / p.out_w, ox = xc % p.out_w;
      int iy = oy * p.stride - p.pad + ky, ix = ox * p.stride - p.pad + kx;
      if (iy >= 0 && iy < p.in_h && ix >= 0 && ix < p.in_w) v = x[in_base + (c * p.in_h + iy) * p.in_w + ix];
    }
    xs[ty][tx] = v;
    barrier();
    for (uint k = 0; k < TS; k++) acc += ws[ty][k] * xs[k][tx];
    barrier();
  }
  if (row < ocg && col < N) {
    int oc = g * ocg + row;
    acc += p.has_bias != 0 ? bias[oc] : 0.0;
    if (p.relu != 0) acc = max(acc, 0.0);
    y[(n * p.out_c + oc) * N + col] = acc;
  }
}
