import { strict as assert } from 'node:assert';
import { loadEnvironment } from '../../src/config/environment';
import { loadRunConfig } from '../../src/config/run-config';
import { runDoctor } from '../../src/cli/doctor-command';
import { unusedPort } from '../support/stack';

describe('doctor workflow', () => {
  const config = loadRunConfig('configs/demo.yaml');

  it('passes on the local stack with one activity on each queue', async function () {
    this.timeout(180_000);
    const checks = await runDoctor(config);
    assert.deepEqual(checks.map((check) => check.component), ['temporal', 'storage', 'mlflow', 'tensors']);
    for (const check of checks) assert.ok(check.ok, `${check.component}: ${check.detail}`);
    const temporal = checks[0].detail;
    assert.match(temporal, /ran on whorl-cpu \(pid \d+\) and whorl-gpu \(pid \d+\)/);
  });

  it('blames Temporal alone when only Temporal is unreachable', async function () {
    this.timeout(180_000);
    const environment = { ...loadEnvironment(), temporal: { address: `127.0.0.1:${await unusedPort()}`, namespace: 'default' } };
    const checks = await runDoctor(config, environment);
    const byComponent = Object.fromEntries(checks.map((check) => [check.component, check]));
    assert.equal(byComponent.temporal.ok, false);
    assert.match(byComponent.temporal.detail, /cannot reach Temporal at 127\.0\.0\.1:\d+/);
    assert.equal(byComponent.storage.ok, true, byComponent.storage.detail);
    assert.equal(byComponent.mlflow.ok, true, byComponent.mlflow.detail);
  });
});
