import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadEnvironment, localS3CredentialsPath } from '../../src/config/environment';
import { silentLogger } from '../../src/logging';
import { installStack, installedPaths } from '../../src/stack/install';
import { stackDown, stackStatus, stackUp, type StackContext } from '../../src/stack/services';
import { loadStackVersions } from '../../src/stack/versions';

function runningStackContext(): StackContext {
  const environment = loadEnvironment();
  return { cacheDir: environment.cacheDir, stateDir: environment.stateDir, versions: loadStackVersions(), host: '127.0.0.1', bucket: environment.s3.bucket, logger: silentLogger };
}

function scratchContext(env: NodeJS.ProcessEnv = {}): StackContext {
  return { ...runningStackContext(), stateDir: mkdtempSync(join(tmpdir(), 'whorl-state-')), env: { ...process.env, ...env } };
}

describe('local stack', () => {
  it('reports every service healthy with its pid', async () => {
    const services = await stackStatus(runningStackContext());
    assert.deepEqual(services.map((service) => service.name), ['minio', 'temporal', 'mlflow']);
    for (const service of services) {
      assert.ok(service.running, `${service.name} should be running`);
      assert.ok(service.healthy, `${service.name} should be healthy`);
      assert.ok((service.pid ?? 0) > 0);
    }
  });

  it('leaves running services alone on a second up', async () => {
    const context = runningStackContext();
    const before = await stackStatus(context);
    const after = await stackUp(context);
    assert.deepEqual(after.map((service) => service.pid), before.map((service) => service.pid));
  });

  it('binds every service to loopback', async () => {
    for (const service of await stackStatus(runningStackContext())) {
      assert.match(service.address, /^(http:\/\/)?127\.0\.0\.1:/);
    }
  });

  it('keeps the MinIO secret out of every log and its file private', () => {
    const { stateDir } = runningStackContext();
    const credentialsPath = localS3CredentialsPath({ WHORL_STATE_DIR: stateDir });
    const { secretAccessKey } = JSON.parse(readFileSync(credentialsPath, 'utf8')) as { secretAccessKey: string };
    for (const name of readdirSync(join(stateDir, 'logs'))) {
      const text = readFileSync(join(stateDir, 'logs', name), 'utf8');
      assert.ok(!text.includes(secretAccessKey), `logs/${name} contains the MinIO secret`);
    }
    assert.equal(statSync(credentialsPath).mode & 0o777, 0o600);
  });

  it('names the port and the fix when a port is taken', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const context = scratchContext({ WHORL_MINIO_PORT: String(port) });
      await assert.rejects(stackUp(context), (error: Error) => {
        assert.ok(error.message.includes(`port ${port} on 127.0.0.1, needed by minio, is already in use`), error.message);
        assert.match(error.message, /WHORL_\*_PORT/);
        return true;
      });
    } finally {
      blocker.close();
    }
  });

  it('stops only processes it recorded, never a reused pid', async () => {
    const context = scratchContext();
    const stranger = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      mkdirSync(join(context.stateDir, 'pids'), { recursive: true });
      const record = { pid: stranger.pid, binary: '/opt/whorl/minio', startedAt: new Date().toISOString(), logPath: '/dev/null' };
      writeFileSync(join(context.stateDir, 'pids', 'minio.json'), JSON.stringify(record));
      const results = await stackDown(context);
      assert.deepEqual(results.find((result) => result.name === 'minio'), { name: 'minio', stopped: false });
      assert.equal(stranger.exitCode, null, 'the unrelated process must still run');
      assert.doesNotThrow(() => process.kill(stranger.pid ?? -1, 0));
    } finally {
      stranger.kill();
    }
  });

  it('names the missing toolchains when installing without them', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'whorl-cache-'));
    await assert.rejects(installStack(cacheDir, loadStackVersions(), silentLogger, { PATH: '/nonexistent' }), (error: Error) => {
      assert.match(error.message, /cannot build temporal: the Go toolchain is not on PATH; install Go/);
      assert.match(error.message, /cannot build minio: the Go toolchain is not on PATH/);
      assert.match(error.message, /cannot install MLflow: python3 is not on PATH/);
      return true;
    });
  });

  it('reports a failed build with the go output', async function () {
    this.timeout(120_000);
    const cacheDir = mkdtempSync(join(tmpdir(), 'whorl-cache-'));
    const versions = loadStackVersions();
    const broken = { ...versions, temporal: { module: 'github.com/temporalio/cli/cmd/temporal', version: 'v0.0.0-no-such-version' } };
    // Mark MinIO and MLflow as installed, so only the broken build runs.
    const paths = installedPaths(cacheDir, broken);
    mkdirSync(paths.mlflowVenv, { recursive: true });
    writeFileSync(join(paths.mlflowVenv, '.whorl-installed'), '');
    mkdirSync(join(paths.minioBinary, '..'), { recursive: true });
    writeFileSync(paths.minioBinary, '');
    await assert.rejects(installStack(cacheDir, broken, silentLogger), (error: Error) => {
      assert.match(error.message, /failed to build temporal v0\.0\.0-no-such-version/);
      assert.match(error.message, /full log: .*install-temporal\.log/);
      return true;
    });
  });
});
