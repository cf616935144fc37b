import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { cacheDir } from '../../src/config/environment';
import { loadRunConfig } from '../../src/config/run-config';
import { REPOSITORY_ROOT } from '../../src/stack/versions';

const execFileAsync = promisify(execFile);

/** kubernetes-validate ships the Kubernetes JSON schemas, so validation needs no network once it is installed. */
const VALIDATOR_VERSION = '1.37.0';
const KUBERNETES_VERSION = '1.37.0';
const MANIFEST_DIR = join(REPOSITORY_ROOT, 'infra', 'deploy', 'kubernetes');
const IMAGE_DIR = join(REPOSITORY_ROOT, 'infra', 'deploy', 'images');

type Manifest = { kind: string; metadata: { name: string }; [key: string]: unknown };

function yamlFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/.test(entry.name) ? [path] : [];
  });
}

function loadManifests(): Manifest[] {
  return yamlFiles(MANIFEST_DIR).flatMap((path) => parseAllDocuments(readFileSync(path, 'utf8')).map((document) => document.toJS() as Manifest));
}

/** Returns the manifest of `kind` named `name`, typed as the fields a test reads from it. */
function find<Fields>(manifests: Manifest[], kind: string, name: string): Fields {
  const manifest = manifests.find((candidate) => candidate.kind === kind && candidate.metadata.name === name);
  assert.ok(manifest, `no ${kind} named ${name} in ${MANIFEST_DIR}`);
  return manifest as unknown as Fields;
}

async function reportsVersion(executable: string): Promise<boolean> {
  try {
    const { stdout } = await execFileAsync(executable, ['--version'], { timeout: 60_000 });
    return stdout.trim() === VALIDATOR_VERSION;
  } catch {
    return false;
  }
}

/** Installs kubernetes-validate into a virtual environment in the cache folder unless it works there already, and returns its executable. */
async function ensureValidator(): Promise<string> {
  const venv = join(cacheDir(), 'venvs', `kubernetes-validate-${VALIDATOR_VERSION}`);
  const executable = join(venv, 'bin', 'kubernetes-validate');
  if (await reportsVersion(executable)) return executable;

  // A venv left half-built by an interrupted run is rebuilt from scratch.
  await rm(venv, { recursive: true, force: true });
  await mkdir(join(cacheDir(), 'venvs'), { recursive: true });
  try {
    await execFileAsync('python3', ['-m', 'venv', venv], { timeout: 120_000 });
    await execFileAsync(join(venv, 'bin', 'pip'), ['install', '--quiet', `kubernetes-validate==${VALIDATOR_VERSION}`], { timeout: 600_000 });
  } catch (error) {
    await rm(venv, { recursive: true, force: true });
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`failed to install kubernetes-validate ${VALIDATOR_VERSION} into ${venv} with python3 -m venv and pip: ${(error as Error).message}\n${stderr}`);
  }
  if (!(await reportsVersion(executable))) throw new Error(`kubernetes-validate in ${venv} does not report version ${VALIDATOR_VERSION} after installation`);
  return executable;
}

async function validate(executable: string, files: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(executable, ['--strict', '--kubernetes-version', KUBERNETES_VERSION, ...files], { timeout: 120_000 });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : -1, output: (failed.stdout ?? '') + (failed.stderr ?? '') };
  }
}

