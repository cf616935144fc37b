/** Augmentation option that changes an image only with `keepFrame: true`, because `augmentImage` ignores it otherwise. */
export type FrameOnlyOption = 'maxFrameRotationDegrees' | 'maxContrast';

/**
 * Returns the frame-only augmentation options set to a value that changes
 * images: a frame rotation above 0 degrees, a contrast factor above 1.
 * The training settings, the pipeline config and the protocol script all
 * check these against `keepFrame`.
 */
export function activeFrameOnlyOptions(augmentation: { maxFrameRotationDegrees?: number; maxContrast?: number }): FrameOnlyOption[] {
  const active: FrameOnlyOption[] = [];
  if ((augmentation.maxFrameRotationDegrees ?? 0) > 0) active.push('maxFrameRotationDegrees');
  if ((augmentation.maxContrast ?? 1) > 1) active.push('maxContrast');
  return active;
}
