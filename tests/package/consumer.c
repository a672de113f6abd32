/* consumer.c: a program built against the installed packages only
 * (tools/deb-check.sh compiles it with `pkg-config --cflags --libs segrank
 * gstsegrankmeta-1.0`): loads the shipped model the installed library finds
 * by itself, runs the net on one frame, and registers the prob meta's API
 * type. Prints one line per check; exit 0 when all pass. */
#include <gst/gst.h>
#include <gst/segrank/gstsrprobmeta.h>
#include <segrank.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  sr_error err = {0};
  sr_model *m = NULL;
  const char *path = sr_default_model_path();
  printf("libsegrank %s, default model %s\n", sr_version(), path);
  if (sr_model_load(path, &m, &err) != SR_OK) {
    fprintf(stderr, "consumer: %s\n", err.msg);
    return 1;
  }
  sr_backend *b = NULL;
  sr_net *net = NULL;
  sr_tensor x = {0}, y = {0};
  int ok = sr_backend_new("cpu", 0, &b, &err) == SR_OK && sr_net_new(m, b, &net, &err) == SR_OK &&
           sr_tensor_alloc(&x, 1, 3, m->input_h, m->input_w) == SR_OK && sr_net_forward(net, &x, &y, &err) == SR_OK;
  if (!ok) {
    fprintf(stderr, "consumer: %s\n", err.msg[0] ? err.msg : "out of memory");
    return 1;
  }
  /* A softmax output: each cell's class probabilities sum to 1. */
  double sum = 0;
  for (int k = 0; k < y.c; k++) sum += y.data[(size_t)k * y.h * y.w];
  printf("forward: %d classes on a %dx%d map, cell 0 sums to %.4f\n", y.c, y.h, y.w, sum);
  GType t = GST_SR_PROB_META_API_TYPE;
  printf("meta API type %s\n", g_type_name(t));
  int pass = y.c == m->n_classes && sum > 0.999 && sum < 1.001 && t != 0;
  sr_tensor_clear(&x), sr_tensor_clear(&y);
  sr_net_free(net);
  sr_backend_free(b);
  sr_model_free(m);
  return pass ? 0 : 1;
}
