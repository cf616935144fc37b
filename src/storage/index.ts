export * from './object-store';
export { FilesystemStore } from './filesystem-store';
export { S3Store, type S3StoreOptions } from './s3-store';
export * from './versioned-publish';
export { sha256Hex } from './checksum';
export { createStore } from './create-store';
