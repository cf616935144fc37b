import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Environment } from '../config/environment';
import type { RunConfig } from '../config/run-config';
import type { DoctorInput } from '../../workflows/doctor';
import type { HandoverProbeInput } from '../../workflows/handover-probe';

export interface WorkloadContext {
  client: Client;
  config: RunConfig;
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
    start: ({ client, config, workflowId }) => {
      const input: HandoverProbeInput = { taskQueue: config.queues.gpu, activityCount: 2, holdMs: 12_000 };
      return client.workflow.start('handoverProbeWorkflow', { taskQueue: config.queues.cpu, workflowId, workflowExecutionTimeout: '5 minutes', args: [input] });
    },
    handover: { activityType: 'holdWorkerSlot', queueClass: 'gpu', minRunning: 2 },
  },

  'gpu-drain': {
    description: 'one 8-second heartbeating activity on the GPU queue, shorter than the 30-second shutdown grace of a worker',
    start: ({ client, config, workflowId }) => {
      const input: HandoverProbeInput = { taskQueue: config.queues.gpu, activityCount: 1, holdMs: 8_000 };
      return client.workflow.start('handoverProbeWorkflow', { taskQueue: config.queues.cpu, workflowId, workflowExecutionTimeout: '5 minutes', args: [input] });
    },
    handover: { activityType: 'holdWorkerSlot', queueClass: 'gpu', minRunning: 1 },
  },
};

export function workloadByName(name: string): MultihostWorkload {
  const workload = WORKLOADS[name];
  if (workload === undefined) {
    throw new Error(`unknown workload "${name}": expected one of ${Object.keys(WORKLOADS).join(', ')}`);
  }
  return workload;
}
