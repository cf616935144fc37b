import { createGrayImage, type GrayImage } from '../../imaging/gray-image';
import { fitToSquare, pasteImage } from '../../imaging/preprocess';

/**
 * Lays images out in a grid of square cells (row-major), each image fitted
 * into its cell on white with a gap between cells, for eyeballing a data set.
 */
export function composeGrid(images: GrayImage[], options: { columns: number; cellSizePx: number; gapPx?: number }): GrayImage {
  const gapPx = options.gapPx ?? 4;
  const rows = Math.ceil(images.length / options.columns);
  const canvas = createGrayImage(options.columns * (options.cellSizePx + gapPx) + gapPx, rows * (options.cellSizePx + gapPx) + gapPx, 255);
  images.forEach((image, index) => {
    const cell = fitToSquare(image, { sizePx: options.cellSizePx, fit: 'pad' });
    const column = index % options.columns;
    const row = Math.floor(index / options.columns);
    pasteImage(canvas, cell, gapPx + column * (options.cellSizePx + gapPx), gapPx + row * (options.cellSizePx + gapPx));
  });
  return canvas;
}
