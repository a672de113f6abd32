/* net.h: sr_net, a model bound to a backend: weights uploaded once, blob
 * memory planned per input shape, forward pass as one sequence of backend
 * ops (convolution+ReLU fused, dropout skipped at inference). */
#ifndef SR_NET_H
#define SR_NET_H

#include <stdbool.h>

#include "model.h"

typedef struct sr_net sr_net;

/* Binds @m (transfer none; must outlive the net) to @b (transfer none). */
sr_status sr_net_new(const sr_model *m, sr_backend *b, sr_net **out, sr_error *err);
void sr_net_free(sr_net *net);

/* Runs the net on @input, a host tensor N×3×H×W already preprocessed
 * (sr_preprocess). @output (host) is (re)allocated to N×classes×oh×ow when
 * its shape differs, so it can be reused across calls without allocation. */
sr_status sr_net_forward(sr_net *net, const sr_tensor *input, sr_tensor *output, sr_error *err);

/* Later forward passes also copy the output of layer @layer (a name of the
 * model, e.g. "conv5": after its fused ReLU, as relu5 would give) to the
 * host, where sr_net_tap() finds it (N × C × h × w). NULL: no tap. Error
 * when the model has no such layer. */
sr_status sr_net_set_tap(sr_net *net, const char *layer, sr_error *err);
/* The tapped output of the last forward pass, or NULL (no tap or no pass). */
const sr_tensor *sr_net_tap(const sr_net *net);
/* Per-layer timing of later forward passes (adds a synchronize per layer). */
void sr_net_set_profiling(sr_net *net, bool on);
/* Steps of the last forward pass: name (e.g. "conv1+relu1"), milliseconds
 * (when profiling) and FLOPs (2×MAC, convolutions only). */
int sr_net_step_count(const sr_net *net);
const char *sr_net_step_name(const sr_net *net, int i);
double sr_net_step_ms(const sr_net *net, int i);
double sr_net_step_flops(const sr_net *net, int i);

#endif
