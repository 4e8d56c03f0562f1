// Property-based tests (fast-check) of the IPC payload validators: whatever a page sends, each validator answers
// with data — the payload accepted and satisfying the contract's invariants, or BAD_REQUEST with one sentence —
// and never throws. Seeded and bounded (runs and seconds), so CI time is fixed and a failure replays exactly:
// NST_FUZZ_SEED=<seed printed on failure> reruns it; NST_FUZZ_RUNS=10000 searches harder locally.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REQUEST_METHODS, type Result, type StartRunRequest } from '../../src/shared/api.js';
import { ITERATIONS_RANGE, MAX_STYLES, RUN_ID_PATTERN, SIZE_PX_RANGE, validateRequest } from '../../src/shared/schemas.js';
import { DEFAULT_STUDIO_SETTINGS, LAYER_NAMES, type StudioSettings } from '../../src/shared/studio-settings.js';

const SEED = Number(process.env.NST_FUZZ_SEED ?? 20261129);
const RUNS = Number(process.env.NST_FUZZ_RUNS ?? 500);
/** Each property stops after this long even if its runs are not done (a slow CI machine stays within budget). */
const TIME_LIMIT_MS = 4000;
const PARAMS = { seed: SEED, numRuns: RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS, markInterruptAsFailure: false } as const;

/** Anything structured clone can carry across the bridge, and then some: typed arrays, maps, odd numbers. */
const hostileValue: fc.Arbitrary<unknown> = fc.anything({
  maxDepth: 4,
  maxKeys: 6,
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withNullPrototype: true,
  withObjectString: true,
  withSparseArray: true,
  withTypedArray: true,
  withUnicodeString: true,
});

/** The answer is data of the documented shape; a rejection is BAD_REQUEST with one non-empty sentence. */
function expectResultShape(result: Result<unknown>, channel: string): void {
  expect(typeof result).toBe('object');
  if (result.ok) {
    expect('value' in result).toBe(true);
    return;
  }
  expect(result.error.code, channel).toBe('BAD_REQUEST');
  expect(typeof result.error.message).toBe('string');
  expect(result.error.message.length).toBeGreaterThan(0);
  expect(result.error.message, 'one line').not.toMatch(/\n/);
  expect(result.error.message.length, 'bounded, whatever the payload held').toBeLessThan(600);
}

/** What an accepted startRun guarantees the services, checked independently of the schema. */
function expectStartRunInvariants(request: StartRunRequest): void {
  const images = [request.content, ...request.styles.map((s) => s.image)];
  for (const image of images) {
    expect(image.bytes).toBeInstanceOf(Uint8Array);
    expect(image.bytes.byteLength).toBeGreaterThan(0);
    expect(typeof image.name).toBe('string');
  }
  expect(request.styles.length).toBeGreaterThanOrEqual(1);
  expect(request.styles.length).toBeLessThanOrEqual(MAX_STYLES);
  expect(request.styles.every((s) => Number.isFinite(s.blend) && s.blend >= 0)).toBe(true);
  expect(request.styles.some((s) => s.blend > 0)).toBe(true);
  expectSettingsInvariants(request.settings);
}

function expectSettingsInvariants(s: StudioSettings): void {
  expect(Number.isInteger(s.sizePx) && s.sizePx >= SIZE_PX_RANGE.min && s.sizePx <= SIZE_PX_RANGE.max).toBe(true);
  expect(Number.isInteger(s.iterations) && s.iterations >= ITERATIONS_RANGE.min && s.iterations <= ITERATIONS_RANGE.max).toBe(true);
  expect(['gd', 'adam', 'lbfgs']).toContain(s.optimizer);
  expect(s.learningRate === null || (Number.isFinite(s.learningRate) && s.learningRate > 0)).toBe(true);
  for (const w of [s.styleWeight, s.contentWeight, s.tvWeight]) expect(Number.isFinite(w) && w >= 0).toBe(true);
  expect(Number.isSafeInteger(s.seed)).toBe(true);
  expect(Object.keys(s.layers).sort()).toEqual([...LAYER_NAMES].sort());
  for (const layer of Object.values(s.layers)) {
    expect(typeof layer.style === 'boolean' && typeof layer.content === 'boolean').toBe(true);
    expect(Number.isFinite(layer.styleWeight) && layer.styleWeight >= 0).toBe(true);
  }
  expect(Object.values(s.layers).some((l) => l.style || l.content)).toBe(true);
}

// --- well-formed requests, generated from the contract's ranges ------------------------------------------------

const finiteWeight = fc.double({ min: 0, max: 1e6, noNaN: true, noDefaultInfinity: true });
const imageInput = fc.record({ name: fc.string({ maxLength: 40 }), bytes: fc.uint8Array({ minLength: 1, maxLength: 32 }) });
const layerSetting = fc.record({ style: fc.boolean(), styleWeight: finiteWeight, content: fc.boolean() });

