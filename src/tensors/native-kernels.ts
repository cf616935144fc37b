import * as tf from '@tensorflow/tfjs';

/** Part of tfjs-node's NodeJSKernelBackend that the kernels below call. */
interface NativeBackend extends tf.KernelBackend {
  binding: { TF_ATTR_TYPE: number; TF_FLOAT: number };
  executeSingleOutput(name: string, opAttrs: { name: string; type: number; value: unknown }[], inputs: tf.TensorInfo[]): tf.Tensor;
}

let registeredStep: tf.KernelConfig | undefined;

/**
 * Step for the native backend. tfjs-node 4.22 builds Step(x) from six
 * full-size TensorFlow ops (IsNan, Greater, ones, Fill, Select, Select), and
 * every relu gradient calls it: on a 32×64×64×1 small-CNN training step these
 * took about 70 of 160 ms. For the usual alpha = 0 on float32 this kernel
 * computes Relu(Sign(x)) instead: 1 for x > 0, 0 for x ≤ 0, NaN for NaN, as
 * tfjs's Step does. Other cases use the original kernel.
 */
function fastStep(original: tf.KernelConfig): tf.KernelConfig {
  return {
    kernelName: tf.Step,
    backendName: 'tensorflow',
    kernelFunc: (args) => {
      const { x } = args.inputs as { x: tf.TensorInfo };
      const { alpha } = args.attrs as unknown as { alpha: number };
      if (alpha !== 0 || x.dtype !== 'float32') {
        return original.kernelFunc(args);
      }
      const backend = args.backend as NativeBackend;
      const typeAttribute = [{ name: 'T', type: backend.binding.TF_ATTR_TYPE, value: backend.binding.TF_FLOAT }];
      return tf.tidy(() => {
        const sign = backend.executeSingleOutput('Sign', typeAttribute, [x]);
        return backend.executeSingleOutput('Relu', typeAttribute, [sign]);
      });
    },
  };
}

/**
 * Replaces slow kernels of the native backend (see fastStep). Call it after
 * @tensorflow/tfjs-node is loaded, because loading it registers its own
 * kernels. Returns the names it registered; a second call registers nothing new.
 */
export function registerNativeKernelFixes(): string[] {
  const current = tf.getKernel(tf.Step, 'tensorflow');
  if (current === undefined || current === registeredStep) {
    return [];
  }
  registeredStep = fastStep(current);
  tf.unregisterKernel(tf.Step, 'tensorflow');
  tf.registerKernel(registeredStep);
  return [tf.Step];
}
