import { strict as assert } from 'node:assert';
import { trainingSettings } from '../../activities/sensor';
import { sensorStageConfigSchema } from '../../src/pipeline/config';
import { CPU_SENSOR_TRAINING } from '../../src/sensors';

describe('sensor stage augmentation config', () => {
  it('parses augmentation fields', () => {
    const sensor = sensorStageConfigSchema.parse({ augmentation: { keepFrame: true, maxGamma: 4, maxShiftPx: 4 } });
    assert.deepEqual(sensor.augmentation, { keepFrame: true, maxGamma: 4, maxShiftPx: 4 });
    assert.equal(sensorStageConfigSchema.parse({}).augmentation, undefined);
  });

  it('rejects invalid augmentation fields', () => {
    assert.throws(() => sensorStageConfigSchema.parse({ augmentation: { maxGamma: 0.5 } }), /maxGamma/);
    assert.throws(() => sensorStageConfigSchema.parse({ augmentation: { maxShiftPx: 2.5 } }), /maxShiftPx/);
    assert.throws(() => sensorStageConfigSchema.parse({ augmentation: { gamma: 2 } }), /gamma/);
    assert.throws(() => sensorStageConfigSchema.parse({ augmentation: { maxFrameRotationDegrees: 2 } }), /maxFrameRotationDegrees[\s\S]*applies only with keepFrame: true/);
    assert.equal(sensorStageConfigSchema.parse({ augmentation: { keepFrame: true, maxFrameRotationDegrees: 2 } }).augmentation?.maxFrameRotationDegrees, 2);
    assert.throws(() => sensorStageConfigSchema.parse({ augmentation: { maxContrast: 3 } }), /maxContrast[\s\S]*applies only with keepFrame: true/);
    assert.throws(() => sensorStageConfigSchema.parse({ augmentation: { keepFrame: true, maxContrast: 0.5 } }), /maxContrast/);
    assert.equal(sensorStageConfigSchema.parse({ augmentation: { keepFrame: true, maxContrast: 3 } }).augmentation?.maxContrast, 3);
  });

  it('merges augmentation overrides with the preset', () => {
    const settings = trainingSettings({ size: 'cpu', overrides: { augmentation: { maxGamma: 4, keepFrame: true } }, variant: 'shallow', seed: 3 });
    assert.deepEqual(settings.augmentation, { ...CPU_SENSOR_TRAINING.augmentation, maxGamma: 4, keepFrame: true });
    assert.deepEqual(trainingSettings({ size: 'cpu', variant: 'deep', seed: 3 }).augmentation, CPU_SENSOR_TRAINING.augmentation);
  });
});