describe('deployment manifests', function () {
  this.timeout(900_000);
  let validator: string;
  const manifests = loadManifests();

  before(async () => {
    validator = await ensureValidator();
  });

  it('pass strict schema validation', async () => {
    const files = yamlFiles(MANIFEST_DIR);
    assert.ok(files.length >= 6, `expected the manifests in ${MANIFEST_DIR}, found ${files.length} files`);
    const { code, output } = await validate(validator, files);
    assert.equal(code, 0, `kubernetes-validate failed:\n${output}`);
    for (const file of files) assert.ok(output.includes(`${file} passed`), `no pass reported for ${file}:\n${output}`);
  });

  it('validator rejects an unknown field', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'whorl-manifest-'));
    const broken = join(folder, 'broken.yaml');
    const gpu = readFileSync(join(MANIFEST_DIR, '20-worker-gpu.yaml'), 'utf8').replace('terminationGracePeriodSeconds:', 'terminationGraceSeconds:');
    writeFileSync(broken, gpu);
    const { code, output } = await validate(validator, [broken]);
    assert.notEqual(code, 0, `a misspelt field passed validation:\n${output}`);
    assert.match(output, /terminationGraceSeconds/);
  });

  it('contain no CronJob', () => {
    assert.deepEqual(manifests.filter((manifest) => manifest.kind === 'CronJob').map((manifest) => manifest.metadata.name), []);
  });

  it('give workers more time than the SDK grace', () => {
    const source = readFileSync(join(REPOSITORY_ROOT, 'workers', 'create-worker.ts'), 'utf8');
    const match = /shutdownGraceTime: '(\d+) seconds'/.exec(source);
    assert.ok(match, 'shutdownGraceTime not found in workers/create-worker.ts; update this test to read it');
    const sdkGraceSeconds = Number(match[1]);
    for (const name of ['whorl-worker-gpu', 'whorl-worker-cpu']) {
      const spec = find<{ spec: { template: { spec: { terminationGracePeriodSeconds: number } } } }>(manifests, 'Deployment', name).spec.template.spec;
      assert.ok(spec.terminationGracePeriodSeconds > sdkGraceSeconds, `${name}: terminationGracePeriodSeconds ${spec.terminationGracePeriodSeconds} must exceed the SDK's ${sdkGraceSeconds} s`);
    }
  });

  it('request a GPU per GPU worker', () => {
    type Container = { resources: { limits: Record<string, unknown> }; env: Array<{ name: string; value?: string }> };
    const deployment = find<{ spec: { template: { spec: { containers: Container[] } } } }>(manifests, 'Deployment', 'whorl-worker-gpu');
    const [container] = deployment.spec.template.spec.containers;
    assert.equal(container.resources.limits['nvidia.com/gpu'], 1);
    const concurrency = container.env.find((variable) => variable.name === 'WHORL_MAX_CONCURRENT_ACTIVITIES');
    assert.equal(concurrency?.value, '1');
  });

  it('gate search readiness on /healthz', () => {
    type Container = { readinessProbe: { httpGet: { path: string } }; livenessProbe: { httpGet?: unknown } };
    const deployment = find<{ spec: { template: { spec: { containers: Container[] } } } }>(manifests, 'Deployment', 'whorl-search');
    const [container] = deployment.spec.template.spec.containers;
    assert.equal(container.readinessProbe.httpGet.path, '/healthz');
    assert.equal(container.livenessProbe.httpGet, undefined, 'liveness on /healthz would restart pods that are still loading an index');
  });

  it('embed a valid run config', () => {
    const configMap = find<{ data: Record<string, string> }>(manifests, 'ConfigMap', 'whorl-run-config');
    const folder = mkdtempSync(join(tmpdir(), 'whorl-run-config-'));
    const path = join(folder, 'run.yaml');
    writeFileSync(path, configMap.data['run.yaml']);
    const config = loadRunConfig(path);
    assert.deepEqual(config.queues, { gpu: 'whorl-gpu', cpu: 'whorl-cpu' });
  });

  it('document every connection variable', () => {
    const operations = readFileSync(join(REPOSITORY_ROOT, 'docs', 'operations.md'), 'utf8');
    const configMap = find<{ data: Record<string, string> }>(manifests, 'ConfigMap', 'whorl-connection');
    const secretKeys = Object.keys(find<{ stringData: Record<string, string> }>(manifests, 'Secret', 'whorl-credentials').stringData);
    for (const name of [...Object.keys(configMap.data), ...secretKeys, 'WHORL_MAX_CONCURRENT_ACTIVITIES', 'WHORL_TEMPORAL_TLS_CERT', 'WHORL_TEMPORAL_TLS_KEY', 'WHORL_TEMPORAL_TLS_CA']) {
      assert.ok(operations.includes(`\`${name}\``), `${name} is set by the manifests but not documented in docs/operations.md`);
    }
  });
});

describe('container build files', () => {
  const dockerfiles = readdirSync(IMAGE_DIR).filter((name) => name.endsWith('.Dockerfile'));

  it('exist for the worker and search images', () => {
    assert.deepEqual(dockerfiles.sort(), ['cpu.Dockerfile', 'worker-gpu.Dockerfile']);
    const cpu = readFileSync(join(IMAGE_DIR, 'cpu.Dockerfile'), 'utf8');
    assert.match(cpu, /^FROM runtime AS search$/m);
    assert.match(cpu, /^FROM runtime AS worker-cpu$/m);
  });

  // Docker cannot build here, so this checks what a build would need from the repository.
  for (const name of ['cpu.Dockerfile', 'worker-gpu.Dockerfile']) {
    it(`${name} copies only existing paths`, () => {
      const text = readFileSync(join(IMAGE_DIR, name), 'utf8');
      const sources = [...text.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((match) => match[1].trim().split(/\s+/));
      assert.ok(sources.length > 0, `${name} has no COPY from the build context`);
      for (const source of sources) assert.ok(existsSync(join(REPOSITORY_ROOT, source)), `${name} copies ${source}, which does not exist`);
      assert.match(text, /bash infra\/tensorflow\/install-native\.sh (cpu|gpu)/);
    });
  }
});
