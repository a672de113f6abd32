/* pipeline_cache.c: load and save the Vulkan pipeline cache (see the header). */
#include "pipeline_cache.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../io/atomic_file.h"

/* Larger files are not ours: ignored. */
#define MAX_CACHE_BYTES ((gsize)64 << 20)

char *sr__vk_cache_path(const VkPhysicalDeviceProperties *props) {
  const char *env = getenv("SEGRANK_VULKAN_CACHE");
  if (env) return *env ? g_strdup(env) : NULL;
  char uuid[2 * VK_UUID_SIZE + 1];
  for (unsigned i = 0; i < VK_UUID_SIZE; i++) snprintf(uuid + 2 * i, 3, "%02x", props->pipelineCacheUUID[i]);
  char *name = g_strdup_printf("vulkan-%s.bin", uuid);
  char *path = g_build_filename(g_get_user_cache_dir(), "segrank", name, NULL);
  g_free(name);
  return path;
}

void *sr__vk_cache_load(const char *path, size_t *size) {
  gchar *data = NULL;
  gsize len = 0;
  *size = 0;
  if (!path || !g_file_get_contents(path, &data, &len, NULL)) return NULL;
  if (len == 0 || len > MAX_CACHE_BYTES) {
    g_free(data);
    return NULL;
  }
  *size = len;
  return data;
}

void sr__vk_cache_save(VkDevice dev, VkPipelineCache cache, const char *path, size_t loaded_size) {
  size_t size = 0;
  if (!path || vkGetPipelineCacheData(dev, cache, &size, NULL) != VK_SUCCESS || size == 0 || size == loaded_size ||
      size > MAX_CACHE_BYTES)
    return;
  void *data = malloc(size);
  char *dir = g_path_get_dirname(path);
  sr_atomic_file af;
  if (data && vkGetPipelineCacheData(dev, cache, &size, data) == VK_SUCCESS && g_mkdir_with_parents(dir, 0700) == 0 &&
      sr_atomic_open(&af, path, NULL) == SR_OK) {
    if (fwrite(data, 1, size, af.f) == size) sr_atomic_commit(&af, NULL);
    else sr_atomic_abort(&af);
  }
  g_free(dir);
  free(data);
}
