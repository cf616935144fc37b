export {
  AUTO_BACKEND_ORDER,
  TENSOR_BACKEND_CHOICES,
  initializeTensorBackend,
  tensorBackendRunParameters,
  type TensorBackendChoice,
  type TensorBackendInfo,
  type TensorBackendName,
  type TensorBackendOptions,
} from './backend';
export {
  conv2dFilterGradient,
  conv2dGradientConfig,
  conv2dInputGradient,
  dilateFilter,
  registerConv2dGradient,
  type Conv2dFilterGradientOptions,
  type Conv2dInputGradientOptions,
} from './conv2d-gradients';
export { installNativeTensorflow, type InstallNativeTensorflowOptions } from './install';
export { registerCpuKernelFixes } from './cpu-kernels';
export { registerGatherGradient } from './gather-gradients';
export { registerNativeKernelFixes } from './native-kernels';
export { avgPoolBackprop, maxPoolBackprop, poolingGradientKernels } from './pooling-gradients';
export { registerWasmTrainingKernels, wasmMissingKernels, wasmReplacementKernels } from './wasm-kernels';
