/* dataset.h: labelled image sets held in memory (images as RGB, labels as
 * class indices with one void value), read from CamVid's layout or a generic
 * image-folder + label-folder pair. */
#ifndef SR_DATASET_H
#define SR_DATASET_H

#include <stdbool.h>

#include "../image.h"
#include "../status.h"

typedef struct {
  int n;
  sr_image *images; /* RGB */
  sr_image *labels; /* grey: class index, or `void_label` */
  char **names;     /* file names, without directory */
  int n_classes;
  int void_label;   /* ignored in loss and evaluation; other labels ≥ n_classes are errors */
  int skipped;      /* samples dropped by skip_bad */
  bool borrowed;    /* a subset: the images belong to another dataset */
} sr_dataset;

/* Opens "camvid:DIR" (split = train | val | test: the PNGs of DIR/SPLIT with labels in
 * DIR/SPLITannot/, 11 classes, void 11), "voc:DIR" (PASCAL VOC 2012:
 * JPEGImages, SegmentationClass palette PNGs, ImageSets/Segmentation/SPLIT.txt;
 * 21 classes, void 255), "sbd:DIR" (SBD's dataset folder: img, cls/NAME.mat
 * with GTcls.Segmentation, SPLIT.txt; 21 classes) or "folder:IMAGES,LABELS"
 * (PNG or JPEG images, PNG labels with the same base name; @n_classes, void 255). A missing label file, a size
 * mismatch or a label above the void value is an error naming the file, or
 * with @skip_bad a warning on stderr and a count. */
sr_status sr_dataset_open(const char *spec, const char *split, int n_classes, bool skip_bad, sr_dataset *ds,
                          sr_error *err);
void sr_dataset_clear(sr_dataset *ds);

/* A view of the samples @idx[0..n) of @ds (which must outlive it); clear it
 * with sr_dataset_clear, which then frees only the view. SR_ERR_NOMEM
 * (and @out empty) when the view's index cannot be allocated. */
sr_status sr_dataset_subset(const sr_dataset *ds, const int *idx, int n, sr_dataset *out, sr_error *err);

#endif
