/* dataset.c: dataset readers (CamVid, generic folders). */
#include "dataset.h"

#include <glib.h>
#include <matio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static gint cmp_str(gconstpointer a, gconstpointer b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Checks one pair; returns an error message (g_free) or NULL. */
static char *check_pair(const sr_image *img, const sr_image *lab, const char *lab_path, int n_classes,
                        int void_label) {
  if (img->width != lab->width || img->height != lab->height)
    return g_strdup_printf("%s: label map is %dx%d but the image is %dx%d", lab_path, lab->width, lab->height,
                           img->width, img->height);
  for (size_t i = 0; i < (size_t)lab->width * lab->height; i++)
    if (lab->data[i] >= n_classes && lab->data[i] != void_label)
      return g_strdup_printf("%s: label %d at pixel (%zu, %zu) is out of range (classes 0..%d, void %d)", lab_path,
                             lab->data[i], i % lab->width, i / lab->width, n_classes - 1, void_label);
  return NULL;
}

/* SBD's cls/NAME.mat: the uint8 matrix GTcls.Segmentation (column-major). */
static sr_status load_sbd_mat(const char *path, sr_image *lab, sr_error *err) {
  memset(lab, 0, sizeof *lab);
  mat_t *mat = Mat_Open(path, MAT_ACC_RDONLY);
  if (!mat) return sr_error_set(err, SR_ERR_IO, "%s: cannot open as a MATLAB file", path);
  sr_status st = SR_OK;
  matvar_t *gt = Mat_VarRead(mat, "GTcls");
  matvar_t *seg = gt && gt->class_type == MAT_C_STRUCT ? Mat_VarGetStructFieldByName(gt, "Segmentation", 0) : NULL;
  if (!seg || seg->rank != 2 || seg->class_type != MAT_C_UINT8 || !seg->data) {
    st = sr_error_set(err, SR_ERR_FORMAT, "%s: no uint8 matrix GTcls.Segmentation", path);
  } else {
    int h = (int)seg->dims[0], w = (int)seg->dims[1];
    const uint8_t *d = seg->data;
    uint8_t *px = malloc((size_t)w * h > 0 ? (size_t)w * h : 1);
    if (!px) {
      st = sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory for a %dx%d label map", path, w, h);
    } else {
      *lab = (sr_image){w, h, 1, px};
      for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) lab->data[(size_t)y * w + x] = d[(size_t)x * h + y];
    }
  }
  if (gt) Mat_VarFree(gt);
  Mat_Close(mat);
  return st;
}

/* Where a sample's files are, for a layout. */
typedef struct {
  const char *img_dir, *img_ext, *lab_dir, *lab_ext;
  bool mat; /* labels are SBD .mat files */
} layout;

/* One sample's files and the name it is known by. */
typedef struct {
  char *img, *lab, *name;
} sample_path;

/* Loads and checks every listed sample (mat: labels are SBD .mat files);
 * @source names the listing for the messages. Frees the paths. */
static sr_status load_samples(sr_dataset *ds, sample_path *sp, int n, bool mat, bool skip_bad, const char *source,
                              sr_error *err) {
  ds->images = calloc(n ? n : 1, sizeof(sr_image));
  ds->labels = calloc(n ? n : 1, sizeof(sr_image));
  ds->names = calloc(n ? n : 1, sizeof(char *));
  sr_status st = SR_OK;
  if (!ds->images || !ds->labels || !ds->names)
    st = sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory for %d samples", source, n);
  for (int i = 0; i < n; i++) {
    sr_image img = {0}, lab = {0};
    sr_error e = {0};
    char *bad = NULL;
    if (st != SR_OK) {
      /* after an error: only free the remaining paths */
    } else if (!g_file_test(sp[i].lab, G_FILE_TEST_EXISTS))
      bad = g_strdup_printf("%s: label file missing for image %s (from %s)", sp[i].lab, sp[i].img, source);
    else if (sr_image_load(sp[i].img, 0, &img, &e) != SR_OK ||
             (mat ? load_sbd_mat(sp[i].lab, &lab, &e) : sr_label_png_load(sp[i].lab, &lab, &e)) != SR_OK)
      bad = g_strdup(e.msg);
    else
      bad = check_pair(&img, &lab, sp[i].lab, ds->n_classes, ds->void_label);
    if (bad) {
      sr_image_clear(&img), sr_image_clear(&lab);
      if (skip_bad) {
        fprintf(stderr, "warning: skipping %s\n", bad);
        ds->skipped++;
      } else {
        st = sr_error_set(err, SR_ERR_FORMAT, "%s", bad);
      }
      g_free(bad);
    } else if (st == SR_OK) {
      ds->images[ds->n] = img, ds->labels[ds->n] = lab, ds->names[ds->n] = sp[i].name;
      sp[i].name = NULL;
      ds->n++;
    }
    g_free(sp[i].img), g_free(sp[i].lab), g_free(sp[i].name);
  }
  if (st == SR_OK && ds->n == 0) st = sr_error_set(err, SR_ERR_FORMAT, "%s: no usable samples", source);
  return st;
}

