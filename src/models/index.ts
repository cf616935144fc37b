export * from './options';
export * from './seeded-dropout';
export * from './vgg-sensor';
export * from './resnet-sensor';
