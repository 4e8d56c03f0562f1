// What the studio tells the renderer about itself: version, where the weights are, devices worth offering.

import { autoDeviceOrder, autoSkipReason, type WeightsLocation } from '../../engine/index.js';
import type { AppInfo } from '../../shared/api.js';

/**
 * The device choices for this machine: auto and cpu always, then this platform's accelerators that are not left out
 * before measuring (CUDA without its libraries), WebGPU among them (it may be slower than the CPU: auto measures).
 */
export function availableDevices(platform: NodeJS.Platform = process.platform): string[] {
  return ['auto', 'cpu', ...autoDeviceOrder(platform).concat('webgpu').filter((device) => device !== 'cpu' && autoSkipReason(device) === null)];
}

/** The AppInfo form of where the weights come from, or how to get them. */
export function appInfoWeights(location: WeightsLocation): AppInfo['weights'] {
  return location.path === null ? { source: null, help: location.help } : { source: location.source };
}

export function buildAppInfo(version: string, weights: WeightsLocation): AppInfo {
  return { version, weights: appInfoWeights(weights), devices: availableDevices(), platform: process.platform };
}
