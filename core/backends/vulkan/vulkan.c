/* vulkan.c: the Vulkan compute backend. Buffers live in device memory
 * (mapped directly when the memory is host-visible, else filled through a
 * staging buffer); every op records one dispatch into a command buffer with
 * a barrier after it, and synchronize submits the whole forward pass at once.
 * Pipelines come from the SPIR-V of shaders/ with the tile size as a
 * specialization constant, through a pipeline cache kept on disk between
 * runs (pipeline_cache.c). Device choice: discrete
 * GPU first, then integrated, virtual, CPU; $SEGRANK_VULKAN_DEVICE picks one
 * by index or by a substring of its name. */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vulkan/vulkan.h>

#include "../backend_impl.h"
#include "pipeline_cache.h"
#include "spirv.h"

enum { PIPE_CONV, PIPE_RELU, PIPE_MAXPOOL, PIPE_LRN, PIPE_SOFTMAX, PIPE_COUNT };
#define MAX_SETS 256
#define TILE 16
#define WG 64

typedef struct {
  VkBuffer buf;
  VkDeviceMemory mem;
  VkDeviceSize size;
  void *mapped; /* non-NULL when the memory is host-visible */
} vk_buf;

typedef struct {
  sr_backend base;
  VkInstance instance;
  VkPhysicalDevice phys;
  VkPhysicalDeviceProperties props;
  VkDevice dev;
  VkQueue queue;
  uint32_t queue_family;
  VkDescriptorSetLayout set_layout;
  VkPipelineLayout layout;
  VkPipelineCache cache;
  char *cache_path;         /* NULL: not kept on disk */
  size_t cache_loaded_size; /* bytes read from it at start */
  VkPipeline pipes[PIPE_COUNT];
  VkDescriptorPool desc_pool;
  int sets_used;
  VkCommandPool cmd_pool;
  VkCommandBuffer cmd;
  VkFence fence;
  int recording;
} vk_backend;

static sr_status vk_fail(sr_error *err, VkResult r, const char *what) {
  return sr_error_set(err, SR_ERR_BACKEND, "vulkan: %s failed (VkResult %d)", what, (int)r);
}

/* ---- command recording ---- */

static VkResult begin(vk_backend *vb) {
  if (vb->recording) return VK_SUCCESS;
  VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                 .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
  VkResult r = vkBeginCommandBuffer(vb->cmd, &bi);
  if (r == VK_SUCCESS) vb->recording = 1;
  return r;
}

static sr_status vk_synchronize(sr_backend *b) {
  vk_backend *vb = (vk_backend *)b;
  if (!vb->recording) return SR_OK;
  vb->recording = 0;
  if (vkEndCommandBuffer(vb->cmd) != VK_SUCCESS) return SR_ERR_BACKEND;
  VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &vb->cmd};
  vkResetFences(vb->dev, 1, &vb->fence);
  if (vkQueueSubmit(vb->queue, 1, &si, vb->fence) != VK_SUCCESS) return SR_ERR_BACKEND;
  if (vkWaitForFences(vb->dev, 1, &vb->fence, VK_TRUE, UINT64_MAX) != VK_SUCCESS) return SR_ERR_BACKEND;
  vkResetCommandPool(vb->dev, vb->cmd_pool, 0);
  vkResetDescriptorPool(vb->dev, vb->desc_pool, 0);
  vb->sets_used = 0;
  return SR_OK;
}

