export * from './gray-image';
export * from './image-format';
export * from './decode-error';
export { decodeImage, inspectImage, DEFAULT_MAX_PIXELS, type DecodeOptions, type ImageHeader } from './decode';
export * from './resize';
export * from './preprocess';
export * from './augment';
export * from './random';
export { encodePng } from './encode';
