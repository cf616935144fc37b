/**
 * Measures image search on an index that `whorl pipeline run` built. Every
 * held-out impression (retrieval role `probe`) is read from its source file,
 * encoded with the index's model version and searched, as
 * `whorl search --image FILE --k K` does. The script reports the share of
 * probes whose finger is among the first K gallery entries, for all probes
 * and for the probes of the evaluation fingers (hashing split `eval`). The
 * hashers never see those fingers unless the config sets
 * `hashing.trainOn: gallery`, which trains on their gallery prints too.
 *
 * For a sample of probes the real CLI runs as well, and its matches must equal
 * the in-process ones, so the figures are those of `whorl search --image`.
 *
 *   npx tsx bench/pipeline/fvc-search.ts --config configs/fvc-samples.yaml [--k 10] [--cli-checks 5] [--json FILE]
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { loadEnvironment } from '../../src/config/environment';
import { loadRunConfig } from '../../src/config/run-config';
import { readPreparedImages, type PreparedImage } from '../../src/datasets';
import { silentLogger } from '../../src/logging';
import { encodeQueryImage, loadEncoderChain } from '../../src/pipeline/query-encoder';
import { stagePrefix } from '../../src/pipeline/stage-cache';
import { ShardedSearcher } from '../../src/search';
import { S3Store, type ObjectStore } from '../../src/storage';
import { initializeTensorBackend } from '../../src/tensors';

// The AWS SDK prints a Node 20 deprecation warning, which is noise in this report.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const REPOSITORY_ROOT = join(__dirname, '..', '..');

interface ProbeOutcome {
  id: string;
  identity: string;
  hashingSplit: string;
  path: string;
  /** One-based rank of the first gallery entry of the probe's finger within the first k, or null when absent. */
  rank: number | null;
  matches: Array<{ identity: string; distance: number }>;
}

interface Tally {
  probes: number;
  found: number;
  rank1: number;
}

/** Converts a source key of a local source (a `file://` URL or a path) to a file path. */
function sourcePath(image: PreparedImage): string {
  return image.sourceKey.startsWith('file://') ? fileURLToPath(image.sourceKey) : image.sourceKey;
}

/** Reads which prepared data set trained model version `modelVersion` (a hashing stage key); its probes are the queries. */
async function trainingManifestKey(store: ObjectStore, modelVersion: string): Promise<string> {
  const record = JSON.parse(Buffer.from(await store.get(`${stagePrefix('hashing', modelVersion)}stage-result.json`)).toString('utf8')) as { keyInput: { inputs: { prepared: string } } };
  return record.keyInput.inputs.prepared;
}

function identityOfLabel(label: string | null | undefined): string {
  if (label === null || label === undefined) return '';
  return (JSON.parse(label) as { identity: string }).identity;
}

function tally(outcomes: ProbeOutcome[]): Tally {
  return {
    probes: outcomes.length,
    found: outcomes.filter((outcome) => outcome.rank !== null).length,
    rank1: outcomes.filter((outcome) => outcome.rank === 1).length,
  };
}

function percent(part: number, whole: number): string {
  return whole === 0 ? 'n/a' : `${((100 * part) / whole).toFixed(1)}%`;
}