/* Records one dispatch of @pipe over buffers (x, w, bias, y) with push constants. */
static sr_status dispatch(vk_backend *vb, int pipe, vk_buf *const bufs[4], const void *push, uint32_t push_size,
                          uint32_t gx, uint32_t gy, uint32_t gz) {
  if (vb->sets_used == MAX_SETS && vk_synchronize(&vb->base) != SR_OK) return SR_ERR_BACKEND;
  if (begin(vb) != VK_SUCCESS) return SR_ERR_BACKEND;
  VkDescriptorSetAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                                    .descriptorPool = vb->desc_pool, .descriptorSetCount = 1,
                                    .pSetLayouts = &vb->set_layout};
  VkDescriptorSet set;
  if (vkAllocateDescriptorSets(vb->dev, &ai, &set) != VK_SUCCESS) return SR_ERR_BACKEND;
  vb->sets_used++;
  VkDescriptorBufferInfo info[4];
  VkWriteDescriptorSet wr[4];
  for (int i = 0; i < 4; i++) {
    vk_buf *bb = bufs[i] ? bufs[i] : bufs[3];
    info[i] = (VkDescriptorBufferInfo){bb->buf, 0, VK_WHOLE_SIZE};
    wr[i] = (VkWriteDescriptorSet){.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = set, .dstBinding = i,
                                   .descriptorCount = 1, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                   .pBufferInfo = &info[i]};
  }
  vkUpdateDescriptorSets(vb->dev, 4, wr, 0, NULL);
  vkCmdBindPipeline(vb->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, vb->pipes[pipe]);
  vkCmdBindDescriptorSets(vb->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, vb->layout, 0, 1, &set, 0, NULL);
  vkCmdPushConstants(vb->cmd, vb->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, push_size, push);
  vkCmdDispatch(vb->cmd, gx, gy, gz);
  /* Each layer reads what the previous one wrote. */
  VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER, .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
                        .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT};
  vkCmdPipelineBarrier(vb->cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &mb,
                       0, NULL, 0, NULL);
  return SR_OK;
}

/* ---- memory ---- */

static int find_memory(vk_backend *vb, uint32_t bits, VkMemoryPropertyFlags want) {
  VkPhysicalDeviceMemoryProperties mp;
  vkGetPhysicalDeviceMemoryProperties(vb->phys, &mp);
  for (uint32_t i = 0; i < mp.memoryTypeCount; i++)
    if ((bits & (1u << i)) && (mp.memoryTypes[i].propertyFlags & want) == want) return (int)i;
  return -1;
}

static vk_buf *make_buffer(vk_backend *vb, VkDeviceSize size, VkBufferUsageFlags usage, int host) {
  vk_buf *bb = calloc(1, sizeof *bb);
  bb->size = size ? size : 4;
  VkBufferCreateInfo bi = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = bb->size, .usage = usage,
                           .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
  if (vkCreateBuffer(vb->dev, &bi, NULL, &bb->buf) != VK_SUCCESS) {
    free(bb);
    return NULL;
  }
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(vb->dev, bb->buf, &req);
  const VkMemoryPropertyFlags hv = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  int type = host ? find_memory(vb, req.memoryTypeBits, hv)
                  : find_memory(vb, req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | hv);
  if (type < 0 && !host) type = find_memory(vb, req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
  if (type < 0) type = find_memory(vb, req.memoryTypeBits, 0);
  VkMemoryAllocateInfo mi = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = req.size,
                             .memoryTypeIndex = (uint32_t)type};
  if (type < 0 || vkAllocateMemory(vb->dev, &mi, NULL, &bb->mem) != VK_SUCCESS) {
    vkDestroyBuffer(vb->dev, bb->buf, NULL);
    free(bb);
    return NULL;
  }
  vkBindBufferMemory(vb->dev, bb->buf, bb->mem, 0);
  VkPhysicalDeviceMemoryProperties mp;
  vkGetPhysicalDeviceMemoryProperties(vb->phys, &mp);
  if ((mp.memoryTypes[type].propertyFlags & hv) == hv) vkMapMemory(vb->dev, bb->mem, 0, VK_WHOLE_SIZE, 0, &bb->mapped);
  return bb;
}

static void free_buffer(vk_backend *vb, vk_buf *bb) {
  if (!bb) return;
  if (bb->mapped) vkUnmapMemory(vb->dev, bb->mem);
  vkDestroyBuffer(vb->dev, bb->buf, NULL);
  vkFreeMemory(vb->dev, bb->mem, NULL);
  free(bb);
}

