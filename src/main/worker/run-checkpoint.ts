// A studio run's checkpoints, written by the job worker into <data>/runs/<runId>/: the engine's state, the
// run's current settings and masks, and (once, before the first checkpoint) the dropped images it was started from.

import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as v from 'valibot';
import { CheckpointWriter, type CheckpointManifest, type LossMasks, type RenderPlan, type RenderState, type RenderOptions, mapCheckpointSink, type CheckpointSink, parseCheckpointJob, type RunLock } from '../../engine/index.js';
import type { StartRunRequest } from '../../shared/api.js';
import { StudioSettingsSchema } from '../../shared/schemas.js';
import type { StudioSettings } from '../../shared/studio-settings.js';

/** What the studio's user can do about a run made with other weights (the Weights panel holds one set at a time). */
export const STUDIO_WEIGHTS_REMEDY = 'Install those weights again in the Weights panel and resume, or discard the run.';

/** What a studio checkpoint's job holds: the request without its image bytes (those are files beside it). */
export interface StudioJob {
  readonly kind: 'studio-run';
  /** The run's settings as they are now (mid-run weight and layer changes included). */
  readonly settings: StudioSettings;
  readonly content: { readonly name: string; readonly file: string };
  readonly styles: readonly { readonly name: string; readonly blend: number; readonly file: string }[];
  /**
   * The timelapse the run is spooling (into run-frames/<runId>), which a resumed run goes on with; null: none.
   * Absent in checkpoints written before resumed runs kept their timelapse: those resume without one.
   */
  readonly timelapse?: { readonly frameEvery: number } | null;
  /**
   * Present once a layer change rebuilt the network: the state is then of a plain run of `iterations` at the plan's
   * size, after `iterationsBefore` iterations of the render and earlier segments.
   */
  readonly segment?: RebuiltSegment;
}

export interface RebuiltSegment {
  readonly iterationsBefore: number;
  readonly iterations: number;
}

export const CONTENT_FILE = 'input-content';
export const styleFile = (index: number): string => `input-style-${index}`;

/** What a studio run's lock says its process does (others' messages name it: `nst resume` refusals, `nst runs`). */
export const studioRunCommand = (runId: string): string => `studio run ${runId}`;

// Messages are predicates, as the studio settings' are: parseCheckpointJob puts the field's path before them.
const objectMessage = (shape: string) => (issue: v.BaseIssue<unknown>): string => (issue.expected?.startsWith('"') ? 'is missing' : `must be ${shape}`);
const wholeNumber = (min: number) =>
  v.pipe(v.number('must be a number'), v.safeInteger('must be a whole number'), v.minValue(min, `must be at least ${min}`));
const text = v.string('must be text');

const StudioJobSchema = v.object(
  {
    kind: v.literal('studio-run', 'must be "studio-run"'),
    settings: StudioSettingsSchema,
    content: v.object({ name: text, file: text }, objectMessage('an object {name, file}')),
    styles: v.array(
      v.object(
        { name: text, blend: v.pipe(v.number('must be a number'), v.finite('must be finite'), v.minValue(0, 'must be ≥ 0')), file: text },
        objectMessage('an object {name, blend, file}'),
      ),
      'must be a list of the style images',
    ),
    timelapse: v.optional(v.nullable(v.object({ frameEvery: wholeNumber(1) }, objectMessage('an object {frameEvery}, or null')))),
    segment: v.optional(v.object({ iterationsBefore: wholeNumber(0), iterations: wholeNumber(1) }, objectMessage('an object {iterationsBefore, iterations}'))),
  },
  objectMessage('an object'),
) satisfies v.GenericSchema<unknown, StudioJob>;

/**
 * A studio checkpoint's job, parsed: BAD_CHECKPOINT naming the first field that is wrong (a checkpoint from disk is
 * trusted no more than a request from a window).
 */
export function parseStudioJob(runId: string, job: unknown): StudioJob {
  // A run checkpointed before the adaptive stop existed was started to run all its iterations: it still does.
  const settings = typeof job === 'object' && job !== null ? (job as { settings?: unknown }).settings : undefined;
  const dated = typeof settings === 'object' && settings !== null && !('stop' in settings) ? { ...(job as object), settings: { ...settings, stop: 'off' } } : job;
  return parseCheckpointJob(runId, StudioJobSchema, dated);
}

export interface WorkerCheckpointOptions {
  /** The data folder: checkpoints go to <root>/runs/<runId>/. */
  readonly root: string;
  readonly everyMs: number;
}

export interface RunCheckpoints {
  /** For renderStyleTransfer. */
  readonly renderOptions: Pick<RenderOptions, 'checkpoint' | 'resume'>;
  /** The run's settings changed (weights, layers): later checkpoints record them. */
  settingsChanged(settings: StudioSettings): void;
  /** Masks were painted (null: none now): later checkpoints hold them, so a resumption paints with them. */
  masksChanged(masks: LossMasks | null): void;
  /** The run stopped spooling frames (an out-of-memory retry started over): a resumed run records none. */
  timelapseStopped(): void;
  /** A rebuilt network: the render's checkpoint is dropped, the segment's are taken from its first iteration on. */
  beginSegment(segment: RebuiltSegment): Promise<void>;
  /** The sink for the segment's runStyleTransfer. */
  segmentSink(plan: RenderPlan, segment: RebuiltSegment): CheckpointSink;
  /** Checkpoints end here and the folder goes (a finished or stopped run). */
  remove(): Promise<void>;
  /** Waits for the write in flight; the checkpoint stays, to be resumed. */
  close(): Promise<void>;
}

