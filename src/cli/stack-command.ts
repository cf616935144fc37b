import { Command } from 'commander';
import { loadEnvironment } from '../config/environment';
import { createLogger } from '../logging';
import { installStack } from '../stack/install';
import { stackDown, stackStatus, stackUp, type ServiceStatus, type StackContext } from '../stack/services';
import { loadStackVersions } from '../stack/versions';
import { installNativeTensorflow } from '../tensors';

export function stackContext(): StackContext {
  const environment = loadEnvironment();
  return {
    cacheDir: environment.cacheDir,
    stateDir: environment.stateDir,
    versions: loadStackVersions(),
    host: process.env.WHORL_STACK_HOST ?? '127.0.0.1',
    bucket: environment.s3.bucket,
    logger: createLogger('whorl-stack'),
  };
}

function printStatus(services: ServiceStatus[]): void {
  for (const service of services) {
    const state = service.running ? `running (pid ${service.pid})` : 'stopped';
    const health = service.healthy ? 'healthy' : 'not responding';
    const ui = service.uiAddress !== undefined ? `  UI ${service.uiAddress}` : '';
    console.log(`${service.name.padEnd(9)} ${state.padEnd(20)} ${health.padEnd(15)} ${service.address}${ui}`);
  }
}

export function stackCommand(): Command {
  const stack = new Command('stack').description('install, start and stop the local Temporal, MinIO and MLflow services');

  stack
    .command('install')
    .description('build the Temporal CLI and MinIO with go install, MLflow into a virtual environment and native TensorFlow for tfjs-node, in the cache folder (skips what is present)')
    .action(async () => {
      const context = stackContext();
      const started = Date.now();
      const seconds = await installStack(context.cacheDir, context.versions, context.logger);
      const tensorflowStarted = Date.now();
      try {
        await installNativeTensorflow(context.cacheDir, context.logger);
      } catch (error) {
        // Without native TensorFlow the tensor backend falls back to wasm, so the stack is still usable.
        context.logger.warn({ error: (error as Error).message }, 'native TensorFlow install failed; the wasm backend will be used');
      }
      const tensorflowSeconds = (Date.now() - tensorflowStarted) / 1000;
      console.log(`native TensorFlow for tfjs-node ready (${tensorflowSeconds.toFixed(1)} s)`);
      console.log(`stack installed in ${context.cacheDir} (${((Date.now() - started) / 1000).toFixed(1)} s; temporal ${seconds.temporal.toFixed(1)} s, minio ${seconds.minio.toFixed(1)} s, mlflow ${seconds.mlflow.toFixed(1)} s; 0 means already installed)`);
    });

  stack
    .command('up')
    .description('start every service on loopback and wait until each is healthy (idempotent)')
    .action(async () => {
      const context = stackContext();
      const started = Date.now();
      const services = await stackUp(context);
      printStatus(services);
      console.log(`stack up in ${((Date.now() - started) / 1000).toFixed(1)} s; state in ${context.stateDir}`);
      console.log(`Temporal UI: ${services.find((s) => s.name === 'temporal')?.uiAddress}`);
      console.log(`MLflow UI:   ${services.find((s) => s.name === 'mlflow')?.uiAddress}`);
    });

  stack
    .command('down')
    .description('stop the processes that "stack up" started, by their recorded pids')
    .action(async () => {
      for (const result of await stackDown(stackContext())) {
        console.log(`${result.name.padEnd(9)} ${result.stopped ? 'stopped' : 'was not running'}`);
      }
    });

  stack
    .command('status')
    .description('show which services run, their pids, health and addresses')
    .action(async () => {
      printStatus(await stackStatus(stackContext()));
    });

  return stack;
}