static float *vk_alloc(sr_backend *b, size_t count) {
  vk_backend *vb = (vk_backend *)b;
  return (float *)make_buffer(vb, count * sizeof(float),
                              VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                  VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                              0);
}

static void vk_release(sr_backend *b, float *buf) {
  vk_synchronize(b);
  free_buffer((vk_backend *)b, (vk_buf *)buf);
}

/* Copies through a staging buffer when @dev is not host-visible. */
static sr_status copy(vk_backend *vb, vk_buf *dev, void *host, size_t bytes, int to_device) {
  if (vk_synchronize(&vb->base) != SR_OK) return SR_ERR_BACKEND;
  if (dev->mapped) {
    if (to_device) memcpy(dev->mapped, host, bytes);
    else memcpy(host, dev->mapped, bytes);
    return SR_OK;
  }
  vk_buf *st = make_buffer(vb, bytes, VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT, 1);
  if (!st || !st->mapped) {
    free_buffer(vb, st);
    return SR_ERR_NOMEM;
  }
  if (to_device) memcpy(st->mapped, host, bytes);
  begin(vb);
  VkBufferCopy region = {0, 0, bytes};
  vkCmdCopyBuffer(vb->cmd, to_device ? st->buf : dev->buf, to_device ? dev->buf : st->buf, 1, &region);
  sr_status s = vk_synchronize(&vb->base);
  if (!to_device && s == SR_OK) memcpy(host, st->mapped, bytes);
  free_buffer(vb, st);
  return s;
}

static sr_status vk_upload(sr_backend *b, float *dst, const float *src, size_t count) {
  return copy((vk_backend *)b, (vk_buf *)dst, (void *)src, count * sizeof(float), 1);
}

static sr_status vk_download(sr_backend *b, float *dst, const float *src, size_t count) {
  return copy((vk_backend *)b, (vk_buf *)src, dst, count * sizeof(float), 0);
}

/* ---- ops ---- */

static uint32_t groups(size_t n, uint32_t size) { return (uint32_t)((n + size - 1) / size); }

static sr_status vk_conv2d(sr_backend *b, const sr_conv_params *p, const sr_tensor *x, const float *w,
                           const float *bias, sr_tensor *y) {
  int32_t push[13] = {p->in_c, x->h, x->w, p->out_c, y->h, y->w, p->kh, p->kw, p->stride, p->pad, p->group,
                      p->relu, bias != NULL};
  vk_buf *bufs[4] = {(vk_buf *)x->data, (vk_buf *)w, (vk_buf *)(bias ? bias : w), (vk_buf *)y->data};
  return dispatch((vk_backend *)b, PIPE_CONV, bufs, push, sizeof push, groups((size_t)y->h * y->w, TILE),
                  groups(p->out_c / p->group, TILE), (uint32_t)(x->n * p->group));
}

static sr_status vk_relu(sr_backend *b, sr_tensor *x) {
  int32_t push[1] = {(int32_t)sr_tensor_count(x)};
  vk_buf *bufs[4] = {NULL, NULL, NULL, (vk_buf *)x->data};
  return dispatch((vk_backend *)b, PIPE_RELU, bufs, push, sizeof push, groups(sr_tensor_count(x), WG), 1, 1);
}

static sr_status vk_maxpool(sr_backend *b, const sr_pool_params *p, const sr_tensor *x, sr_tensor *y) {
  int32_t push[8] = {x->h, x->w, y->h, y->w, p->kernel, p->stride, p->pad, (int32_t)sr_tensor_count(y)};
  vk_buf *bufs[4] = {(vk_buf *)x->data, NULL, NULL, (vk_buf *)y->data};
  return dispatch((vk_backend *)b, PIPE_MAXPOOL, bufs, push, sizeof push, groups(sr_tensor_count(y), WG), 1, 1);
}

static sr_status vk_lrn(sr_backend *b, const sr_lrn_params *p, const sr_tensor *x, sr_tensor *y) {
  struct {
    int32_t c, plane, size, total;
    float alpha, beta, k;
  } push = {x->c, x->h * x->w, p->size, (int32_t)sr_tensor_count(x), p->alpha, p->beta, p->k};
  vk_buf *bufs[4] = {(vk_buf *)x->data, NULL, NULL, (vk_buf *)y->data};
  return dispatch((vk_backend *)b, PIPE_LRN, bufs, &push, sizeof push, groups(sr_tensor_count(x), WG), 1, 1);
}