/* Every PNG/JPEG image of @img_dir with the PNG of the same base name in @lab_dir. */
static sr_status read_pairs(const char *img_dir, const char *lab_dir, bool skip_bad, sr_dataset *ds, sr_error *err) {
  GError *gerr = NULL;
  GDir *d = g_dir_open(img_dir, 0, &gerr);
  if (!d) {
    sr_status st = sr_error_set(err, SR_ERR_IO, "%s", gerr->message);
    g_error_free(gerr);
    return st;
  }
  GPtrArray *names = g_ptr_array_new();
  const char *n;
  while ((n = g_dir_read_name(d)))
    if (g_str_has_suffix(n, ".png") || g_str_has_suffix(n, ".jpg") || g_str_has_suffix(n, ".jpeg"))
      g_ptr_array_add(names, g_strdup(n));
  g_dir_close(d);
  g_ptr_array_sort(names, cmp_str);
  if (names->len == 0) {
    g_ptr_array_free(names, TRUE);
    return sr_error_set(err, SR_ERR_IO, "%s: no .png or .jpg images", img_dir);
  }
  sample_path *sp = calloc(names->len, sizeof *sp);
  if (!sp) {
    guint len = names->len;
    g_ptr_array_set_free_func(names, g_free);
    g_ptr_array_free(names, TRUE);
    return sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory for %u samples", img_dir, len);
  }
  for (guint i = 0; i < names->len; i++) {
    char *name = names->pdata[i], *base = g_strndup(name, strrchr(name, '.') - name);
    char *lname = g_strdup_printf("%s.png", base);
    sp[i] = (sample_path){g_build_filename(img_dir, name, NULL), g_build_filename(lab_dir, lname, NULL), name};
    g_free(base), g_free(lname);
  }
  sr_status st = load_samples(ds, sp, (int)names->len, false, skip_bad, img_dir, err);
  g_free(g_ptr_array_free(names, FALSE)); /* the names now belong to the samples */
  free(sp);
  return st;
}

/* The samples a list file names, one base name per line. */
static sr_status read_list(const char *list, const layout *lay, bool skip_bad, sr_dataset *ds, sr_error *err) {
  gchar *text;
  GError *gerr = NULL;
  if (!g_file_get_contents(list, &text, NULL, &gerr)) {
    sr_status st = sr_error_set(err, SR_ERR_IO, "%s", gerr->message);
    g_error_free(gerr);
    return st;
  }
  char **lines = g_strsplit(text, "\n", -1);
  g_free(text);
  int n = 0;
  for (char **l = lines; *l; l++) n += *g_strstrip(*l) != 0;
  sample_path *sp = calloc(n ? n : 1, sizeof *sp);
  if (!sp) {
    g_strfreev(lines);
    return sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory for %d samples", list, n);
  }
  int k = 0;
  for (char **l = lines; *l; l++)
    if (**l)
      sp[k++] = (sample_path){g_strdup_printf("%s/%s%s", lay->img_dir, *l, lay->img_ext),
                              g_strdup_printf("%s/%s%s", lay->lab_dir, *l, lay->lab_ext),
                              g_strdup_printf("%s.png", *l)};
  g_strfreev(lines);
  sr_status st = load_samples(ds, sp, n, lay->mat, skip_bad, list, err);
  free(sp);
  return st;
}

