export * from './dataset';
export * from './classifier';
export * from './train';
export * from './evaluate';
export * from './evaluate-run';
export * from './feature-maps';
export * from './report';
export * from './compare';
