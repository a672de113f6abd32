/* pipeline_cache.h: the Vulkan backend's pipeline cache on disk, so shader
 * compilation by the driver happens once per device, not once per run. */
#ifndef SR_VK_PIPELINE_CACHE_H
#define SR_VK_PIPELINE_CACHE_H

#include <stddef.h>
#include <vulkan/vulkan.h>

/* The cache file for a device: $SEGRANK_VULKAN_CACHE if set (empty: no
 * file), else <user cache dir>/segrank/vulkan-<pipelineCacheUUID>.bin.
 * Returns (transfer full, g_free) the path, or NULL for none. */
char *sr__vk_cache_path(const VkPhysicalDeviceProperties *props);

/* The file's contents (transfer full, g_free), NULL when absent or unreadable;
 * drivers check the header themselves and ignore data of another device. */
void *sr__vk_cache_load(const char *path, size_t *size);

/* Writes @cache's data to @path atomically (temp, fsync, rename), creating
 * the directory; skipped when the data has the size it was loaded with.
 * Failures are ignored: the cache only saves time. */
void sr__vk_cache_save(VkDevice dev, VkPipelineCache cache, const char *path, size_t loaded_size);

#endif
