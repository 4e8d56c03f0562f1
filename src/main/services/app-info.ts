// What the studio tells the renderer about itself: version, where the weights are, devices worth offering.

import { autoDeviceOrder, autoSkipReason, type WeightsLocation } from '../../engine/index.js';
import type { AppInfo } from '../../shared/api.js';

/**
 * The device choices for this machine: auto and cpu always, then this platform's accelerators whose libraries
 * are present (onnxruntime-node ships CUDA separately), then WebGPU (opt-in: it may be slower than the CPU).
 */
export function availableDevices(platform: NodeJS.Platform = process.platform): string[] {
  const devices = ['auto', 'cpu'];
  for (const device of autoDeviceOrder(platform)) {
    if (device !== 'cpu' && autoSkipReason(device) === null) devices.push(device);
  }
  devices.push('webgpu');
  return devices;
}

/** The AppInfo form of where the weights come from, or how to get them. */
export function appInfoWeights(location: WeightsLocation): AppInfo['weights'] {
  return location.path === null ? { source: null, help: location.help } : { source: location.source };
}

export function buildAppInfo(version: string, weights: WeightsLocation): AppInfo {
  return { version, weights: appInfoWeights(weights), devices: availableDevices(), platform: process.platform };
}
