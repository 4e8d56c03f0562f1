// Parsers for the CLI's option values: each turns text into a typed value or throws a sentence naming the option.

import { NstError } from '../engine/errors.js';
import { canonicalLayerName } from '../engine/vgg19.js';

function bad(option: string, message: string): NstError {
  return new NstError('BAD_ARGUMENT', `${option}: ${message}`);
}

export function parseNumber(option: string, text: string, { min = -Infinity, max = Infinity, integer = false } = {}): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) throw bad(option, `"${text}" is not a number.`);
  if (integer && !Number.isInteger(value)) throw bad(option, `"${text}" is not a whole number.`);
  if (value < min || value > max) {
    const range = max === Infinity ? `at least ${min}` : `from ${min} to ${max}`;
    throw bad(option, `${text} is out of range: use a number ${range}.`);
  }
  return value;
}

export function parseChoice<T extends string>(option: string, text: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(text)) throw bad(option, `"${text}" is not one of ${choices.join(', ')}.`);
  return text as T;
}

/** `L,L,…` → canonical Keras names (aliases accepted); an empty string means no layer. */
export function parseLayerList(option: string, text: string): string[] {
  const names = text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  try {
    return [...new Set(names.map(canonicalLayerName))];
  } catch (error) {
    throw bad(option, (error as Error).message);
  }
}

/** `L=w,L=w` → { canonical name: weight ≥ 0 }. */
export function parseLayerWeights(option: string, text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const pair of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [name, value, extra] = pair.split('=');
    if (name === undefined || value === undefined || extra !== undefined) throw bad(option, `"${pair}" is not LAYER=WEIGHT.`);
    let layer: string;
    try {
      layer = canonicalLayerName(name);
    } catch (error) {
      throw bad(option, (error as Error).message);
    }
    out[layer] = parseNumber(option, value, { min: 0 });
  }
  return out;
}

/** `w,w,…` → non-negative numbers. */
export function parseNumberList(option: string, text: string): number[] {
  return text.split(',').map((s) => parseNumber(option, s.trim(), { min: 0 }));
}