static sr_status vk_softmax(sr_backend *b, const sr_tensor *x, sr_tensor *y) {
  int32_t push[3] = {x->c, x->h * x->w, x->n * x->h * x->w};
  vk_buf *bufs[4] = {(vk_buf *)x->data, NULL, NULL, (vk_buf *)y->data};
  return dispatch((vk_backend *)b, PIPE_SOFTMAX, bufs, push, sizeof push, groups((size_t)push[2], WG), 1, 1);
}

/* ---- setup ---- */

static void vk_destroy(sr_backend *b) {
  vk_backend *vb = (vk_backend *)b;
  if (vb->dev) {
    vk_synchronize(b);
    vkDeviceWaitIdle(vb->dev);
    for (int i = 0; i < PIPE_COUNT; i++)
      if (vb->pipes[i]) vkDestroyPipeline(vb->dev, vb->pipes[i], NULL);
    if (vb->cache) {
      sr__vk_cache_save(vb->dev, vb->cache, vb->cache_path, vb->cache_loaded_size);
      vkDestroyPipelineCache(vb->dev, vb->cache, NULL);
    }
    if (vb->layout) vkDestroyPipelineLayout(vb->dev, vb->layout, NULL);
    if (vb->set_layout) vkDestroyDescriptorSetLayout(vb->dev, vb->set_layout, NULL);
    if (vb->desc_pool) vkDestroyDescriptorPool(vb->dev, vb->desc_pool, NULL);
    if (vb->fence) vkDestroyFence(vb->dev, vb->fence, NULL);
    if (vb->cmd_pool) vkDestroyCommandPool(vb->dev, vb->cmd_pool, NULL);
    vkDestroyDevice(vb->dev, NULL);
  }
  if (vb->instance) vkDestroyInstance(vb->instance, NULL);
  g_free(vb->cache_path);
  free(vb);
}

static const char *vk_device_name(const sr_backend *b) { return ((const vk_backend *)b)->props.deviceName; }

static const struct sr_backend_ops vk_ops = {
    .name = "vulkan",
    .alloc = vk_alloc,
    .release = vk_release,
    .upload = vk_upload,
    .download = vk_download,
    .conv2d = vk_conv2d,
    .relu = vk_relu,
    .maxpool = vk_maxpool,
    .lrn = vk_lrn,
    .softmax = vk_softmax,
    .device_name = vk_device_name,
    .synchronize = vk_synchronize,
    .destroy = vk_destroy,
};

static int type_rank(VkPhysicalDeviceType t) {
  switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 4;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 3;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return 1;
    default: return 0;
  }
}

static sr_status make_pipeline(vk_backend *vb, int which, const uint32_t *code, size_t size, uint32_t spec,
                               sr_error *err) {
  VkShaderModuleCreateInfo mi = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO, .codeSize = size, .pCode = code};
  VkShaderModule mod;
  VkResult r = vkCreateShaderModule(vb->dev, &mi, NULL, &mod);
  if (r != VK_SUCCESS) return vk_fail(err, r, "vkCreateShaderModule");
  VkSpecializationMapEntry entry = {0, 0, sizeof(uint32_t)};
  VkSpecializationInfo si = {1, &entry, sizeof spec, &spec};
  VkComputePipelineCreateInfo ci = {
      .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
      .stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                .module = mod, .pName = "main", .pSpecializationInfo = &si},
      .layout = vb->layout};
  r = vkCreateComputePipelines(vb->dev, vb->cache, 1, &ci, NULL, &vb->pipes[which]);
  vkDestroyShaderModule(vb->dev, mod, NULL);
  return r == VK_SUCCESS ? SR_OK : vk_fail(err, r, "vkCreateComputePipelines");
}

