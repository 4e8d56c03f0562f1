// The engine's public surface: the CLI, the main process and the browser host import only this module (lint forbids
// deeper imports), so what the engine offers is read here and its folders can change behind it.

export { isNstError, NstError, type NstErrorCode } from './errors.js';
export { CONV_ALGORITHMS, type ConvAlgorithm, DEFAULT_RUN_SETTINGS, DEFAULT_SIZE_PX, type DeviceRequest, DEVICES, type InitMode, type PoolKind } from './settings.js';

// The model: VGG19, its loss graph, the runtime session, the objective.
export { turnOffOnnxruntimeTelemetry } from './model/runtime/ort-child.js';
export { type LossBreakdown, type LossWeights, MAX_LOSS_WEIGHT, StyleObjective } from './model/objective.js';
export { canonicalLayerName, VGG19_LAYER_NAMES } from './model/vgg19.js';
export { checkMask, type LossMasks } from './model/masks.js';
export { checkTemporal, cropTemporal, resizeTemporal, TEMPORAL_BALANCE, type TemporalTerm } from './model/temporal.js';

// Optimizers.
export { type OptimizerName } from './optim/types.js';

// Rendering a run: one run, multi-scale, memory plans, tiles.
export { benchmark } from './render/bench.js';
export { type ConvergedStop, convergenceRule, type ConvergenceRule, DEFAULT_CONVERGENCE, describeStop, STOP_TOLERANCE_RANGE, type StopReason } from './render/convergence.js';
export { autoDeviceOrder, autoSkipReason, objectiveShape, resolveExecution } from './render/execution.js';
export { type DeviceCandidate } from './render/device/candidates.js';
export { deviceStatuses, type DevicesReport, type DeviceStatus, settleAutoDevice } from './render/device/settle.js';
export { type AutoDecision, type DeviceMeasurement, type DeviceVerdict, MEASURE_SIZE_PX } from './render/device/verdict.js';
export { DEFAULT_TILE_OVERLAP_PX, defaultMemoryLimit, estimateMemory, type EstimateSpec, formatBytes, largestFittingSize, MB, type MemoryEstimate, type RunShape, sizeWithLongest, withExecution } from './render/memory.js';
export { multiScaleIterations, type MultiScaleInputs, resizeLongest, scaleSizes, type ScalesOption } from './render/multiscale.js';
export { convForLimit, estimateSpec, planIterations, planRender, type RenderOptions, type RenderPlan, type RenderSpec, type RenderState, renderStyleTransfer, type TileOption } from './render/render.js';
export { type CheckpointSink, initialImage, mapCheckpointSink, RunController, type IterationCount, type RenderEvent, type RunInputs, type RunResult, type RunSettings, type RunSnapshot, runStyleTransfer } from './render/run.js';
export { type RenderPhase } from './render/tiles/run.js';

// What outlives a process: the data folder, checkpoints, batch manifests.
export { dataDir } from './persist/data-dir.js';
export { BatchLedger, BatchSettingsMismatch, expandContentInputs, fileSha256, MANIFEST_NAME } from './persist/batch-manifest.js';
export { type Checkpoint, type CheckpointManifest, listCheckpoints, readCheckpoint } from './persist/checkpoint.js';
export { parseCheckpointJob } from './persist/checkpoint-schema.js';
export { CheckpointWriter } from './persist/checkpoint-writer.js';
export { checkRunId, newRunId, runDir, runsDir } from './persist/run-folder.js';
export { BATCH_LOCK_FILE, checkNotRunning, removeRun, runOwner, takeBatchFolder, takeRun, type RunLock, type RunOwner, type TakeRunOptions } from './persist/run-lock.js';
export { sweepAbandonedRuns } from './persist/run-sweep.js';

// Images and arrays in and out.
export { keepOriginalColors } from './io/color.js';
export { chwToHwcUint8, decodeImage, encodeImage, hwcUint8ToChw, noiseImage, resizeImage, type PlanarImage, writeImageAtomic } from './io/image.js';
export { decodeMask, type Mask } from './io/mask.js';
export { writeNpyFloat32 } from './io/npy.js';

// File-system and process helpers.
export { removeStaleTemporaries, writeFileAtomic } from './sys/atomic-file.js';
export { asNstError, type FileErrorContext, fileSystemError } from './sys/fs-errors.js';
export { checkDataFolder, checkFreeSpace, checkOutputFolder, checkWritableFolder, type PlannedWrite } from './sys/preflight.js';

// VGG19 weights: formats, store, download.
export { KERAS_VGG19_NOTOP, type WeightsProgress } from './weights/download.js';
export { downloadAndInstallWeights, importWeights } from './weights/import.js';
export { loadWeights } from './weights/load.js';
export { builtInWeightsFolder, locateWeights, WEIGHTS_ENV, WEIGHTS_HOW_TO, type WeightsLocation, type WeightsOrigin, type WeightsQuery } from './weights/locate.js';
export { resourceFolder } from './sys/resources.js';
export { randomVgg19Weights } from './weights/random.js';
export { inspectInstalledWeights, type InstalledWeights } from './weights/health.js';
export { describeSource, loadConvertedWeights, readWeightsIndex, removeConvertedWeights, storePaths, verifyConvertedWeights, type WeightsIndex, weightsStatus, type WeightsStatus } from './weights/store.js';
export { type Vgg19Weights } from './weights/types.js';

// Timelapse frames and ffmpeg.
export { DEFAULT_FPS, DEFAULT_HOLD_SECONDS, exportVideo, type ExportVideoOptions, type VideoExportResult, videoFormatForPath, type VideoProgress } from './video/export.js';
export { type ResolvedTool, resolveFfmpeg } from './video/ffmpeg.js';
export { FRAMES_INDEX_FILE, hasFramesIndex } from './video/frame-index.js';
export { FrameRecorder } from './video/frame-recorder.js';
export { DEFAULT_FRAME_EVERY, FrameSpool, RUN_FRAMES_FOLDER, runFramesDir } from './video/frames.js';

// Video stylisation: optical flow, warping, the consistency mask.
export { consistencyMask } from './video/flow/consistency.js';
export { estimateFlow, type FlowOptions } from './video/flow/farneback.js';
export { type FlowField } from './video/flow/field.js';
export { warpImage } from './video/flow/warp.js';
export { flowFromMotion, pairWarpingError, type PairWarpingError, warpingError, type WarpingError } from './video/flow/warping-error.js';
// A video job: frames painted in turn with the temporal term, resumable per frame (video/stylize/).
export { DEFAULT_FOLDER_FPS, stylizeVideo, type StylizeVideoOptions, type VideoJobEvent, type VideoJobResult } from './video/stylize/job.js';
export { readJobManifest as readVideoJob, VIDEO_JOB_FILE, type VideoJobManifest, type VideoJobSettings } from './video/stylize/job-manifest.js';
export { stylisedFramePath, videoJobDir, videoJobsDir } from './video/stylize/job-folder.js';
export { type EncodedVideo } from './video/stylize/encode.js';
