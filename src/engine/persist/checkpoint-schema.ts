// The schema of a checkpoint's manifest (checkpoint.json): what a resume relies on, each refusal naming its field;
// the front end's job inside it is parsed with that front end's own schema (parseCheckpointJob).

import * as v from 'valibot';
import { NstError } from '../errors.js';
import type { LossBreakdown, LossWeights } from '../model/objective.js';
import type { RenderPlan } from '../render/render.js';
import type { ConvergenceState } from '../render/convergence.js';
import type { WeightsFingerprint } from '../weights/fingerprint.js';

export const CHECKPOINT_FORMAT = 'nst-checkpoint';
export const CHECKPOINT_VERSION = 1;

// Messages are clauses that follow "its checkpoint.json"; FIELD becomes the field's path (state.stage.run.iteration)
// once the issue has bubbled up to the manifest and its path is known.
const FIELD = '{field}';

const show = (value: unknown): string => JSON.stringify(value) ?? String(value);

/** An object's message: for a key it lacks (the issue names the key), or for a value that is not an object. */
const objectMessage = (issue: v.BaseIssue<unknown>): string => (issue.expected?.startsWith('"') ? `lacks ${FIELD}` : `lacks ${FIELD} (or it is not an object)`);

const objectOf = <const T extends v.ObjectEntries>(entries: T) => v.object(entries, objectMessage);

