import { Command } from 'commander';
import { randomUUID } from 'node:crypto';
import { loadEnvironment, type Environment } from '../config/environment';
import { connectClient } from '../orchestration/client';
import { loadRunConfig, type RunConfig } from '../config/run-config';
import { createLogger } from '../logging';
import { createStore } from '../storage';
import { MlflowClient } from '../tracking';
import { initializeTensorBackend } from '../tensors';
import { bundleWorkflows, createWorker } from '../../workers/create-worker';
import type { DoctorResult } from '../../workflows/doctor';

export interface ComponentCheck {
  component: 'temporal' | 'storage' | 'mlflow' | 'tensors';
  ok: boolean;
  detail: string;
}

/** Runs the doctor workflow on in-process workers for both queues and returns its result. */
async function runDoctorWorkflow(config: RunConfig, environment: Environment): Promise<{ result: DoctorResult; workflowId: string }> {
  const logger = createLogger('whorl-doctor', process.env.WHORL_LOG_LEVEL ?? 'warn');
  const workflowBundle = await bundleWorkflows();
  const cpu = await createWorker({ queueClass: 'cpu', config, environment, logger, workflowBundle });
  const gpu = await createWorker({ queueClass: 'gpu', config, environment, logger, workflowBundle });
  const client = await connectClient(environment);
  const workflowId = `doctor-${randomUUID()}`;
  try {
    const result = await cpu.worker.runUntil(
      gpu.worker.runUntil(
        client.workflow.execute('doctorWorkflow', {
          taskQueue: cpu.taskQueue,
          workflowId,
          workflowExecutionTimeout: '5 minutes',
          args: [{ cpuQueue: cpu.taskQueue, gpuQueue: gpu.taskQueue, experiment: config.tracking.experiment, probeKey: `doctor/${workflowId}.bin` }],
        }) as Promise<DoctorResult>,
      ),
    );
    return { result, workflowId };
  } finally {
    await client.connection.close();
    await cpu.connection.close();
    await gpu.connection.close();
  }
}

/** Checks each component directly, without Temporal, so a failure names the component at fault. */
async function checkDirectly(config: RunConfig, environment: Environment): Promise<ComponentCheck[]> {
  const storage = createStore(environment, config.storage);
  const tracking = MlflowClient.fromEnvironment(environment);
  const checks = await Promise.all([
    storage
      .list('doctor/')
      .then((): ComponentCheck => ({ component: 'storage', ok: true, detail: `${storage.location} reachable` }))
      .catch((error: Error): ComponentCheck => ({ component: 'storage', ok: false, detail: error.message })),
    tracking
      .getExperimentByName(config.tracking.experiment)
      .then((): ComponentCheck => ({ component: 'mlflow', ok: true, detail: `${tracking.trackingUri} reachable` }))
      .catch((error: Error): ComponentCheck => ({ component: 'mlflow', ok: false, detail: error.message })),
  ]);
  return checks;
}

/** Runs every check and returns one line per component. */
export async function runDoctor(config: RunConfig, environment: Environment = loadEnvironment()): Promise<ComponentCheck[]> {
  let tensors: ComponentCheck;
  try {
    const backend = await initializeTensorBackend({ backend: config.tensors.backend, threads: config.tensors.threads });
    tensors = { component: 'tensors', ok: true, detail: `backend ${backend.name} ${backend.version}, ${backend.threads} threads` };
  } catch (error) {
    tensors = { component: 'tensors', ok: false, detail: (error as Error).message };
  }
  try {
    const { result, workflowId } = await runDoctorWorkflow(config, environment);
    const [cpuWorker, gpuWorker] = result.workers;
    const uiPort = process.env.WHORL_TEMPORAL_UI_PORT ?? '8233';
    return [
      {
        component: 'temporal',
        ok: true,
        detail: `${environment.temporal.address}: workflow ${workflowId} ran on ${cpuWorker.taskQueue} (pid ${cpuWorker.pid}) and ${gpuWorker.taskQueue} (pid ${gpuWorker.pid}); http://127.0.0.1:${uiPort}/namespaces/${environment.temporal.namespace}/workflows/${workflowId}`,
      },
      { component: 'storage', ok: true, detail: `${result.storage.location}: wrote, read back and deleted ${result.storage.sizeBytes / 1024} KiB in ${result.storage.roundTripMs} ms` },
      { component: 'mlflow', ok: true, detail: `${result.tracking.trackingUri}: run ${result.tracking.runId} in experiment ${result.tracking.experimentId}` },
      { ...tensors, detail: `${tensors.detail}; tfjs backend on the workers: ${cpuWorker.tensorBackend}, ${gpuWorker.tensorBackend}` },
    ];
  } catch (error) {
    const direct = await checkDirectly(config, environment);
    const temporal: ComponentCheck = { component: 'temporal', ok: false, detail: (error as Error).message };
    return [temporal, ...direct, tensors];
  }
}

export function doctorCommand(): Command {
  return new Command('doctor')
    .description('run a real workflow with one activity on each task queue, a storage round trip and an MLflow run; print one line per component')
    .option('-c, --config <file>', 'run config whose queues, storage and experiment to check', 'configs/demo.yaml')
    .action(async (options: { config: string }) => {
      const checks = await runDoctor(loadRunConfig(options.config));
      for (const check of checks) {
        console.log(`${check.component.padEnd(9)} ${check.ok ? 'ok    ' : 'FAILED'} ${check.detail}`);
      }
      if (checks.some((check) => !check.ok)) process.exitCode = 1;
    });
}
