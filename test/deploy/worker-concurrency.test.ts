import { strict as assert } from 'node:assert';
import { UserInputError } from '../../src/config/errors';
import { maxConcurrentActivitiesFromEnv } from '../../workers/run-worker';

describe('WHORL_MAX_CONCURRENT_ACTIVITIES', () => {
  const valid: Array<[string | undefined, number | undefined]> = [
    [undefined, undefined],
    ['', undefined],
    ['1', 1],
    ['8', 8],
  ];
  for (const [value, expected] of valid) {
    it(`reads ${JSON.stringify(value)} as ${expected}`, () => {
      assert.equal(maxConcurrentActivitiesFromEnv(value === undefined ? {} : { WHORL_MAX_CONCURRENT_ACTIVITIES: value }), expected);
    });
  }

  for (const value of ['0', '-1', '1.5', 'two']) {
    it(`rejects ${JSON.stringify(value)}`, () => {
      assert.throws(
        () => maxConcurrentActivitiesFromEnv({ WHORL_MAX_CONCURRENT_ACTIVITIES: value }),
        (error: unknown) => error instanceof UserInputError && error.message.includes(`invalid WHORL_MAX_CONCURRENT_ACTIVITIES "${value}"`),
      );
    });
  }
});
