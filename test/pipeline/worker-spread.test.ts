import { strict as assert } from 'node:assert';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPipeline } from '../../src/cli/pipeline-command';
import { loadEnvironment } from '../../src/config/environment';
import { connectClient } from '../../src/orchestration/client';
import { startWorkerProcess, stopWorkerProcess, type WorkerProcess } from '../../src/orchestration/worker-processes';
import { writeTinyPipelineConfig } from './tiny-config';

/** Writes a tiny pipeline config whose prepared data set has six shards, so the encode stage fans out six ways. */
function writeConfig(seed: number): string {
  return writeTinyPipelineConfig('pipeline-spread', seed, {
    data: {
      sources: [{ name: 'synthetic', layout: 'synthetic', synthetic: { fingers: 12, sensors: 2, impressionsPerFinger: 3 } }],
      imageSizePx: 48,
      rowsPerShard: 12,
      splits: { galleryImpressionsPerFinger: 1, hashingEvalFraction: 0.34 },
    },
  });
}

describe('pipeline on three worker processes', function () {
  this.timeout(600_000);
  const workers: WorkerProcess[] = [];

  after(async () => {
    await Promise.all(workers.map((worker) => stopWorkerProcess(worker)));
  });

  it('spreads the encode fan-out over both GPU-class workers', async () => {
    // A fresh seed means no cached stage output matches, so every encode activity really runs.
    const configPath = writeConfig(Date.now() % 100_000);
    const logDir = mkdtempSync(join(tmpdir(), 'whorl-spread-logs-'));
    for (const [queueClass, label] of [['gpu', 'gpu-a'], ['gpu', 'gpu-b'], ['cpu', 'cpu-a']] as const) {
      workers.push(startWorkerProcess({ queueClass, configPath, logDir, label }));
    }
    await Promise.all(workers.map((worker) => worker.ready));

    const runKey = `spread-${Date.now()}`;
    await runPipeline({ configPath, startStack: false, startWorkers: false, runKey });

    const client = await connectClient(loadEnvironment());
    try {
      const history = await client.workflow.getHandle(`pipeline-${runKey}`).fetchHistory();
      const typeByScheduledId = new Map<string, string>();
      const identitiesByType = new Map<string, Set<string>>();
      for (const event of history.events ?? []) {
        const scheduled = event.activityTaskScheduledEventAttributes;
        if (scheduled?.activityType?.name) typeByScheduledId.set(String(event.eventId), scheduled.activityType.name);
        const started = event.activityTaskStartedEventAttributes;
        if (started?.identity) {
          const type = typeByScheduledId.get(String(started.scheduledEventId)) ?? 'unknown';
          if (!identitiesByType.has(type)) identitiesByType.set(type, new Set());
          identitiesByType.get(type)?.add(started.identity);
        }
      }
      const gpuPids = workers.filter((worker) => worker.queueClass === 'gpu').map((worker) => String(worker.child.pid));
      const encoders = [...(identitiesByType.get('encodeGalleryShard') ?? [])];
      assert.equal(encoders.length, 2, `encode activities ran on ${encoders.join(', ')}`);
      for (const pid of gpuPids) assert.ok(encoders.some((identity) => identity.startsWith(`${pid}@`)), `GPU worker ${pid} ran no encode activity`);
      const cpuPid = String(workers.find((worker) => worker.queueClass === 'cpu')?.child.pid);
      for (const identity of identitiesByType.get('buildGalleryIndex') ?? []) assert.ok(identity.startsWith(`${cpuPid}@`), `index built on ${identity}`);
    } finally {
      await client.connection.close();
    }
  });
});
