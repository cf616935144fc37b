import { strict as assert } from 'node:assert';
import { z } from 'zod';
import { closestName, editDistance, knownKeysAt } from '../../src/config/suggest';

describe('config key suggestions', () => {
  it('editDistance counts single edits', () => {
    assert.equal(editDistance('root', 'root'), 0);
    assert.equal(editDistance('rot', 'root'), 1);
    assert.equal(editDistance('experimnet', 'experiment'), 2);
    assert.equal(editDistance('', 'abc'), 3);
  });

  it('closestName ignores case', () => {
    assert.equal(closestName('keepframe', ['maxGamma', 'keepFrame']), 'keepFrame');
  });

  it('closestName rejects distant names', () => {
    assert.equal(closestName('zzzz', ['name', 'seed']), undefined);
    assert.equal(closestName('ab', ['cd']), undefined);
  });

  it('knownKeysAt follows wrappers and arrays', () => {
    const schema = z.object({
      outer: z
        .object({ items: z.array(z.object({ alpha: z.number(), beta: z.string() })).default([]) })
        .optional(),
      choice: z.union([z.object({ kind: z.literal('a'), one: z.number() }), z.object({ kind: z.literal('b'), two: z.number() })]),
    });
    assert.deepEqual(knownKeysAt(schema, []), ['outer', 'choice']);
    assert.deepEqual(knownKeysAt(schema, ['outer', 'items', 0]), ['alpha', 'beta']);
    assert.deepEqual(knownKeysAt(schema, ['choice']), ['kind', 'one', 'two']);
    assert.deepEqual(knownKeysAt(schema, ['missing']), []);
  });
});
