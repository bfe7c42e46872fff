/**
 * TensorFlow.js on WebGPU in Node, through Dawn (`webgpu` on npm, an optional dependency). tfjs's own
 * registration reads `navigator.gpu` at import time and asks for default limits; here the device is requested
 * with the adapter's own buffer limits so that large weight matrices fit in one storage binding.
 */
/// <reference types="@webgpu/types" />
import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { missingVulkanLoader } from './vulkan-loader.js';

/** Thrown when WebGPU cannot start; backend.ts turns it into "skip" (auto) or an error (forced). */
export class WebGpuUnavailable extends Error {}

interface DawnModule {
  create(options: string[]): GPU;
  globals: object;
}

/** Starts the backend (once) and registers it as `webgpu`; returns the adapter's description. */
export async function startWebGpu(): Promise<string> {
  started ??= registerWebGpu();
  try {
    return await started;
  } catch (error) {
    started = undefined;
    throw error;
  }
}

let started: Promise<string> | undefined;

async function registerWebGpu(): Promise<string> {
  // Without a Vulkan loader Dawn finds no adapter anyway, and prints a warning of its own on stderr at exit.
  const missingLoader = missingVulkanLoader();
  if (missingLoader !== undefined) throw new WebGpuUnavailable(missingLoader);
  const dawn = await loadDawn();
  // tfjs-backend-webgpu reads GPUBufferUsage, GPUMapMode, … as globals, as in a browser.
  Object.assign(globalThis, dawn.globals);
  const gpu = dawn.create([]);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (adapter === null) throw new WebGpuUnavailable(`Dawn found no GPU adapter${headlessNvidiaHint()}`);
  const limits = adapter.limits;
  const requiredFeatures: GPUFeatureName[] = adapter.features.has('timestamp-query')
    ? ['timestamp-query']
    : [];
  const device = await adapter.requestDevice({
    requiredFeatures,
    requiredLimits: {
      maxBufferSize: limits.maxBufferSize,
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
      maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
      maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
    },
  });
  exposeNavigatorGpu(gpu);
  const { WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu');
  // Importing the package may have registered its own factory (if navigator.gpu already existed): replace it.
  if (tf.findBackendFactory('webgpu') !== null) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => new WebGPUBackend(device, adapter.info));
  const info = adapter.info;
  const words = [info.vendor, info.architecture, info.device, info.description].filter((word) => word !== '');
  const maxBinding = (limits.maxStorageBufferBindingSize / 2 ** 20).toFixed(0);
  return `${words.join(' ') || 'unknown adapter'}, max storage binding ${maxBinding} MiB`;
}

/**
 * Seen on an H200 container: the driver's nvidia_icd.json names libGLX_nvidia.so.0, which cannot create a
 * Vulkan instance without a display; an ICD file naming libEGL_nvidia.so.0 works.
 */
function headlessNvidiaHint(): string {
  const nvidia = existsSync('/dev/nvidia0');
  if (!nvidia || process.env['VK_ICD_FILENAMES'] !== undefined) return '';
  return (
    '; on a headless NVIDIA host, set VK_ICD_FILENAMES to a JSON file ' +
    '{"file_format_version":"1.0.0","ICD":{"library_path":"libEGL_nvidia.so.0","api_version":"1.3"}}'
  );
}

async function loadDawn(): Promise<DawnModule> {
  const specifier: string = 'webgpu';
  try {
    return (await import(specifier)) as DawnModule;
  } catch (error) {
    throw new WebGpuUnavailable(
      `the optional package 'webgpu' (Dawn) did not load: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/** WebGPUBackend's constructor checks `navigator.gpu`; Node 20 has no navigator, Node 21+ has one without gpu. */
function exposeNavigatorGpu(gpu: GPU): void {
  const holder = globalThis as { navigator?: object };
  if (holder.navigator === undefined) {
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  } else if (!('gpu' in holder.navigator)) {
    Object.defineProperty(holder.navigator, 'gpu', { value: gpu, configurable: true });
  }
}
