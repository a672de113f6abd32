/* proposal_set.h: M full-resolution segmentations proposed for one frame,
 * with what their source knows of each (score, energy and its unary and
 * pairwise parts, rank, per-class areas) and, when the source built them on
 * superpixels, the superpixel map. Reading and writing the on-disk layout
 * shared by `segrank propose` and the `proposalload` element:
 * DIR/<image name>/<rank>.png (8-bit grey class indices, rank zero-padded so
 * that name order is rank order; palette PNGs are read by index) plus an
 * optional DIR/<image name>/scores.json listing the files in order. */
#ifndef SR_PROPOSAL_SET_H
#define SR_PROPOSAL_SET_H

#include <stddef.h>
#include <stdint.h>

#include "../status.h"

typedef struct {
  int width, height;
  int n_classes;   /* labels ≥ n_classes are void (not a class) */
  int n;           /* proposals */
  uint8_t *labels; /* n × height × width, proposal-major */
  /* Per proposal (n each). Sources that lack a value store NAN. */
  double *score;    /* the source's own score, lower is better (DivMBest: energy) */
  double *energy;   /* E(x) under the source's model */
  double *unary;    /* its unary part */
  double *pairwise; /* its pairwise part */
  int *rank;        /* 0 = the source's best (MAP) */
  double *areas;    /* n × n_classes: fraction of the frame's pixels per class */
  /* The superpixels the proposals were built on (nullable: none). */
  int n_superpixels;
  int32_t *superpixels; /* width × height */
} sr_proposal_set;

/* Allocates room for @n proposals of @width × @height (labels 0, values NAN,
 * rank = index, no superpixels). */
sr_status sr_proposal_set_alloc(sr_proposal_set *s, int width, int height, int n_classes, int n, sr_error *err);
void sr_proposal_set_clear(sr_proposal_set *s);
/* Deep copy. */
sr_status sr_proposal_set_copy(const sr_proposal_set *src, sr_proposal_set *dst, sr_error *err);
/* Recomputes areas[] from labels[]. */
void sr_proposal_set_update_areas(sr_proposal_set *s);
/* Proposal @k's label map (height × width). */
static inline uint8_t *sr_proposal_labels(const sr_proposal_set *s, int k) {
  return s->labels + (size_t)k * s->width * s->height;
}

/* scores.json's "format" and "version" as segrank writes them. A folder
 * from another tool may leave both out; a scores.json naming another
 * format, or another version, is refused naming both versions. */
#define SR_PROPOSALS_FORMAT "segrank-proposals"
#define SR_PROPOSALS_VERSION 1

/* Writes DIR/<rank>.png for every proposal (names zero-padded to the width
 * of n-1, at least 2 digits) and DIR/scores.json ({"format", "version",
 * "writer", "classes":C, "width", "height", "proposals":
 * [{"rank","score","energy","unary","pairwise","file"}...]}); creates @dir.
 * Every file is written atomically. Then removes the folder's other *.png
 * files (left by an earlier, larger set), so re-saving with a smaller M
 * leaves no stale proposals; files that are not PNGs are left alone. */
sr_status sr_proposal_set_save_dir(const sr_proposal_set *s, const char *dir, sr_error *err);

/* Reads a folder written as above or by another tool. When scores.json
 * lists "file" names, exactly those PNGs in listed order are the proposals
 * (a listed file that is missing is an error naming it; other PNGs are
 * ignored); otherwise every *.png in name order is one proposal and
 * scores.json's entries, if any, apply by order. Label PNGs are read as
 * stored (sr_label_png_load: raw grey values or palette indices; colour PNGs
 * are an error); values ≥ @n_classes other than @void_label are an error
 * naming the file. scores.json is checked: entries are objects, "file" a
 * PNG name in all entries or none, "rank" an integer in 0..n-1 with no rank
 * twice (default: position), score/energy/unary/pairwise finite numbers or
 * null (null or absent: unknown; an unknown score is the rank). Any other
 * type is a format error naming scores.json and the entry. Without
 * scores.json, rank = position and score = rank. All PNGs must share one
 * size; when @width/@height are > 0 they must match it. An empty or missing
 * folder is an error (SR_ERR_IO). At most @max_n proposals are read (0:
 * all), the first in order. */
sr_status sr_proposal_set_load_dir(const char *dir, int n_classes, int void_label, int width, int height,
                                   int max_n, sr_proposal_set *s, sr_error *err);

#endif
