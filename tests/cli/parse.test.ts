// Specification of src/cli/parse.ts: option text → typed values, or an NstError whose sentence names the option.

import { describe, expect, it } from 'vitest';
import { NstError, type NstErrorCode } from '../../src/engine/errors.js';
import { parseChoice, parseLayerList, parseLayerWeights, parseNumber, parseNumberList } from '../../src/cli/parse.js';

/** The NstError `run` throws; fails the test when it throws something else or nothing. */
function thrown(run: () => unknown): NstError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(NstError);
    return error as NstError;
  }
  throw new Error('expected an NstError, but nothing was thrown');
}

function expectRejected(run: () => unknown, code: NstErrorCode, message: RegExp): void {
  const error = thrown(run);
  expect(error.code).toBe(code);
  expect(error.message).toMatch(message);
}

describe('parseNumber', () => {
  it.each([
    ['3', 3],
    ['0', 0],
    ['2.5', 2.5],
    ['.5', 0.5],
    ['1e3', 1000],
    ['-7', -7],
    [' 42 ', 42],
  ])('reads %j as %d', (text, value) => {
    expect(parseNumber('--x', text)).toBe(value);
  });

  it.each(['', '   ', 'abc', '12px', 'NaN', 'Infinity', '-Infinity', '1e400', '1,5'])('rejects %j as not a number, naming the option', (text) => {
    expectRejected(() => parseNumber('--style-weight', text), 'BAD_ARGUMENT', /^--style-weight: ".*" is not a number\.$/);
  });

  it('takes both ends of the range and says the range when outside it', () => {
    const range = { min: 16, max: 16384 };
    expect(parseNumber('--size', '16', range)).toBe(16);
    expect(parseNumber('--size', '16384', range)).toBe(16384);
    expectRejected(() => parseNumber('--size', '15', range), 'BAD_ARGUMENT', /^--size: 15 is out of range: use a number from 16 to 16384\.$/);
    expectRejected(() => parseNumber('--size', '16385', range), 'BAD_ARGUMENT', /^--size: 16385 is out of range/);
    expectRejected(() => parseNumber('--size', '-5', range), 'BAD_ARGUMENT', /^--size: -5 is out of range/);
  });

  it('words a one-sided range by its finite end', () => {
    expectRejected(() => parseNumber('--tv-weight', '-1', { min: 0 }), 'BAD_ARGUMENT', /use a number at least 0\.$/);
    expectRejected(() => parseNumber('--x', '11', { max: 10 }), 'BAD_ARGUMENT', /use a number at most 10\.$/);
  });

  it('refuses the minimum itself when it is exclusive (a learning rate above 0)', () => {
    expect(parseNumber('--lr', '1e-9', { min: 0, minExclusive: true })).toBe(1e-9);
    expectRejected(() => parseNumber('--lr', '0', { min: 0, minExclusive: true }), 'BAD_ARGUMENT', /^--lr: 0 is out of range: use a number above 0\.$/);
  });

  it('asks for whole numbers where the option counts something', () => {
    expect(parseNumber('--iterations', '10', { integer: true })).toBe(10);
    expect(parseNumber('--iterations', '10.0', { integer: true })).toBe(10);
    expectRejected(() => parseNumber('--iterations', '2.5', { integer: true }), 'BAD_ARGUMENT', /^--iterations: "2\.5" is not a whole number\.$/);
  });
});

describe('parseChoice', () => {
  it('returns a listed choice and names the option and the choices otherwise', () => {
    expect(parseChoice('--pool', 'avg', ['max', 'avg'])).toBe('avg');
    expectRejected(() => parseChoice('--pool', 'median', ['max', 'avg']), 'BAD_ARGUMENT', /^--pool: "median" is not one of max, avg\.$/);
    // Choices are exact: no case folding, no trimming.
    expectRejected(() => parseChoice('--pool', 'MAX', ['max', 'avg']), 'BAD_ARGUMENT', /"MAX"/);
  });
});

