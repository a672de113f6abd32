/* load_meter.h: CPU used by *other* processes while a benchmark measured
 * (this project's machines are shared), computed the way the peers'
 * ../shared/peers/quiet.py does, so segrank's figures are taken under the
 * same conditions as OpenCV's and PyTorch's in one run. */
#ifndef SEGRANK_LOAD_METER_H
#define SEGRANK_LOAD_METER_H

typedef struct {
  double t0, busy0, own0;
} load_meter;

void load_meter_start(load_meter *m);
/* Fraction of the machine (all cores) busy with other processes since
 * start: (busy CPU time of the machine − ours) / (elapsed × cores). 0 where
 * /proc/stat cannot be read. */
double load_meter_foreign(const load_meter *m);
/* Waits until @need consecutive windows of @window_s seconds had less than
 * @thresh foreign load; gives up after @max_wait_s. Returns the seconds
 * waited, or −1 on giving up. */
double load_wait_idle(double thresh, double window_s, int need, double max_wait_s);

#endif
