import { existsSync } from 'node:fs';

/**
 * Whether Dawn can find a Vulkan loader, checked apart from webgpu-backend.ts so that callers can rule WebGPU out
 * without loading TensorFlow.js (~130 ms) or Dawn.
 */

const LIBRARY_DIRS = [
  '/usr/lib/x86_64-linux-gnu',
  '/lib/x86_64-linux-gnu',
  '/usr/lib64',
  '/usr/lib',
  '/lib64',
  '/lib',
];

/** Why WebGPU cannot start here for want of libvulkan.so.1 (in a standard folder or on LD_LIBRARY_PATH), if so. */
export function missingVulkanLoader(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const extra = (env['LD_LIBRARY_PATH'] ?? '').split(':').filter((dir) => dir !== '');
  if ([...extra, ...LIBRARY_DIRS].some((dir) => existsSync(`${dir}/libvulkan.so.1`))) return undefined;
  return "no Vulkan loader (libvulkan.so.1) found; Debian's package libvulkan1 provides it";
}
