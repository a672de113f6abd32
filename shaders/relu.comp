// relu.comp: in-place ReLU (binding 3), one invocation per element.
#version 450
layout(constant_id = 0) const uint WG = 64;
layout(local_size_x_id = 0) in;
layout(std430, binding = 3) buffer Y { float y[]; };
layout(push_constant) uniform P { int total; } p;

void main() {
  int i = int(gl_GlobalInvocationID.x);
  if (i < p.total) y[i] = max(y[i], 0.0);
}
