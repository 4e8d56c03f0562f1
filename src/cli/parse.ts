// Parsers for the CLI's option values: each turns text into a typed value or throws a sentence naming the option.

import { NstError, isNstError, canonicalLayerName } from '../engine/index.js';

function bad(option: string, message: string): NstError {
  return new NstError('BAD_ARGUMENT', `${option}: ${message}`);
}

export interface NumberRange {
  min?: number;
  max?: number;
  integer?: boolean;
  /** `min` itself is out of range too (a learning rate must be above 0, not merely at least 0). */
  minExclusive?: boolean;
}

export function parseNumber(option: string, text: string, { min = -Infinity, max = Infinity, integer = false, minExclusive = false }: NumberRange = {}): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) throw bad(option, `"${text}" is not a number.`);
  if (integer && !Number.isInteger(value)) throw bad(option, `"${text}" is not a whole number.`);
  if (value < min || value > max || (minExclusive && value === min)) throw bad(option, `${text} is out of range: use a number ${rangeText(min, max, minExclusive)}.`);
  return value;
}

function rangeText(min: number, max: number, minExclusive: boolean): string {
  const low = minExclusive ? `above ${bound(min)}` : `at least ${bound(min)}`;
  if (max === Infinity) return low;
  if (min === -Infinity) return `at most ${bound(max)}`;
  return minExclusive ? `above ${bound(min)} and at most ${bound(max)}` : `from ${bound(min)} to ${bound(max)}`;
}

/** A large power of ten as 1e10, not 10000000000. */
function bound(value: number): string {
  const power = Math.log10(Math.abs(value));
  return power >= 7 && Number.isInteger(power) ? value.toExponential().replace('e+', 'e') : String(value);
}

export function parseChoice<T extends string>(option: string, text: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(text)) throw bad(option, `"${text}" is not one of ${choices.join(', ')}.`);
  return text as T;
}

/** `L,L,…` → canonical Keras names (aliases accepted); an empty string means no layer. */
export function parseLayerList(option: string, text: string): string[] {
  const names = text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  return [...new Set(names.map((name) => layerName(option, name)))];
}

/** Canonical name, or the engine's UNKNOWN_LAYER sentence prefixed with the option (the code is kept). */
function layerName(option: string, name: string): string {
  try {
    return canonicalLayerName(name);
  } catch (error) {
    if (isNstError(error)) throw new NstError(error.code, `${option}: ${error.message}`);
    throw error;
  }
}

/** `L=w,L=w` → { canonical name: weight from 0 to `max` }. */
export function parseLayerWeights(option: string, text: string, max = Infinity): Record<string, number> {
  const out: Record<string, number> = {};
  for (const pair of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [name, value, extra] = pair.split('=');
    if (name === undefined || value === undefined || extra !== undefined) throw bad(option, `"${pair}" is not LAYER=WEIGHT.`);
    const layer = layerName(option, name);
    // conv1_1=1,block1_conv1=2 names one layer twice: refuse rather than let the last silently win.
    if (Object.hasOwn(out, layer)) throw bad(option, `${layer} is given more than once ("${pair}").`);
    out[layer] = parseNumber(option, value, { min: 0, max });
  }
  return out;
}

/** `w,w,…` → non-negative numbers. */
export function parseNumberList(option: string, text: string): number[] {
  return text.split(',').map((s) => parseNumber(option, s.trim(), { min: 0 }));
}
