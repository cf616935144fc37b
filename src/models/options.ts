import * as tf from '@tensorflow/tfjs';

/** Options shared by the sensor classifier builders. */
export interface SensorModelOptions {
  /** Side of the square input in pixels; 224 in the paper-sized networks. */
  inputSizePx: number;
  /** Input channels: 3 for the paper-sized networks (gray replicated to RGB), 1 for CPU-sized ones. */
  channels?: number;
  /** Scales every convolution's filter count; 1 keeps the published widths. */
  widthMultiplier?: number;
  /** Number of sensor classes, at least 2. */
  numSensors: number;
  /** Seeds every weight initializer and dropout mask. */
  seed?: number;
}

export interface ResolvedSensorModelOptions {
  inputSizePx: number;
  channels: number;
  widthMultiplier: number;
  numSensors: number;
  seed: number;
}

function requirePositiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`invalid ${name}: expected a positive integer, but got ${value}`);
  }
}

/** Validates the options and fills in defaults (1 channel, width 1, seed 0). */
export function resolveSensorModelOptions(options: SensorModelOptions, minimumInputSizePx: number): ResolvedSensorModelOptions {
  const resolved = { channels: 1, widthMultiplier: 1, seed: 0, ...options };
  requirePositiveInteger('inputSizePx', resolved.inputSizePx);
  requirePositiveInteger('channels', resolved.channels);
  requirePositiveInteger('numSensors', resolved.numSensors);
  if (!Number.isInteger(resolved.seed)) {
    throw new Error(`invalid seed: expected an integer, but got ${resolved.seed}`);
  }
  if (resolved.numSensors < 2) {
    throw new Error(`invalid numSensors: a sensor classifier needs at least 2 sensors, but got ${resolved.numSensors}`);
  }
  if (!(resolved.widthMultiplier > 0 && resolved.widthMultiplier <= 4)) {
    throw new Error(`invalid widthMultiplier: expected a number in (0, 4], but got ${resolved.widthMultiplier}`);
  }
  if (resolved.inputSizePx < minimumInputSizePx) {
    throw new Error(`invalid inputSizePx: this network needs at least ${minimumInputSizePx} pixels, but got ${resolved.inputSizePx}`);
  }
  return resolved;
}

/** Scales a published filter count by the width multiplier, keeping at least one filter. */
export function scaledFilters(filters: number, widthMultiplier: number): number {
  return Math.max(1, Math.round(filters * widthMultiplier));
}

/** Hands out seeded Glorot-uniform initializers, one seed per layer, so a model is rebuilt bit for bit from its seed. */
export class SeededInitializers {
  private next: number;

  constructor(seed: number) {
    this.next = seed * 1000;
  }

  glorotUniform(): ReturnType<typeof tf.initializers.glorotUniform> {
    return tf.initializers.glorotUniform({ seed: this.next++ });
  }

  heNormal(): ReturnType<typeof tf.initializers.heNormal> {
    return tf.initializers.heNormal({ seed: this.next++ });
  }
}
