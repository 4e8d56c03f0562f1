// The size control's memory line: the engine's estimate for the studio's settings, the budget, and what fits.
// Pure Node (no Electron); the job worker plans its runs from the same budget (memoryLimitBytes).

import { MB, defaultMemoryLimit, estimateMemory, largestFittingSize, sizeWithLongest, isNstError, convForLimit, estimateSpec, planRender, type RenderPlan, type RenderSpec } from '../../engine/index.js';
import type { EstimateMemoryRequest, MemoryEstimateInfo, RenderPlanInfo, Result } from '../../shared/api.js';
import { enabledContentLayers, enabledStyleLayers, type StudioSettings } from '../../shared/studio-settings.js';

/** The run's budget: the memory-limit setting, else what the machine has available now (less a margin). */
export function memoryLimitBytes(settings: Pick<StudioSettings, 'memoryLimitMb'>): number {
  return settings.memoryLimitMb !== null ? settings.memoryLimitMb * MB : defaultMemoryLimit();
}

/** The output's pixel size: sizePx on the longest side of the content photo (a square without one). */
export function outputSize(sizePx: number, content: { width: number; height: number } | null): { width: number; height: number } {
  return content ? sizeWithLongest(content.width, content.height, sizePx) : { width: sizePx, height: sizePx };
}

/** What renderStyleTransfer plans with for these settings (`auto` device costed as the CPU, as it does). */
export function renderSpec(settings: StudioSettings, size: { width: number; height: number }, styleImages: number): RenderSpec {
  return {
    ...size,
    settings: {
      styleLayers: enabledStyleLayers(settings),
      contentLayers: enabledContentLayers(settings),
      pool: settings.pool,
      optimizer: settings.optimizer,
      device: settings.device,
    },
    styleImages,
    styleScale: settings.styleScale,
  };
}

const planInfo = (plan: RenderPlan): RenderPlanInfo => ({ ...plan });

/** The estimate for a validated request, within `limitBytes` (default: memoryLimitBytes(settings)). */
export function estimateForSettings(request: EstimateMemoryRequest, limitBytes = memoryLimitBytes(request.settings)): MemoryEstimateInfo {
  const { settings } = request;
  const spec = renderSpec(settings, outputSize(settings.sizePx, request.content), request.styleImages ?? 1);
  // What a run of these settings under this limit would use: 'auto' convs that do not fit with Winograd run as Conv.
  const e = estimateSpec(convForLimit(spec, limitBytes));
  const estimate = estimateMemory(e);
  const fits = estimate.totalBytes <= limitBytes;
  let plan: RenderPlanInfo | null = null;
  let planError: string | null = null;
  try {
    plan = planInfo(planRender(spec, limitBytes, settings.tile, settings.tileOverlapPx).plan);
  } catch (error) {
    if (!isNstError(error)) throw error;
    planError = error.message;
  }
  let tiling: MemoryEstimateInfo['tiling'] = null;
  if (!fits) {
    try {
      const tiled = planRender(spec, limitBytes, 'auto', settings.tileOverlapPx).plan;
      if (tiled.mode === 'tiled') tiling = { ...tiled };
    } catch (error) {
      if (!isNstError(error)) throw error;
    }
  }
  return {
    width: spec.width,
    height: spec.height,
    totalBytes: estimate.totalBytes,
    breakdown: { ...estimate.breakdown },
    deviceBytes: estimate.deviceBytes,
    calibrated: estimate.calibrated,
    limitBytes,
    limitSource: settings.memoryLimitMb !== null ? 'setting' : 'available',
    fits,
    largestFittingPx: fits ? null : largestFittingSize(e, limitBytes),
    tiling,
    plan,
    planError,
  };
}

/** The estimateMemory call: an engine error (bad layers) comes back as data. */
export function estimateMemoryRequest(request: EstimateMemoryRequest): Result<MemoryEstimateInfo> {
  try {
    return { ok: true, value: estimateForSettings(request) };
  } catch (error) {
    if (isNstError(error)) return { ok: false, error: { code: error.code, message: error.message } };
    throw error;
  }
}
