export * from './loop';
export * from './checkpoints';
export * from './random';
export * from './model-files';
