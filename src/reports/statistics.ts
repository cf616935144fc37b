/** Small descriptive statistics for report tables; each returns NaN for an empty input. */

export function mean(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

/** Percentile by linear interpolation between closest ranks, `p` in [0, 100]. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const lower = Math.floor(rank);
  const upper = Math.ceil(rank);
  return sorted[lower] + (sorted[upper] - sorted[lower]) * (rank - lower);
}

/** Mean absolute off-diagonal value of a square matrix. */
export function meanAbsoluteOffDiagonal(matrix: readonly number[][]): number {
  let sum = 0;
  let count = 0;
  for (let row = 0; row < matrix.length; row++) {
    for (let column = 0; column < matrix[row].length; column++) {
      if (row === column) continue;
      sum += Math.abs(matrix[row][column]);
      count++;
    }
  }
  return count === 0 ? Number.NaN : sum / count;
}