/**
 * Checkpoints for one studio run, continuing `resume`'s when it is a resumed one, opened before the run starts: the
 * run's folder taken (a new one made, its owner in it, debris swept) and the dropped images written, so the first
 * checkpoint is whole right after the iteration that asks for it (as the CLI's, afad56e). `report` gets one sentence
 * for a checkpoint that could not be written (the run goes on; what failed here is tried again at the first one).
 */
export async function openRunCheckpoints(args: {
  readonly runId: string;
  readonly request: StartRunRequest;
  /** The masks the run starts with (the engine's form of the request's), or null. */
  readonly masks: LossMasks | null;
  readonly options: WorkerCheckpointOptions;
  readonly totalIterations: (plan: RenderPlan) => number;
  /** The timelapse the run spools, or null. */
  readonly timelapse: { readonly frameEvery: number } | null;
  /**
   * Resolves once the timelapse frames captured so far are on disk. Each checkpoint waits for it: frames lag the
   * run (they are encoded in the background), and a resumed run can make up none between its spool and its state.
   */
  readonly framesWritten?: () => Promise<void>;
  readonly resume: { readonly state: RenderState; readonly manifest: CheckpointManifest } | null;
  /** A resumed run's ownership, taken before its files were touched (StudioRun); a new run takes its folder itself. */
  readonly lock?: RunLock | null;
  readonly report: (message: string) => void;
}): Promise<RunCheckpoints> {
  const { request } = args;
  let settings = request.settings;
  let timelapse = args.timelapse;
  let segment: RebuiltSegment | null = args.resume ? (parseStudioJob(args.runId, args.resume.manifest.job).segment ?? null) : null;
  const job = (): StudioJob => ({
    kind: 'studio-run',
    settings,
    content: { name: request.content.name, file: CONTENT_FILE },
    styles: request.styles.map((s, i) => ({ name: s.image.name, blend: s.blend, file: styleFile(i) })),
    timelapse,
    ...(segment ? { segment } : {}),
  });
  let inputsWritten = args.resume !== null;
  const writeInputs = async (dir: string): Promise<void> => {
    if (inputsWritten) return;
    await writeFile(path.join(dir, CONTENT_FILE), request.content.bytes);
    for (const [i, style] of request.styles.entries()) await writeFile(path.join(dir, styleFile(i)), style.image.bytes);
    inputsWritten = true;
  };
  const report = (error: unknown): void => args.report(`A checkpoint could not be written (the run goes on): ${error instanceof Error ? error.message : String(error)}`);
  const writer = new CheckpointWriter<StudioJob>({
    runId: args.runId,
    root: args.options.root,
    everyMs: args.options.everyMs,
    job: job(),
    totalIterations: (plan) => (segment ? segment.iterationsBefore + segment.iterations : args.totalIterations(plan)),
    // The spool's frames up to the snapshot first; the images, if opening could not write them, before the first
    // manifest that needs them.
    prepare: async (dir) => {
      await args.framesWritten?.();
      await writeInputs(dir);
    },
    onError: report,
    weightsRemedy: STUDIO_WEIGHTS_REMEDY,
    command: studioRunCommand(args.runId),
    ...(args.lock ? { lock: args.lock } : {}),
  });
  if (args.resume) writer.continueFrom(args.resume.manifest);
  await writer
    .open()
    .then(() => writeInputs(writer.dir))
    .catch(report);
  // The render saves the masks it started with; the run's current ones replace them (one object per change: the
  // writer writes a masks file when the object changes).
  let masks = args.masks;
  const withMasks = (state: RenderState): RenderState => {
    const current: RenderState = { ...state };
    delete (current as { masks?: LossMasks }).masks;
    return masks ? { ...current, masks } : current;
  };
  return {
    renderOptions: { checkpoint: mapCheckpointSink(writer, withMasks), ...(args.resume ? { resume: args.resume.state } : {}) },
    masksChanged: (next) => {
      masks = next;
    },
    settingsChanged: (next) => {
      settings = next;
      writer.setJob(job());
    },
    timelapseStopped: () => {
      timelapse = null;
      writer.setJob(job());
    },
    beginSegment: async (next) => {
      await writer.restart();
      segment = next;
      writer.setJob(job());
    },
    segmentSink: (plan, current) => mapCheckpointSink(writer, (run): RenderState => withMasks({ plan, phase: 'scale', stage: { index: 0, iterationsBefore: current.iterationsBefore, run } })),
    remove: () => writer.remove(),
    close: () => writer.close(),
  };
}
