// `nst loss IMAGE --style S… --content C`: one evaluation, per-layer losses as JSON, the gradient as .npy.

import path from 'node:path';
import { Command } from 'commander';
import { decodeImage, objectiveShape, resizeImage, resolveExecution, StyleObjective, writeNpyFloat32, NstError } from '../../engine/index.js';
import { addLossOptions, checkStyleBlend, readLossOptions } from '../loss-options.js';
import { addMaskOptions, loadMasks, readMaskPaths } from '../mask-options.js';
import { parseNumber } from '../parse.js';
import { resolveWeights } from '../weights.js';
import { say, writeJsonLine } from '../output.js';
import { settleAndSayAutoDevice } from '../auto-device.js';
import { checkOutputPath } from '../output-path.js';

export function lossCommand(): Command {
  const command = new Command('loss')
    .description('evaluate the loss of IMAGE once; print unweighted per-layer values and each term\'s share of the total; optionally write d(total)/d(pixel)')
    .argument('<image>', 'the image to evaluate, at its own size unless --size is given')
    .requiredOption('--style <files...>', 'style image(s), used at their own size unless --size is given')
    .option('--content <file>', 'content image (resized to IMAGE\'s size when they differ)')
    .option('--size <px>', 'resize every image to this longest side first')
    .option('--weights <path>', 'VGG19 weights (.h5, .onnx or TF.js folder); default $NST_WEIGHTS')
    .option('--grad-out <file.npy>', 'write d(total)/d(pixel) as float32 [H, W, 3], RGB, 0–255 pixel scale')
    .option('--json', 'print JSON (the default output of this command; kept for symmetry)');
  addLossOptions(command, { normalizeByDefault: false });
  addMaskOptions(command);
  return command.action(async (imagePath: string, raw: Record<string, unknown>) => {
    const text = raw as Record<string, string | undefined>;
    const loss = readLossOptions(text);
    const sizePx = text.size !== undefined ? parseNumber('--size', text.size, { min: 16, max: 16384, integer: true }) : undefined;
    if (loss.contentLayers.length > 0 && !text.content) {
      throw new NstError('BAD_ARGUMENT', '--content is required when content layers are selected (or pass --content-layers "").');
    }
    const stylePaths = raw.style as string[];
    checkStyleBlend(loss.styleBlend, stylePaths.length);
    const maskPaths = readMaskPaths(text, { ...loss, styleCount: stylePaths.length });
    // Before the compute, as stylize's -o: never one of the images read (a link to one counts), in a folder that exists.
    const gradOut = text.gradOut === undefined ? undefined : path.resolve(text.gradOut);
    if (gradOut) await checkOutputPath('--grad-out', gradOut, [imagePath, ...stylePaths, ...(text.content ? [text.content] : []), ...maskPaths.styles, ...(maskPaths.content !== undefined ? [maskPaths.content] : [])]);
    // Images before weights: a mistyped image path should fail at once, not after loading a 550 MB .h5.
    const image = await decodeImage(imagePath, { sizePx });
    const styles = await Promise.all(stylePaths.map((p) => decodeImage(p, { sizePx })));
    let content = text.content ? await decodeImage(text.content, { sizePx }) : undefined;
    // At their own size: the engine resizes them to IMAGE's.
    const masks = await loadMasks(maskPaths);
    const weights = await resolveWeights({ weights: text.weights });
    await settleAndSayAutoDevice(loss.device, true);
    if (content && (content.width !== image.width || content.height !== image.height)) {
      content = await resizeImage(content, image.width, image.height);
    }
    const objective = await StyleObjective.create({
      ...loss,
      weights,
      width: image.width,
      height: image.height,
      styleImages: styles,
      ...(content ? { contentImage: content } : {}),
      masks,
      execution: resolveExecution(loss, objectiveShape(image, loss, styles)),
    });
    if (objective.fallbackReason) say(`running on ${objective.device}: ${objective.fallbackReason}`);
    try {
      const grad = new Float32Array(image.data.length);
      const result = await objective.evaluate(image.data, grad);
      if (gradOut) await writeNpyFloat32(gradOut, planarToInterleaved(grad, image.width, image.height), [image.height, image.width, 3]);
      // `weighted`: each term's share of the total under the weights in force (normalised or raw): what to turn down.
      writeJsonLine({ total: result.total, style: result.style, content: result.content, tv: result.tv, weighted: result.weighted });
    } finally {
      await objective.dispose();
    }
  });
}

/** CHW → HWC. */
function planarToInterleaved(planar: Float32Array, width: number, height: number): Float32Array {
  const plane = width * height;
  const out = new Float32Array(planar.length);
  for (let i = 0; i < plane; i++) {
    out[3 * i] = planar[i]!;
    out[3 * i + 1] = planar[plane + i]!;
    out[3 * i + 2] = planar[2 * plane + i]!;
  }
  return out;
}
