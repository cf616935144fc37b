import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { runPipeline } from '../../src/cli/pipeline-command';
import { loadEnvironment } from '../../src/config/environment';
import { readPreparedManifest } from '../../src/datasets/manifest';
import { loadIndexVersion, requireCurrent } from '../../src/index/index-store';
import { silentLogger } from '../../src/logging';
import { connectClient } from '../../src/orchestration/client';
import { stackUp, stopService, type StackContext } from '../../src/stack/services';
import { loadStackVersions } from '../../src/stack/versions';
import { createStore } from '../../src/storage';
import type { PipelineProgress } from '../../workflows/stage-tracker';

function writeConfig(seed: number): string {
  const config = {
    name: 'pipeline-restart',
    seed,
    tracking: { experiment: 'whorl-tests' },
    data: {
      sources: [{ name: 'synthetic', layout: 'synthetic', synthetic: { fingers: 12, sensors: 2, impressionsPerFinger: 3 } }],
      imageSizePx: 48,
      splits: { galleryImpressionsPerFinger: 1, hashingEvalFraction: 0.34 },
    },
    hashing: { kinds: ['dh', 'lsh'], codeLengthsBits: [32], featureSizePx: 16, epochs: 30, indexed: { kind: 'lsh', codeLengthBits: 32 } },
    index: { name: 'pipeline-restart', shardCount: 2 },
  };
  const path = join(mkdtempSync(join(tmpdir(), 'whorl-restart-')), 'run.yaml');
  writeFileSync(path, stringify(config));
  return path;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('pipeline across a MinIO restart', function () {
  this.timeout(600_000);

  it('retries through the outage and publishes complete outputs', async () => {
    const environment = loadEnvironment();
    const context: StackContext = { cacheDir: environment.cacheDir, stateDir: environment.stateDir, versions: loadStackVersions(), host: '127.0.0.1', bucket: environment.s3.bucket, logger: silentLogger };
    const runKey = `restart-${Date.now()}`;
    const run = runPipeline({ configPath: writeConfig(Date.now() % 100_000), startStack: false, startWorkers: true, runKey });

    const client = await connectClient(environment);
    let restarted = false;
    try {
      // Stop MinIO as soon as the hashing stage starts, while its activity reads and writes objects.
      for (let attempt = 0; attempt < 600 && !restarted; attempt++) {
        await sleep(250);
        const progress = await client.workflow.getHandle(`pipeline-${runKey}`).query<PipelineProgress>('progress').catch(() => undefined);
        if (progress?.stages.find((stage) => stage.stage === 'hashing')?.status === 'running') {
          assert.ok(await stopService(context, 'minio'), 'MinIO should have been running');
          await sleep(5_000);
          await stackUp(context);
          restarted = true;
        }
      }
    } finally {
      await client.connection.close();
    }
    assert.ok(restarted, 'the hashing stage never started');

    const { summary } = await run;
    for (const stage of summary.progress.stages) assert.ok(stage.status === 'done' || stage.status === 'skipped', `${stage.stage} ended ${stage.status}`);

    // The outage was felt: some activity needed more than one attempt.
    const historyClient = await connectClient(environment);
    try {
      const history = await historyClient.workflow.getHandle(`pipeline-${runKey}`).fetchHistory();
      const attempts = (history.events ?? []).map((event) => event.activityTaskStartedEventAttributes?.attempt ?? 0);
      assert.ok(Math.max(...attempts) > 1, 'no activity was retried, so the restart did not overlap a stage');
    } finally {
      await historyClient.connection.close();
    }

    // Everything the run published reads back whole, checksums included.
    const store = createStore(environment);
    const manifest = await readPreparedManifest(store, summary.prepared.manifestKey);
    assert.equal(manifest.counts.images, summary.prepared.images);
    const index = await loadIndexVersion(store, await requireCurrent(store, 'pipeline-restart'));
    assert.equal(index.shards.reduce((sum, shard) => sum + (shard.contents?.ids.length ?? 0), 0), summary.index?.codes);
  });
});