/** Runs `whorl search --image FILE --k K --json` and returns the identities and distances it prints. */
async function searchWithCli(indexName: string, imagePath: string, k: number): Promise<Array<{ identity: string; distance: number }>> {
  const { stdout } = await promisify(execFile)(process.execPath, [join(REPOSITORY_ROOT, 'scripts', 'whorl.cjs'), 'search', '--name', indexName, '--image', imagePath, '--k', String(k), '--json'], {
    cwd: REPOSITORY_ROOT,
    maxBuffer: 16 * 1024 * 1024,
  });
  const printed = JSON.parse(stdout) as { matches: Array<{ label: string | null; distance: number }> };
  return printed.matches.map((match) => ({ identity: identityOfLabel(match.label), distance: match.distance }));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      config: { type: 'string' },
      k: { type: 'string', default: '10' },
      'cli-checks': { type: 'string', default: '5' },
      json: { type: 'string' },
    },
  });
  if (values.config === undefined) throw new Error('missing --config FILE: the run config whose index to search');
  const k = Number(values.k);
  const cliChecks = Number(values['cli-checks']);
  if (!Number.isInteger(k) || k < 1) throw new Error(`invalid --k ${values.k}: expected a positive integer`);
  if (!Number.isInteger(cliChecks) || cliChecks < 0) throw new Error(`invalid --cli-checks ${values['cli-checks']}: expected a non-negative integer`);

  const config = loadRunConfig(values.config);
  const indexName = config.index?.name;
  if (indexName === undefined) throw new Error(`config ${values.config} has no index section, so no index to search`);

  await initializeTensorBackend({ logger: silentLogger });
  const store = new S3Store(loadEnvironment().s3);
  const searcher = new ShardedSearcher({ store, indexName });
  const outcomes: ProbeOutcome[] = [];
  try {
    await searcher.refresh();
    const manifest = searcher.published?.manifest;
    if (manifest?.modelVersion === null || manifest?.modelVersion === undefined) {
      throw new Error(`index ${indexName} records no model version; run the pipeline with this config first`);
    }
    const chain = await loadEncoderChain(store, manifest.modelVersion, manifest.codeLengthBits);
    const probes = (await readPreparedImages(store, await trainingManifestKey(store, manifest.modelVersion))).filter((image) => image.retrievalRole === 'probe');
    console.log(`index ${indexName} version ${searcher.published?.version}: ${manifest.liveCount} gallery codes, ${probes.length} probes`);

    for (const probe of probes) {
      const path = sourcePath(probe);
      const { code } = await encodeQueryImage(chain, await readFile(path));
      const result = await searcher.search(code, k);
      const matches = result.ids[0].map((_, i) => ({ identity: identityOfLabel(result.labels[0][i]), distance: result.distances[0][i] }));
      const index = matches.findIndex((match) => match.identity === probe.identity);
      outcomes.push({ id: probe.id, identity: probe.identity, hashingSplit: probe.hashingSplit, path, rank: index === -1 ? null : index + 1, matches });
    }
  } finally {
    await searcher.close();
  }

  // The CLI must print the same matches as the in-process search, so the share below is that of `whorl search --image`.
  const step = Math.max(1, Math.floor(outcomes.length / Math.max(1, cliChecks)));
  let checked = 0;
  for (let row = 0; row < outcomes.length && checked < cliChecks; row += step, checked++) {
    const outcome = outcomes[row];
    const cli = await searchWithCli(indexName, outcome.path, k);
    if (JSON.stringify(cli) !== JSON.stringify(outcome.matches)) {
      throw new Error(`whorl search --image ${outcome.path} printed ${JSON.stringify(cli)}, but the in-process search gave ${JSON.stringify(outcome.matches)}`);
    }
  }

  const heldOut = tally(outcomes.filter((outcome) => outcome.hashingSplit === 'eval'));
  const all = tally(outcomes);
  console.log(`probes of the evaluation fingers (hashing split "eval"): ${percent(heldOut.found, heldOut.probes)} have their finger in the top ${k} (${heldOut.found} of ${heldOut.probes}), rank-1 ${percent(heldOut.rank1, heldOut.probes)}`);
  console.log(`all probes: ${percent(all.found, all.probes)} in the top ${k} (${all.found} of ${all.probes}), rank-1 ${percent(all.rank1, all.probes)}`);
  console.log(`whorl search --image printed the same matches as the in-process search for ${checked} probe(s)`);
  if (values.json !== undefined) {
    await mkdir(dirname(values.json), { recursive: true });
    await writeFile(values.json, JSON.stringify({ indexName, k, heldOut, all, cliChecks: checked, outcomes }, null, 2));
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
