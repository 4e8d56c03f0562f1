// onnxruntime-node's WebGPU execution provider gives the CPU provider's losses and gradient on a tiny
// random-weight VGG19 objective. Without a GPU it runs on a software Vulkan adapter (SwiftShader, as shipped
// with Debian's chromium); where no adapter starts, the comparison is skipped with onnxruntime's reason. No native
// line (Dawn's, the driver's) reaches the child's stderr.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import type { PoolKind } from '../../src/engine/settings.js';
import { differences, evaluateHere, evaluateInChild } from '../helpers/evaluate-on-device.js';

interface BackendInfo {
  name: string;
  bundled: boolean;
}
const ortNode = createRequire(import.meta.url)('onnxruntime-node') as { listSupportedBackends(): BackendInfo[] };
const backends = ortNode.listSupportedBackends();
const webgpuBundled = backends.some((b) => b.name === 'webgpu' && b.bundled);

/**
 * Dawn (inside onnxruntime) asks the Vulkan loader for adapters once, when WebGPU starts, so the ICD must be in
 * the environment before that: hence a child process. Mesa's lavapipe (the system's software ICD on Debian 12)
 * lacks shaderUniform*ArrayDynamicIndexing, so Dawn rejects it and finds no adapter; SwiftShader passes.
 */
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const softwareVulkanEnv: NodeJS.ProcessEnv = existsSync(SWIFTSHADER_ICD)
  ? { XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp', VK_ICD_FILENAMES: SWIFTSHADER_ICD }
  : {};

describe('onnxruntime-node WebGPU execution provider', () => {
  it.runIf(process.platform === 'linux' && process.arch === 'x64')('is bundled with onnxruntime-node on Linux x64', () => {
    expect(backends).toContainEqual({ name: 'webgpu', bundled: true });
  });

  it.for<PoolKind>(['max', 'avg'])('gives the CPU provider’s losses (1e-4) and gradient (1e-3 relative L2) with %s pooling', async (pool, ctx) => {
    if (!webgpuBundled) {
      const why = `onnxruntime-node on ${process.platform}/${process.arch} does not bundle webgpu (${JSON.stringify(backends)})`;
      console.warn(`[webgpu] skipped: ${why}`);
      ctx.skip(why);
    }
    const webgpu = await evaluateInChild({ device: 'webgpu', backend: 'node', pool, repeats: 2 }, softwareVulkanEnv);
    if (webgpu.report.device !== 'webgpu') {
      // A fallback computed the numbers on the CPU: comparing them would prove nothing.
      const why = `webgpu did not start, the run fell back to ${webgpu.report.device}: ${webgpu.report.fallbackReason ?? 'no reason given'}`;
      console.warn(`[webgpu] skipped: ${why}`);
      ctx.skip(why);
    }
    // Dawn, the Vulkan driver and onnxruntime said nothing of their own on the way.
    expect(webgpu.stderr).toBe('');
    const cpu = await evaluateHere({ device: 'cpu', backend: 'node', pool, repeats: 20 });
    expect(cpu.report.device).toBe('cpu');

    const diff = differences(webgpu, cpu);
    console.info(
      `[webgpu] ${pool} pool, ${softwareVulkanEnv.VK_ICD_FILENAMES ? 'SwiftShader' : 'system Vulkan'}: ` +
        `${webgpu.report.evaluateMs.toFixed(1)} ms/evaluation (first ${webgpu.report.firstMs.toFixed(0)} ms, session ${webgpu.report.createMs.toFixed(0)} ms) ` +
        `vs cpu ${cpu.report.evaluateMs.toFixed(2)} ms; loss rel ${diff.lossRelative.toExponential(2)}, ` +
        `grad rel L2 ${diff.gradRelativeL2.toExponential(2)}, grad max rel ${diff.gradMaxRelative.toExponential(2)}`,
    );
    expect(cpu.report.loss.total).toBeGreaterThan(0);
    expect(diff.lossRelative).toBeLessThan(1e-4);
    expect(diff.gradRelativeL2).toBeLessThan(1e-3);
  });
});
