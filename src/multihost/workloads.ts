import { dirname, resolve } from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Environment } from '../config/environment';
import type { RunConfig } from '../config/run-config';
import { requirePipelineConfig } from '../cli/pipeline-command';
import type { DoctorInput } from '../../workflows/doctor';
import type { HandoverProbeInput } from '../../workflows/handover-probe';
import type { PipelineInput } from '../../workflows/training-pipeline';

export interface WorkloadContext {
  client: Client;
  config: RunConfig;
  /** File the config was read from; relative data roots resolve against its folder. */
  configPath: string;
  /** Connection settings of the driver's host, for a workload that must put input data in storage first. */
  environment: Environment;
  /** Unique id for the workflow this workload starts. */
  workflowId: string;
}

/** Activity that the handover check stops a worker in the middle of. */
export interface HandoverTarget {
  activityType: string;
  /** Queue class whose workers run it. */
  queueClass: 'cpu' | 'gpu';
  /** Attempts of `activityType` that must be running before a worker is stopped, so both workers of the class are busy. */
  minRunning: number;
}

/**
 * A workflow that a multi-host run drives across workers on other hosts.
 * `start` only starts it: the driver waits for the result, reads the history
 * and, for a handover check, stops a worker while `handover.activityType` runs.
 */
export interface MultihostWorkload {
  description: string;
  start(context: WorkloadContext): Promise<WorkflowHandle>;
  handover?: HandoverTarget;
}

/** Starts `activityCount` heartbeating activities of `holdMs` each on the GPU queue. */
function startHandoverProbe({ client, config, workflowId }: WorkloadContext, activityCount: number, holdMs: number): Promise<WorkflowHandle> {
  const input: HandoverProbeInput = { taskQueue: config.queues.gpu, activityCount, holdMs };
  return client.workflow.start('handoverProbeWorkflow', { taskQueue: config.queues.cpu, workflowId, workflowExecutionTimeout: '5 minutes', args: [input] });
}

/**
 * Starts the training pipeline of the run config. `seedOffset` shifts the
 * config's seed, so a second workload on the same store finds no cached stage
 * and trains again.
 */
function startPipeline({ client, config, configPath, workflowId }: WorkloadContext, seedOffset: number): Promise<WorkflowHandle> {
  const pipelineConfig = requirePipelineConfig(config, configPath);
  const input: PipelineInput = {
    runKey: workflowId,
    config: { ...pipelineConfig, seed: pipelineConfig.seed + seedOffset },
    baseDir: resolve(dirname(configPath)),
    configSource: configPath,
  };
  return client.workflow.start('trainingPipeline', { taskQueue: config.queues.cpu, workflowId, workflowExecutionTimeout: '30 minutes', args: [input] });
}

/** Every workload the driver can run, by name. */
export const WORKLOADS: Record<string, MultihostWorkload> = {
  doctor: {
    description: 'the doctor workflow: one activity on each queue, a storage round trip and an MLflow run',
    start: ({ client, config, workflowId }) => {
      const input: DoctorInput = {
        cpuQueue: config.queues.cpu,
        gpuQueue: config.queues.gpu,
        experiment: config.tracking.experiment,
        probeKey: `doctor/${workflowId}.bin`,
      };
      return client.workflow.start('doctorWorkflow', { taskQueue: config.queues.cpu, workflowId, workflowExecutionTimeout: '5 minutes', args: [input] });
    },
  },

  'gpu-handover': {
    description: 'two 12-second heartbeating activities on the GPU queue, one per GPU worker',
    start: (context) => startHandoverProbe(context, 2, 12_000),
    handover: { activityType: 'holdWorkerSlot', queueClass: 'gpu', minRunning: 2 },
  },

  'gpu-drain': {
    description: 'one 8-second heartbeating activity on the GPU queue, shorter than the 30-second shutdown grace of a worker',
    start: (context) => startHandoverProbe(context, 1, 8_000),
    handover: { activityType: 'holdWorkerSlot', queueClass: 'gpu', minRunning: 1 },
  },

  // The network stages run on the GPU queue, so the config's training heartbeat timeout sets how soon a lost stage moves on.
  pipeline: {
    description: 'the training pipeline of the run config: prepare, network stages, hashing, encode, index, evaluate, report',
    start: (context) => startPipeline(context, 0),
  },

  'pipeline-handover': {
    description: 'the training pipeline with the seed shifted by one, so every stage trains afresh; a sensor-classifier stage is handed over',
    start: (context) => startPipeline(context, 1),
    handover: { activityType: 'trainSensorStage', queueClass: 'gpu', minRunning: 1 },
  },
};

export function workloadByName(name: string): MultihostWorkload {
  const workload = WORKLOADS[name];
  if (workload === undefined) {
    throw new Error(`unknown workload "${name}": expected one of ${Object.keys(WORKLOADS).join(', ')}`);
  }
  return workload;
}
