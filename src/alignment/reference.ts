import { createRandom, type GrayImage } from '../imaging';
import { commonCanvasSidePx, prepareAlignmentImage } from './inputs';
import { overlapCorrelation } from './similarity';

/** Reference frames stored with an alignment model: one global, plus one per sensor where chosen. */
export interface AlignmentReferences {
  global: GrayImage;
  bySensor: Record<string, GrayImage>;
}

/** Returns the sensor's reference when there is one, else the global reference. */
export function selectReference(references: AlignmentReferences, sensor?: string): GrayImage {
  return (sensor === undefined ? undefined : references.bySensor[sensor]) ?? references.global;
}

/**
 * Chooses a reference frame from training images: the medoid, meaning the
 * candidate with the highest mean overlap correlation to the other
 * candidates, compared at `sizePx` on one common canvas. At most
 * `maxCandidates` images, drawn with the seed, are compared, because the
 * cost grows with the square of their number. A real print as reference
 * keeps the network's inputs like its training pairs, which a pixel mean
 * of many prints would not be.
 */
export function chooseReferenceImage(images: GrayImage[], options: { seed: number | string; sizePx?: number; maxCandidates?: number }): { image: GrayImage; index: number; meanCorrelation: number } {
  if (images.length === 0) throw new RangeError('expected at least one image to choose a reference from, but got none');
  const sizePx = options.sizePx ?? 64;
  const maxCandidates = options.maxCandidates ?? 32;

  const random = createRandom(`${options.seed}/alignment-reference`);
  const order = images.map((_, index) => index);
  for (let i = order.length - 1; i > 0; i--) {
    const j = random.integer(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const candidates = order.slice(0, Math.min(maxCandidates, images.length));
  const canvasSidePx = commonCanvasSidePx(candidates.map((index) => images[index]));
  const prepared = candidates.map((index) => prepareAlignmentImage(images[index], { sizePx, canvasSidePx }));

  const totals = new Float64Array(candidates.length);
  for (let i = 0; i < candidates.length; i++) {
    for (let j = i + 1; j < candidates.length; j++) {
      const { correlation } = overlapCorrelation(prepared[i], prepared[j], { blockSizePx: 4 });
      totals[i] += correlation;
      totals[j] += correlation;
    }
  }
  let best = 0;
  for (let i = 1; i < candidates.length; i++) if (totals[i] > totals[best]) best = i;
  const meanCorrelation = candidates.length > 1 ? totals[best] / (candidates.length - 1) : 1;
  return { image: images[candidates[best]], index: candidates[best], meanCorrelation };
}
