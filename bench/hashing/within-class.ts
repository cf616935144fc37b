import { UserInputError } from '../../src/config/errors';
import { WITHIN_CLASS_CLASSES } from '../../src/pipeline/config';
import type { WithinClassClasses } from '../../src/pipeline/within-class';

/**
 * `--within-class` settings: `none`, or the classes of the within-class
 * normalization fitted on the gallery (never on probes). `identity` uses the
 * gallery identity labels, which are known at enrolment, and the augmented
 * modes add shifted and rotated copies of each gallery print
 * (see fitTrainingNormalization).
 */
export type WithinClassMode = 'none' | WithinClassClasses;

export function parseWithinClassMode(text: string): WithinClassMode {
  if (text !== 'none' && !(WITHIN_CLASS_CLASSES as readonly string[]).includes(text)) {
    throw new UserInputError(`--within-class takes none, ${WITHIN_CLASS_CLASSES.join(', ')}, but got "${text}"`);
  }
  return text as WithinClassMode;
}