/* Creates an instance and lists devices; returns the chosen one's type rank. */
static sr_status pick_device(vk_backend *vb, sr_error *err) {
  VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO, .pApplicationName = "segrank",
                           .apiVersion = VK_API_VERSION_1_1};
  VkInstanceCreateInfo ii = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, .pApplicationInfo = &app};
  VkResult r = vkCreateInstance(&ii, NULL, &vb->instance);
  if (r != VK_SUCCESS) return sr_error_set(err, SR_ERR_UNSUPPORTED, "vulkan: no Vulkan driver (vkCreateInstance: %d)", r);
  uint32_t n = 0;
  vkEnumeratePhysicalDevices(vb->instance, &n, NULL);
  if (n == 0) return sr_error_set(err, SR_ERR_UNSUPPORTED, "vulkan: no Vulkan device found");
  VkPhysicalDevice *devs = calloc(n, sizeof *devs);
  vkEnumeratePhysicalDevices(vb->instance, &n, devs);
  const char *want = getenv("SEGRANK_VULKAN_DEVICE");
  int best = -1, best_rank = -1;
  for (uint32_t i = 0; i < n; i++) {
    VkPhysicalDeviceProperties pr;
    vkGetPhysicalDeviceProperties(devs[i], &pr);
    int rank = type_rank(pr.deviceType);
    if (want && *want) {
      char *end;
      long idx = strtol(want, &end, 10);
      rank = (*end == 0 && idx == (long)i) || (*end != 0 && strstr(pr.deviceName, want)) ? 10 : -1;
    }
    if (rank > best_rank) best = (int)i, best_rank = rank;
  }
  if (best < 0 || best_rank < 0) {
    free(devs);
    return sr_error_set(err, SR_ERR_UNSUPPORTED, "vulkan: no device matches SEGRANK_VULKAN_DEVICE=%s", want);
  }
  vb->phys = devs[best];
  free(devs);
  vkGetPhysicalDeviceProperties(vb->phys, &vb->props);
  return SR_OK;
}