/* The layouts that list their samples in a file (21 PASCAL classes, 255 = void). */
typedef struct {
  const char *prefix, *img_sub, *img_ext, *lab_sub, *lab_ext, *list_dir;
  bool mat;
} list_layout;

static const list_layout list_layouts[] = {
    /* VOCdevkit/VOC2012: palette PNG labels, ImageSets/Segmentation/SPLIT.txt */
    {"voc:", "JPEGImages", ".jpg", "SegmentationClass", ".png", "ImageSets/Segmentation/", false},
    /* SBD benchmark_RELEASE/dataset: cls/NAME.mat with GTcls.Segmentation, SPLIT.txt */
    {"sbd:", "img", ".jpg", "cls", ".mat", "", true},
};

static const list_layout *find_list_layout(const char *spec) {
  for (size_t i = 0; i < sizeof list_layouts / sizeof *list_layouts; i++)
    if (g_str_has_prefix(spec, list_layouts[i].prefix)) return &list_layouts[i];
  return NULL;
}

sr_status sr_dataset_open(const char *spec, const char *split, int n_classes, bool skip_bad, sr_dataset *ds,
                          sr_error *err) {
  memset(ds, 0, sizeof *ds);
  sr_status st;
  const list_layout *lay;
  if (g_str_has_prefix(spec, "camvid:")) {
    ds->n_classes = 11, ds->void_label = 11;
    char *img = g_strdup_printf("%s/%s", spec + 7, split), *lab = g_strdup_printf("%s/%sannot", spec + 7, split);
    st = read_pairs(img, lab, skip_bad, ds, err);
    g_free(img), g_free(lab);
  } else if ((lay = find_list_layout(spec))) {
    const char *d = spec + strlen(lay->prefix);
    ds->n_classes = 21, ds->void_label = 255;
    char *img = g_strdup_printf("%s/%s", d, lay->img_sub), *lab = g_strdup_printf("%s/%s", d, lay->lab_sub);
    char *list = g_strdup_printf("%s/%s%s.txt", d, lay->list_dir, split);
    layout paths = {img, lay->img_ext, lab, lay->lab_ext, lay->mat};
    st = read_list(list, &paths, skip_bad, ds, err);
    g_free(img), g_free(lab), g_free(list);
  } else if (g_str_has_prefix(spec, "folder:")) {
    char **parts = g_strsplit(spec + 7, ",", 2);
    if (!parts[0] || !parts[1] || n_classes < 2 || n_classes > 254) {
      g_strfreev(parts);
      return sr_error_set(err, SR_ERR_INVALID, "folder datasets need folder:IMAGES,LABELS and a class count 2..254");
    }
    ds->n_classes = n_classes, ds->void_label = 255;
    st = read_pairs(parts[0], parts[1], skip_bad, ds, err);
    g_strfreev(parts);
  } else {
    return sr_error_set(err, SR_ERR_UNSUPPORTED,
                        "dataset '%s': use camvid:DIR, voc:DIR, sbd:DIR or folder:IMAGES,LABELS", spec);
  }
  if (st != SR_OK) sr_dataset_clear(ds);
  return st;
}

sr_status sr_dataset_subset(const sr_dataset *ds, const int *idx, int n, sr_dataset *out, sr_error *err) {
  *out = *ds;
  out->n = n, out->borrowed = true, out->skipped = 0;
  size_t m = n > 0 ? (size_t)n : 1;
  out->images = malloc(sizeof(sr_image) * m);
  out->labels = malloc(sizeof(sr_image) * m);
  out->names = malloc(sizeof(char *) * m);
  if (!out->images || !out->labels || !out->names) {
    sr_dataset_clear(out);
    return sr_error_set(err, SR_ERR_NOMEM, "out of memory for a subset of %d images", n);
  }
  for (int i = 0; i < n; i++)
    out->images[i] = ds->images[idx[i]], out->labels[i] = ds->labels[idx[i]], out->names[i] = ds->names[idx[i]];
  return SR_OK;
}

void sr_dataset_clear(sr_dataset *ds) {
  for (int i = 0; i < ds->n && !ds->borrowed; i++) {
    sr_image_clear(&ds->images[i]);
    sr_image_clear(&ds->labels[i]);
    g_free(ds->names[i]);
  }
  free(ds->images), free(ds->labels), free(ds->names);
  memset(ds, 0, sizeof *ds);
}
