import type { z } from 'zod';

/** Wrapper schema types whose inner schema contains the keys: optional, default and similar. */
const WRAPPER_TYPES = new Set(['optional', 'default', 'prefault', 'nullable', 'readonly', 'catch']);

/** The parts of a zod schema definition that the key lookup reads. */
interface SchemaDefinition {
  type: string;
  innerType?: SchemaLike;
  in?: SchemaLike;
  shape?: Record<string, SchemaLike>;
  element?: SchemaLike;
  options?: SchemaLike[];
}

interface SchemaLike {
  _zod: { def: SchemaDefinition };
}

/** Strips optional, default and pipe wrappers down to the schema that validates the value. */
function unwrap(schema: SchemaLike): SchemaLike {
  let current = schema;
  for (;;) {
    const def = current._zod.def;
    if (WRAPPER_TYPES.has(def.type) && def.innerType !== undefined) current = def.innerType;
    else if (def.type === 'pipe' && def.in !== undefined) current = def.in;
    else return current;
  }
}

/** Returns the object schemas that a value of this schema may match: the schema itself, or each option of a union. */
function objectSchemas(schema: SchemaLike): SchemaLike[] {
  const plain = unwrap(schema);
  const def = plain._zod.def;
  if (def.type === 'object') return [plain];
  if (def.type === 'union' && def.options !== undefined) return def.options.flatMap(objectSchemas);
  return [];
}

/**
 * Returns the keys that the object schema at `path` inside `schema` accepts,
 * the keys of every option for a union, or an empty list when the path does
 * not lead to an object schema.
 */
export function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let current: SchemaLike[] = [schema as unknown as SchemaLike];
  for (const key of path) {
    current = current.flatMap((candidate) => {
      const def = unwrap(candidate)._zod.def;
      if (def.type === 'array' && def.element !== undefined) return [def.element];
      return objectSchemas(candidate).flatMap((object) => {
        const child = object._zod.def.shape?.[String(key)];
        return child === undefined ? [] : [child];
      });
    });
  }
  return [...new Set(current.flatMap((candidate) => objectSchemas(candidate).flatMap((object) => Object.keys(object._zod.def.shape ?? {}))))];
}

/** Returns the Levenshtein distance between two strings: the fewest single-character insertions, deletions and substitutions. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      row.push(Math.min(previous[j] + 1, row[j - 1] + 1, substitution));
    }
    previous = row;
  }
  return previous[b.length];
}

/**
 * Returns the candidate closest to `name`, ignoring case, when it is at
 * most a third of the name's length away (at least one edit), else undefined.
 */
export function closestName(name: string, candidates: readonly string[]): string | undefined {
  const limit = Math.max(1, Math.floor(name.length / 3));
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= limit ? best : undefined;
}
