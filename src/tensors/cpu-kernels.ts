import * as tf from '@tensorflow/tfjs';
import { poolingGradientKernels } from './pooling-gradients';

/**
 * ResizeBilinearGrad for cpu. The backend's own kernel
 * (tfjs-backend-cpu 4.22) fills the gradient in [batch, height, width,
 * channels] order but labels it [batch, width, height, channels], so the
 * gradient of a non-square resize fails tfjs's shape check. This wrapper runs
 * the original kernel and restores the input's shape; the values are already
 * in the right order.
 */
function fixedResizeBilinearGrad(original: tf.KernelConfig): tf.KernelConfig {
  return {
    kernelName: tf.ResizeBilinearGrad,
    backendName: 'cpu',
    kernelFunc: (args) => {
      const result = original.kernelFunc(args) as tf.TensorInfo;
      const { images } = args.inputs as { images: tf.TensorInfo };
      return { ...result, shape: [...images.shape] };
    },
  };
}

let registeredResizeBilinearGrad: tf.KernelConfig | undefined;

function replaceKernel(kernel: tf.KernelConfig): void {
  if (tf.getKernel(kernel.kernelName, kernel.backendName) !== undefined) {
    tf.unregisterKernel(kernel.kernelName, kernel.backendName);
  }
  tf.registerKernel(kernel);
}

/**
 * Replaces incorrect cpu gradient kernels: ResizeBilinearGrad (above) and
 * AvgPoolGrad (see poolingGradientKernels). Returns the names it registered;
 * a second call registers nothing new.
 */
export function registerCpuKernelFixes(): string[] {
  const registered: string[] = [];
  const resizeGradient = tf.getKernel(tf.ResizeBilinearGrad, 'cpu');
  if (resizeGradient !== undefined && resizeGradient !== registeredResizeBilinearGrad) {
    registeredResizeBilinearGrad = fixedResizeBilinearGrad(resizeGradient);
    replaceKernel(registeredResizeBilinearGrad);
    registered.push(tf.ResizeBilinearGrad);
  }

  for (const kernel of poolingGradientKernels.filter((candidate) => candidate.backendName === 'cpu')) {
    if (tf.getKernel(kernel.kernelName, 'cpu') !== kernel) {
      replaceKernel(kernel);
      registered.push(kernel.kernelName);
    }
  }
  return registered;
}