/** Valid settings: the fields the contract constrains vary; any others keep their defaults. */
const validSettings: fc.Arbitrary<StudioSettings> = fc
  .record({
    sizePx: fc.integer({ min: SIZE_PX_RANGE.min, max: SIZE_PX_RANGE.max }),
    iterations: fc.integer({ min: ITERATIONS_RANGE.min, max: ITERATIONS_RANGE.max }),
    optimizer: fc.constantFrom('gd', 'adam', 'lbfgs' as const),
    learningRate: fc.option(fc.double({ min: 1e-6, max: 1e4, noNaN: true }), { nil: null }),
    styleWeight: finiteWeight,
    contentWeight: finiteWeight,
    tvWeight: finiteWeight,
    seed: fc.integer({ min: -(2 ** 31), max: 2 ** 31 }),
    layers: fc.tuple(...LAYER_NAMES.map(() => layerSetting)),
    on: fc.constantFrom(...LAYER_NAMES),
  })
  .map(({ layers, on, ...rest }) => {
    const entries = LAYER_NAMES.map((name, i) => [name, name === on ? { ...layers[i]!, style: true } : layers[i]!] as const);
    return { ...structuredClone(DEFAULT_STUDIO_SETTINGS), ...rest, layers: Object.fromEntries(entries) } as StudioSettings;
  });

const validStartRun: fc.Arbitrary<StartRunRequest> = fc.record({
  content: imageInput,
  styles: fc
    .array(fc.record({ image: imageInput, blend: finiteWeight }), { minLength: 1, maxLength: MAX_STYLES })
    .map((styles) => (styles.some((s) => s.blend > 0) ? styles : [{ ...styles[0]!, blend: 1 }, ...styles.slice(1)])),
  settings: validSettings,
});

/** A copy of `value` with the thing at one path (chosen by `pick`) replaced by `replacement`, or a key added. */
function mutateAt(value: unknown, pick: number, replacement: unknown, addKey: string | null): unknown {
  const copy = structuredClone(value) as Record<string, unknown>;
  const holders: Record<string, unknown>[] = [];
  const walk = (node: unknown): void => {
    if (typeof node !== 'object' || node === null || node instanceof Uint8Array) return;
    holders.push(node as Record<string, unknown>);
    for (const child of Object.values(node)) walk(child);
  };
  walk(copy);
  const holder = holders[pick % holders.length]!;
  const keys = Object.keys(holder);
  if (addKey !== null || keys.length === 0) holder[addKey ?? 'extra'] = replacement;
  else holder[keys[pick % keys.length]!] = replacement;
  return copy;
}

describe('every IPC validator, fuzzed', () => {
  it('answers any value with a Result — accepted, or BAD_REQUEST in one sentence — and never throws', () => {
    fc.assert(
      fc.property(fc.constantFrom(...REQUEST_METHODS), hostileValue, (method, payload) => {
        const result = validateRequest(method, payload);
        expectResultShape(result, method);
        // Accepted payloads are accepted again: the output is itself a valid payload.
        if (result.ok) expect(validateRequest(method, result.value).ok, method).toBe(true);
      }),
      PARAMS,
    );
  });

  it('accepts every well-formed startRun unchanged (no false rejections)', () => {
    fc.assert(
      fc.property(validStartRun, (request) => {
        const result = validateRequest('startRun', request);
        if (!result.ok) throw new Error(result.error.message);
        expect(result.value).toEqual(request);
        expectStartRunInvariants(result.value);
      }),
      PARAMS,
    );
  });

  it('turns a well-formed startRun with one field replaced (or added) into an accepted request that keeps the invariants, or BAD_REQUEST naming startRun', () => {
    fc.assert(
      fc.property(validStartRun, fc.nat(), hostileValue, fc.option(fc.string({ minLength: 1, maxLength: 12 }), { nil: null }), (request, pick, replacement, addKey) => {
        const mutated = mutateAt(request, pick, replacement, addKey);
        const result = validateRequest('startRun', mutated);
        expectResultShape(result, 'startRun');
        if (result.ok) expectStartRunInvariants(result.value);
        else expect(result.error.message).toMatch(/^startRun\b/);
      }),
      PARAMS,
    );
  });

  it('keeps every numeric setting finite and within its range whatever number is tried', () => {
    // Every setting whose default is a number or null, including ones added after this test was written.
    const defaults = DEFAULT_STUDIO_SETTINGS as unknown as Record<string, unknown>;
    const numericFields = Object.keys(defaults).filter((key) => typeof defaults[key] === 'number' || defaults[key] === null);
    expect(numericFields).toEqual(expect.arrayContaining(['sizePx', 'iterations', 'learningRate', 'styleWeight', 'contentWeight', 'tvWeight', 'seed']));
    const oddNumber = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(Number.NaN, Infinity, -Infinity, -0, 2 ** 53, 1e308, Number.MIN_VALUE));
    fc.assert(
      fc.property(fc.constantFrom(...numericFields), oddNumber, (field, value) => {
        const result = validateRequest('saveSettings', { ...structuredClone(DEFAULT_STUDIO_SETTINGS), [field]: value });
        expectResultShape(result, 'saveSettings');
        if (result.ok) {
          expectSettingsInvariants(result.value);
          const accepted = (result.value as unknown as Record<string, unknown>)[field];
          expect(typeof accepted !== 'number' || Number.isFinite(accepted), `${field} accepted ${String(accepted)}`).toBe(true);
        } else {
          expect(result.error.message).toMatch(new RegExp(`^saveSettings\\.${field} `));
        }
      }),
      PARAMS,
    );
  });

  it('accepts only run ids the run service could have made', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 80 }), fc.stringMatching(/^run-[a-z0-9-]{1,64}$/)), (runId) => {
        const result = validateRequest('pauseRun', { runId });
        expect(result.ok).toBe(RUN_ID_PATTERN.test(runId));
        expectResultShape(result, 'pauseRun');
      }),
      PARAMS,
    );
  });
});
