import * as tf from '@tensorflow/tfjs';
import { strict as assert } from 'node:assert';
import { assertClose, installTrainingSupport, loadNativeBackend, runOnBackend } from './helpers';
import { modelOpCases } from './op-cases';

describe('native TensorFlow backend', function () {
  let previousBackend: string | undefined;

  before(function () {
    previousBackend = tf.getBackend();
    installTrainingSupport();
    const reason = loadNativeBackend();
    if (reason !== undefined) {
      // NOTE: without the addon (scripts/install-native-tensorflow.sh) these
      // comparisons are skipped, and only wasm and cpu are checked.
      console.warn(`skipping native TensorFlow checks: ${reason}`);
      this.skip();
    }
  });

  after(async function () {
    if (previousBackend !== undefined) {
      await tf.setBackend(previousBackend);
    }
  });

  describe('ops and gradients match cpu', function () {
    for (const opCase of modelOpCases()) {
      const nativeError = opCase.nativeError;
      if (nativeError !== undefined) {
        it(`${opCase.name} is rejected`, async function () {
          await assert.rejects(runOnBackend('tensorflow', opCase.inputs, opCase.compute), nativeError);
        });
        continue;
      }
      it(opCase.name, async function () {
        const native = await runOnBackend('tensorflow', opCase.inputs, opCase.compute);
        const cpu = await runOnBackend('cpu', opCase.inputs, opCase.compute);
        assertClose(native, cpu, opCase.name);
      });
    }
  });
});
