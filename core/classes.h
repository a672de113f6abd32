/* classes.h: class tables (names and display colours) of the datasets segrank
 * knows, so models carry them in their header. */
#ifndef SR_CLASSES_H
#define SR_CLASSES_H

#include "model.h"

/* Class table for @dataset ("camvid": 11 classes, "voc": 21 classes); void
 * labels are not classes. Returns the count, or 0 for an unknown name. */
int sr_dataset_classes(const char *dataset, const sr_class **classes);

#endif
