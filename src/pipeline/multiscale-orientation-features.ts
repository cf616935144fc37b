import { UserInputError } from '../config/errors';
import { createFeatureMatrix, type FeatureMatrix } from '../hashing/feature-matrix';
import type { GrayImage } from '../imaging';
import { orientationFieldFeatures } from './orientation-features';

/**
 * Ridge orientation fields on several grids, concatenated: one
 * orientationFieldFeatures block per entry of `gridCellsPerScale`, in that
 * order, each scaled by 1/√(number of grids), so a row keeps unit L2 norm
 * (a blank image stays all zeros). A coarse grid such as 8×8 averages over larger cells and so
 * tolerates more displacement between impressions. A fine grid such as
 * 16×16 keeps the position of singular points more exactly.
 */
export function multiScaleOrientationFeatures(images: GrayImage[], gridCellsPerScale: number[]): FeatureMatrix {
  if (gridCellsPerScale.length === 0) {
    throw new UserInputError('invalid orientation grids []: expected at least one grid size in cells per side, such as [8, 16]');
  }
  for (const gridCells of gridCellsPerScale) {
    if (!Number.isInteger(gridCells) || gridCells < 1) throw new UserInputError(`invalid orientation grid ${gridCells}: expected a positive integer count of cells per side`);
  }

  const blocks = gridCellsPerScale.map((gridCells) => orientationFieldFeatures(images, gridCells));
  const dimension = blocks.reduce((sum, block) => sum + block.columnCount, 0);
  const scale = 1 / Math.sqrt(blocks.length);
  const data = new Float32Array(images.length * dimension);
  for (let row = 0; row < images.length; row++) {
    let offset = row * dimension;
    for (const block of blocks) {
      const values = block.data.subarray(row * block.columnCount, (row + 1) * block.columnCount);
      for (let column = 0; column < values.length; column++) data[offset + column] = scale * values[column];
      offset += block.columnCount;
    }
  }
  return createFeatureMatrix(data, images.length, dimension);
}