sr_status sr__backend_vulkan_new(int threads, sr_backend **out, sr_error *err) {
  vk_backend *vb = calloc(1, sizeof *vb);
  vb->base.ops = &vk_ops;
  vb->base.threads = threads;
  sr_status st = pick_device(vb, err);
  uint32_t nq = 0;
  VkQueueFamilyProperties qf[16];
  if (st == SR_OK) {
    vkGetPhysicalDeviceQueueFamilyProperties(vb->phys, &nq, NULL);
    if (nq > 16) nq = 16;
    vkGetPhysicalDeviceQueueFamilyProperties(vb->phys, &nq, qf);
    vb->queue_family = UINT32_MAX;
    for (uint32_t i = 0; i < nq; i++)
      if (qf[i].queueFlags & VK_QUEUE_COMPUTE_BIT) {
        vb->queue_family = i;
        break;
      }
    if (vb->queue_family == UINT32_MAX)
      st = sr_error_set(err, SR_ERR_UNSUPPORTED, "vulkan: %s has no compute queue", vb->props.deviceName);
  }
  if (st == SR_OK && vb->props.limits.maxComputeWorkGroupInvocations < TILE * TILE)
    st = sr_error_set(err, SR_ERR_UNSUPPORTED, "vulkan: %s allows %u invocations per workgroup, %d needed",
                      vb->props.deviceName, vb->props.limits.maxComputeWorkGroupInvocations, TILE * TILE);
  if (st == SR_OK) {
    float prio = 1.0f;
    VkDeviceQueueCreateInfo qi = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                  .queueFamilyIndex = vb->queue_family, .queueCount = 1, .pQueuePriorities = &prio};
    VkDeviceCreateInfo di = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .queueCreateInfoCount = 1,
                             .pQueueCreateInfos = &qi};
    VkResult r = vkCreateDevice(vb->phys, &di, NULL, &vb->dev);
    if (r != VK_SUCCESS) st = vk_fail(err, r, "vkCreateDevice");
  }
  if (st == SR_OK) {
    vkGetDeviceQueue(vb->dev, vb->queue_family, 0, &vb->queue);
    VkDescriptorSetLayoutBinding bind[4];
    for (int i = 0; i < 4; i++)
      bind[i] = (VkDescriptorSetLayoutBinding){(uint32_t)i, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1,
                                               VK_SHADER_STAGE_COMPUTE_BIT, NULL};
    VkDescriptorSetLayoutCreateInfo li = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
                                          .bindingCount = 4, .pBindings = bind};
    VkPushConstantRange pr = {VK_SHADER_STAGE_COMPUTE_BIT, 0, 64};
    VkPipelineLayoutCreateInfo pli = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO, .setLayoutCount = 1,
                                      .pSetLayouts = &vb->set_layout, .pushConstantRangeCount = 1,
                                      .pPushConstantRanges = &pr};
    VkDescriptorPoolSize ps = {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 4 * MAX_SETS};
    VkDescriptorPoolCreateInfo dpi = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO, .maxSets = MAX_SETS,
                                      .poolSizeCount = 1, .pPoolSizes = &ps};
    vb->cache_path = sr__vk_cache_path(&vb->props);
    void *initial = sr__vk_cache_load(vb->cache_path, &vb->cache_loaded_size);
    VkPipelineCacheCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO,
                                     .initialDataSize = vb->cache_loaded_size, .pInitialData = initial};
    VkCommandPoolCreateInfo cpi = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                   .queueFamilyIndex = vb->queue_family};
    VkFenceCreateInfo fi = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    VkResult r;
    if ((r = vkCreateDescriptorSetLayout(vb->dev, &li, NULL, &vb->set_layout)) != VK_SUCCESS ||
        (r = vkCreatePipelineLayout(vb->dev, &pli, NULL, &vb->layout)) != VK_SUCCESS ||
        (r = vkCreateDescriptorPool(vb->dev, &dpi, NULL, &vb->desc_pool)) != VK_SUCCESS ||
        (r = vkCreatePipelineCache(vb->dev, &pci, NULL, &vb->cache)) != VK_SUCCESS ||
        (r = vkCreateCommandPool(vb->dev, &cpi, NULL, &vb->cmd_pool)) != VK_SUCCESS ||
        (r = vkCreateFence(vb->dev, &fi, NULL, &vb->fence)) != VK_SUCCESS)
      st = vk_fail(err, r, "device object creation");
    g_free(initial);
  }
  if (st == SR_OK) {
    VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                      .commandPool = vb->cmd_pool, .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                      .commandBufferCount = 1};
    VkResult r = vkAllocateCommandBuffers(vb->dev, &ai, &vb->cmd);
    if (r != VK_SUCCESS) st = vk_fail(err, r, "vkAllocateCommandBuffers");
  }
  if (st == SR_OK) st = make_pipeline(vb, PIPE_CONV, sr_spv_conv2d, sr_spv_conv2d_size, TILE, err);
  if (st == SR_OK) st = make_pipeline(vb, PIPE_RELU, sr_spv_relu, sr_spv_relu_size, WG, err);
  if (st == SR_OK) st = make_pipeline(vb, PIPE_MAXPOOL, sr_spv_maxpool, sr_spv_maxpool_size, WG, err);
  if (st == SR_OK) st = make_pipeline(vb, PIPE_LRN, sr_spv_lrn, sr_spv_lrn_size, WG, err);
  if (st == SR_OK) st = make_pipeline(vb, PIPE_SOFTMAX, sr_spv_softmax, sr_spv_softmax_size, WG, err);
  if (st != SR_OK) {
    vk_destroy(&vb->base);
    return st;
  }
  *out = &vb->base;
  return SR_OK;
}

int sr__vulkan_has_gpu(void) {
  vk_backend probe = {0};
  sr_error err;
  int gpu = pick_device(&probe, &err) == SR_OK && type_rank(probe.props.deviceType) >= 3;
  if (probe.instance) vkDestroyInstance(probe.instance, NULL);
  return gpu;
}