const wholeNumber = (min: number, max = Number.MAX_SAFE_INTEGER) => {
  const message = (issue: v.BaseIssue<unknown>): string =>
    `has no valid ${FIELD} (a whole number ${max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`}, got ${show(issue.input)})`;
  return v.pipe(v.number(message), v.safeInteger(message), v.minValue(min, message), v.maxValue(max, message));
};

const finiteNumber = () => {
  const message = (issue: v.BaseIssue<unknown>): string => `has no valid ${FIELD} (a finite number, got ${show(issue.input)})`;
  return v.pipe(v.number(message), v.finite(message));
};

const text = (what: string) => v.string((issue) => `has no valid ${FIELD} (${what}, got ${show(issue.input)})`);

/** Name → finite number (losses per layer, an optimizer's scalars). JSON arrays are objects too: not these. */
const finiteRecord = () =>
  v.pipe(
    v.custom<Record<string, unknown>>((value) => typeof value === 'object' && value !== null && !Array.isArray(value), `lacks ${FIELD} (or it is not an object)`),
    v.record(v.string(), finiteNumber()),
  );

const LossSchema = objectOf({
  total: finiteNumber(),
  style: finiteRecord(),
  content: finiteRecord(),
  tv: finiteNumber(),
  weighted: v.optional(objectOf({ style: finiteRecord(), content: finiteRecord(), tv: finiteNumber() })),
}) satisfies v.GenericSchema<unknown, LossBreakdown>;

const LossWeightsSchema = objectOf({
  styleWeight: finiteNumber(),
  contentWeight: finiteNumber(),
  tvWeight: finiteNumber(),
  layerWeights: v.optional(finiteRecord()),
  normalize: v.optional(v.boolean((issue) => `has no valid ${FIELD} (true or false, got ${show(issue.input)})`)),
}) satisfies v.GenericSchema<unknown, LossWeights>;

const PlanSchema = v.variant(
  'mode',
  [
    objectOf({ mode: v.picklist(['whole', 'downscaled']), sizePx: wholeNumber(1), estimateBytes: finiteNumber() }),
    objectOf({ mode: v.literal('tiled'), tilePx: wholeNumber(1), overlapPx: wholeNumber(0), coherencePx: wholeNumber(1), tiles: wholeNumber(1), estimateBytes: finiteNumber() }),
  ],
  // The issue names the key when the value is an object with another mode.
  (issue) => (issue.path ? `has an unknown plan mode ${show(issue.input)}` : `lacks ${FIELD} (or it is not an object)`),
) satisfies v.GenericSchema<unknown, RenderPlan>;

const finiteList = () => v.array(finiteNumber(), `lacks ${FIELD} (or it is not a list of numbers)`);

/** The adaptive stop's window (render/convergence.ts); absent in checkpoints written before it, which start it empty. */
const ConvergenceSchema = v.optional(
  v.nullable(objectOf({ losses: finiteList(), changes: finiteList(), passed: v.boolean((issue) => `has no valid ${FIELD} (true or false, got ${show(issue.input)})`) })),
) satisfies v.GenericSchema<unknown, ConvergenceState | null | undefined>;

const usableScale = (issue: v.BaseIssue<unknown>): string => `has no usable ${FIELD} (a finite number above 0, got ${show(issue.input)})`;

const StageSchema = objectOf({
  index: wholeNumber(0),
  iterationsBefore: wholeNumber(0),
  run: objectOf({
    iteration: wholeNumber(0),
    objectiveScale: v.pipe(v.number(usableScale), v.finite(usableScale), v.gtValue(0, usableScale)),
    carried: v.nullable(LossSchema),
    initialLoss: v.nullable(LossSchema),
    weights: v.nullable(LossWeightsSchema),
    convergence: ConvergenceSchema,
    optimizer: objectOf({
      name: v.picklist(['gd', 'adam', 'lbfgs'], (issue) => `names an unknown optimizer ${show(issue.input)}`),
      iteration: wholeNumber(0),
      scalars: finiteRecord(),
    }),
  }),
});

const MaskSizeSchema = objectOf({ width: wholeNumber(1), height: wholeNumber(1) });

/** The masks' sizes (their values are data buffers); absent for a run without masks and in older checkpoints. */
const MasksSchema = v.optional(objectOf({ styles: v.array(MaskSizeSchema, `lacks ${FIELD} (or it is not a list)`), content: v.nullable(MaskSizeSchema) }));

const StateSchema = v.variant(
  'phase',
  [
    objectOf({
      plan: PlanSchema,
      phase: v.literal('tile'),
      stage: StageSchema,
      canvas: objectOf({ width: wholeNumber(1), height: wholeNumber(1) }),
      passInitialLoss: LossSchema,
      masks: MasksSchema,
    }),
    objectOf({ plan: PlanSchema, phase: v.picklist(['scale', 'coherence']), stage: StageSchema, masks: MasksSchema }),
  ],
  (issue) => (issue.path ? `has an unknown phase ${show(issue.input)}` : `lacks ${FIELD} (or it is not an object)`),
);

const dataFileName = (issue: v.BaseIssue<unknown>): string => `names a data file ${show(issue.input)} it cannot have written`;

const FileSchema = objectOf({
  // run-3.bin, canvas-2.bin: never a path, so a manifest cannot send a read outside its folder.
  name: v.pipe(v.string(dataFileName), v.regex(/^[a-z]+-\d+\.bin$/, dataFileName)),
  bytes: wholeNumber(0),
  crc32: wholeNumber(0, 0xffff_ffff),
  buffers: v.array(objectOf({ key: text('a buffer name'), offset: wholeNumber(0), length: wholeNumber(0) }), `lacks ${FIELD} (or it is not a list)`),
});

const WeightsFingerprintSchema = objectOf({
  source: text('where the weights were loaded from'),
  layers: wholeNumber(1),
  sha256: v.pipe(text('a SHA-256 in hex'), v.regex(/^[0-9a-f]{64}$/, (issue) => `has no valid ${FIELD} (a SHA-256 in hex, got ${show(issue.input)})`)),
}) satisfies v.GenericSchema<unknown, WeightsFingerprint>;

const timestamp = () => {
  const message = (issue: v.BaseIssue<unknown>): string => `has no valid ${FIELD} (a date and time such as 2026-11-29T11:56:38.451Z, got ${show(issue.input)})`;
  return v.pipe(v.string(message), v.isoTimestamp(message));
};

/** The manifest of run `runId` (a manifest copied from another run's folder is refused). */
function manifestSchema(runId: string) {
  return v.object(
    {
      // Format and version first: a manifest of another version is refused for that, whatever else differs.
      format: v.literal(CHECKPOINT_FORMAT, (issue) => `is not an nst checkpoint (format ${show(issue.input)})`),
      version: v.literal(CHECKPOINT_VERSION, (issue) => `has format version ${show(issue.input)}; this nst reads version ${CHECKPOINT_VERSION}`),
      runId: v.literal(runId, (issue) => `belongs to run ${show(issue.input)}, not ${runId}`),
      createdAt: timestamp(),
      updatedAt: timestamp(),
      generation: wholeNumber(1),
      stopped: v.boolean((issue) => `has no valid ${FIELD} (true or false, got ${show(issue.input)})`),
      // The front end's own (the CLI's options, the studio's request): it checks it itself.
      job: v.unknown(),
      // Absent in manifests written before weights were fingerprinted: a resume then warns instead of checking.
      weights: v.optional(WeightsFingerprintSchema),
      progress: objectOf({ iteration: wholeNumber(0), totalIterations: wholeNumber(0) }),
      state: StateSchema,
      files: v.pipe(v.array(FileSchema, `lacks ${FIELD} (or it is not a list)`), v.minLength(1, 'names no data files')),
    },
    (issue) => {
      if (issue.expected === '"format"') return 'is not an nst checkpoint (it names no format)';
      if (issue.expected === '"version"') return `has no format version; this nst reads version ${CHECKPOINT_VERSION}`;
      return issue.expected?.startsWith('"') ? `lacks ${FIELD}` : 'is not a JSON object';
    },
  );
}

export type ParsedManifest = v.InferOutput<ReturnType<typeof manifestSchema>>;

/** The manifest, checked, or the first thing wrong with it as a clause ("lacks state.stage.run.optimizer"). */
export function parseManifest(runId: string, value: unknown): { ok: true; manifest: ParsedManifest } | { ok: false; problem: string } {
  // A JSON list passes for an object with no keys: said as what it is, not as a missing format.
  if (Array.isArray(value)) return { ok: false, problem: 'is not a JSON object' };
  const result = v.safeParse(manifestSchema(runId), value);
  if (result.success) return { ok: true, manifest: result.output };
  const issue = result.issues[0];
  return { ok: false, problem: issue.message.replaceAll(FIELD, fieldPath(issue.path ?? [])) };
}

/** state.stage.run.iteration, files[0].bytes. */
function fieldPath(path: readonly { key: unknown }[]): string {
  return path.map((item, i) => (typeof item.key === 'number' ? `[${item.key}]` : `${i === 0 ? '' : '.'}${String(item.key)}`)).join('');
}

/**
 * A front end's job (the manifest's `job`: the CLI's options, the studio's request), parsed with that front end's
 * schema, whose messages are predicates ("must be at least 16", "is missing"): throws BAD_CHECKPOINT naming the first
 * field that is wrong ("Run … cannot be resumed: its job.settings.sizePx must be at least 16 (got 3).").
 */
export function parseCheckpointJob<Job>(runId: string, schema: v.GenericSchema<unknown, Job>, job: unknown): Job {
  const result = v.safeParse(schema, job);
  if (result.success) return result.output;
  const issue = result.issues[0];
  const dotPath = v.getDotPath(issue);
  // An object's issue about a key it lacks (expected '"key"') or must not have ('never'): the value says nothing more.
  const aboutKey = issue.type.endsWith('object') && (issue.expected === 'never' || issue.expected?.startsWith('"'));
  const got = aboutKey ? '' : ` (got ${truncate(show(issue.input))})`;
  throw new NstError('BAD_CHECKPOINT', `Run ${runId} cannot be resumed: its job${dotPath ? `.${dotPath}` : ''} ${issue.message}${got}.`);
}

function truncate(text: string, max = 60): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
