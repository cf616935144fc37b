import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { loadMnist } from '../../bench/hashing/mnist';
import { UserInputError } from '../../src/config/errors';

const MNIST_FOLDER = join(__dirname, '..', '..', '..', 'shared', 'datasets', 'mnist');
const IMAGES = join(MNIST_FOLDER, 't10k-images-idx3-ubyte.gz');
const LABELS = join(MNIST_FOLDER, 't10k-labels-idx1-ubyte.gz');

describe('MNIST loader', function () {
  // The MNIST test set is read from the shared data folder beside the repository, never copied into it.
  before(function () {
    if (!existsSync(IMAGES)) {
      console.warn(`    skipping: ${IMAGES} not found; place the shared datasets folder beside the repository`);
      this.skip();
    }
  });

  it('reads the 10,000-image test set', () => {
    const mnist = loadMnist(IMAGES, LABELS);
    assert.equal(mnist.images.rowCount, 10000);
    assert.equal(mnist.images.columnCount, 784);
    assert.equal(mnist.labels.length, 10000);
    assert.deepEqual([...new Set(mnist.labels)].sort(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.ok(mnist.images.data.every((value) => value >= 0 && value <= 1));
  });

  it('rejects a truncated image file', () => {
    const folder = mkdtempSync(join(tmpdir(), 'whorl-mnist-'));
    try {
      const truncated = gunzipSync(readFileSync(IMAGES)).subarray(0, 16 + 784 * 10);
      const truncatedPath = join(folder, 'images.gz');
      writeFileSync(truncatedPath, gzipSync(truncated));
      assert.throws(() => loadMnist(truncatedPath, LABELS), (error: unknown) => error instanceof UserInputError && /truncated or mismatched/.test(error.message));
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