describe('parseLayerList', () => {
  it.each([
    ['block4_conv2', ['block4_conv2']],
    ['conv1_1,relu4_2', ['block1_conv1', 'block4_conv2']],
    ['BLOCK5_CONV4, Relu3_1', ['block5_conv4', 'block3_conv1']],
    [' conv3_1 , conv1_1 ', ['block3_conv1', 'block1_conv1']],
  ])('turns %j into canonical Keras names, in the given order', (text, layers) => {
    expect(parseLayerList('--style-layers', text)).toEqual(layers);
  });

  it('names each layer once however it was spelled', () => {
    expect(parseLayerList('--style-layers', 'conv1_1,block1_conv1,relu1_1,conv2_1,conv1_1')).toEqual(['block1_conv1', 'block2_conv1']);
  });

  it('reads an empty list (and stray commas) as no layers', () => {
    expect(parseLayerList('--content-layers', '')).toEqual([]);
    expect(parseLayerList('--content-layers', ' , ,')).toEqual([]);
  });

  it.each(['block6_conv1', 'conv5_5', 'relu0_1', 'block1_pool', 'fc6'])('rejects %s as UNKNOWN_LAYER, naming the option and the layer', (name) => {
    const error = thrown(() => parseLayerList('--style-layers', `conv1_1,${name}`));
    expect(error.code).toBe('UNKNOWN_LAYER');
    expect(error.message.startsWith('--style-layers: ')).toBe(true);
    expect(error.message).toContain(`"${name}"`);
  });
});

describe('parseLayerWeights', () => {
  it('maps aliases to canonical names with their weights', () => {
    expect(parseLayerWeights('--layer-weights', 'conv1_1=0.5, relu2_1 = 2,block3_conv1=0')).toEqual({
      block1_conv1: 0.5,
      block2_conv1: 2,
      block3_conv1: 0,
    });
  });

  it('reads an empty string as no weights', () => {
    expect(parseLayerWeights('--layer-weights', '')).toEqual({});
  });

  it.each(['conv1_1', 'conv1_1=1=2', 'conv1_1:1'])('rejects %j as not LAYER=WEIGHT', (text) => {
    expectRejected(() => parseLayerWeights('--layer-weights', text), 'BAD_ARGUMENT', /^--layer-weights: ".*" is not LAYER=WEIGHT\.$/);
  });

  it.each([
    ['conv1_1=-1', /^--layer-weights: -1 is out of range: use a number at least 0\.$/],
    ['conv1_1=NaN', /^--layer-weights: "NaN" is not a number\.$/],
    ['conv1_1=', /^--layer-weights: "" is not a number\.$/],
  ])('rejects the weight in %j', (text, message) => {
    expectRejected(() => parseLayerWeights('--layer-weights', text), 'BAD_ARGUMENT', message);
  });

  it('rejects an unknown layer as UNKNOWN_LAYER, naming it', () => {
    expectRejected(() => parseLayerWeights('--layer-weights', 'block6_conv1=2'), 'UNKNOWN_LAYER', /^--layer-weights: .*"block6_conv1"/);
  });

  it('rejects one layer given twice under two spellings rather than letting the last win', () => {
    expectRejected(() => parseLayerWeights('--layer-weights', 'conv1_1=1,block1_conv1=2'), 'BAD_ARGUMENT', /^--layer-weights: block1_conv1 is given more than once/);
  });
});

describe('parseNumberList', () => {
  it('reads comma-separated non-negative numbers', () => {
    expect(parseNumberList('--style-blend', '1,2.5,0')).toEqual([1, 2.5, 0]);
    expect(parseNumberList('--style-blend', ' 3 , 1 ')).toEqual([3, 1]);
  });

  it.each([
    ['1,-1', /^--style-blend: -1 is out of range: use a number at least 0\.$/],
    ['1,,2', /^--style-blend: "" is not a number\.$/],
    ['', /^--style-blend: "" is not a number\.$/],
    ['1,x', /^--style-blend: "x" is not a number\.$/],
  ])('rejects %j, naming the option', (text, message) => {
    expectRejected(() => parseNumberList('--style-blend', text), 'BAD_ARGUMENT', message);
  });
});
