export { generateSyntheticDataset, type SyntheticDatasetRequest, type SyntheticDatasetResult } from './generate';
export { SENSOR_PROFILES, type SensorProfile } from './sensor-profiles';
export { generateMasterFingerprint, renderImpression, sampleImpressionPose, type MasterFingerprint, type ImpressionPose } from './render';
export { FINGERPRINT_CLASSES, type FingerprintClass } from './orientation-field';
export { composeGrid } from './sample-grid';
