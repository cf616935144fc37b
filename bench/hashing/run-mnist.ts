/**
 * MNIST hashing benchmark: every whorl hasher and FAISS's ITQ and LSH on the
 * same split, scored by the same metrics code.
 *
 * Usage: npx tsx bench/hashing/run-mnist.ts [--bits 16,32,64] [--hashers dh,itq,...]
 *        [--epochs 20] [--supervised-epochs 10] [--no-faiss] [--json PATH]
 *
 * Protocol: the 10,000 MNIST test images as raw pixels in [0, 1], shuffled
 * with seed 7. The first 1,000 are queries and the other 9,000 the database,
 * which is also the training set. Relevance is same class. DH and supervised
 * DH see the pixels after PCA to 128 dimensions, inside the hasher.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserInputError } from '../../src/config/errors';
import { createPackedCodes, type PackedCodes } from '../../src/hashing/codes';
import { createHasher, type HasherOptionsByKind } from '../../src/hashing/create-hasher';
import { selectRows, type FeatureMatrix } from '../../src/hashing/feature-matrix';
import { HASHER_KINDS, type HasherKind } from '../../src/hashing/hasher';
import { bitStatistics, evaluateRetrieval } from '../../src/hashing/metrics';
import { SeededRandom } from '../../src/hashing/random';
import { loadMnist } from './mnist';

const MNIST_FOLDER = join(__dirname, '..', '..', '..', 'shared', 'datasets', 'mnist');
const SPLIT_SEED = 7;
const HASHER_SEED = 0;
const QUERY_COUNT = 1000;

interface BenchmarkOptions {
  codeLengthsBits: number[];
  hasherKinds: HasherKind[];
  epochCount: number;
  supervisedEpochCount: number;
  runFaiss: boolean;
  jsonPath: string | undefined;
}

interface ResultRow {
  method: string;
  codeLengthBits: number;
  meanAveragePrecision: number;
  precisionAt100: number;
  precisionWithinRadius2: number;
  meanBalanceError: number;
  meanAbsoluteCorrelation: number;
  trainSeconds: number | undefined;
}

function parseArguments(argv: string[]): BenchmarkOptions {
  const options: BenchmarkOptions = { codeLengthsBits: [16, 32, 64], hasherKinds: [...HASHER_KINDS], epochCount: 20, supervisedEpochCount: 10, runFaiss: true, jsonPath: undefined };
  for (let index = 0; index < argv.length; index++) {
    const flag = argv[index];
    const value = argv[index + 1];
    if (flag === '--no-faiss') {
      options.runFaiss = false;
      continue;
    }
    if (value === undefined) {
      throw new UserInputError(`option ${flag} is missing its value. See the usage line at the top of run-mnist.ts`);
    }
    index++;
    if (flag === '--bits') {
      options.codeLengthsBits = value.split(',').map(Number);
    } else if (flag === '--hashers') {
      options.hasherKinds = value.split(',') as HasherKind[];
    } else if (flag === '--epochs') {
      options.epochCount = Number(value);
    } else if (flag === '--supervised-epochs') {
      options.supervisedEpochCount = Number(value);
    } else if (flag === '--json') {
      options.jsonPath = value;
    } else {
      throw new UserInputError(`unknown option ${flag}: expected --bits, --hashers, --epochs, --supervised-epochs, --json or --no-faiss`);
    }
  }
  return options;
}

function hasherOptions(kind: HasherKind, codeLengthBits: number, options: BenchmarkOptions): HasherOptionsByKind[HasherKind] {
  if (kind === 'dh') {
    return { codeLengthBits, seed: HASHER_SEED, epochCount: options.epochCount };
  }
  if (kind === 'supervised-dh') {
    return { codeLengthBits, seed: HASHER_SEED, epochCount: options.supervisedEpochCount };
  }
  return { codeLengthBits, seed: HASHER_SEED };
}

function score(method: string, queries: PackedCodes, database: PackedCodes, queryLabels: Int32Array, databaseLabels: Int32Array, trainSeconds?: number): ResultRow {
  const report = evaluateRetrieval({ queries, database, queryLabels, databaseLabels, precisionCutoffs: [100], hammingRadius: 2 });
  const stats = bitStatistics(database);
  return {
    method,
    codeLengthBits: queries.codeLengthBits,
    meanAveragePrecision: report.meanAveragePrecision,
    precisionAt100: report.precisionAtK[0].precision,
    precisionWithinRadius2: report.precisionWithinRadius.precision,
    meanBalanceError: stats.meanBalanceError,
    meanAbsoluteCorrelation: stats.meanAbsoluteCorrelation,
    trainSeconds,
  };
}

/** Runs faiss_anchor.py on the split and returns its codes per method and length. */
function runFaiss(split: { train: FeatureMatrix; query: FeatureMatrix; database: FeatureMatrix }, codeLengthsBits: number[]): { method: string; codeLengthBits: number; query: PackedCodes; database: PackedCodes }[] {
  const python = process.env.WHORL_FAISS_PYTHON ?? join(homedir(), '.cache', 'whorl', 'venvs', 'faiss-bench', 'bin', 'python');
  if (!existsSync(python)) {
    throw new UserInputError(`FAISS Python not found at ${python}: run bench/hashing/setup-faiss-venv.sh, set WHORL_FAISS_PYTHON, or pass --no-faiss`);
  }
  const folder = mkdtempSync(join(tmpdir(), 'whorl-faiss-'));
  try {
    const write = (name: string, matrix: FeatureMatrix): void => writeFileSync(join(folder, `${name}.f32`), Buffer.from(matrix.data.buffer, matrix.data.byteOffset, matrix.data.byteLength));
    write('train', split.train);
    write('query', split.query);
    write('database', split.database);
    writeFileSync(
      join(folder, 'meta.json'),
      JSON.stringify({ dimension: split.train.columnCount, trainRows: split.train.rowCount, queryRows: split.query.rowCount, databaseRows: split.database.rowCount, codeLengthsBits }),
    );
    execFileSync(python, [join(__dirname, 'faiss_anchor.py'), folder], { stdio: 'inherit' });

    const manifest = JSON.parse(readFileSync(join(folder, 'faiss-results.json'), 'utf8')) as { faissVersion: string; codes: { method: string; codeLengthBits: number }[] };
    console.error(`faiss ${manifest.faissVersion}`);
    return manifest.codes.map(({ method, codeLengthBits }) => {
      const read = (part: string, count: number): PackedCodes => createPackedCodes(new Uint8Array(readFileSync(join(folder, `${method}-${codeLengthBits}-${part}.u8`))), count, codeLengthBits);
      return { method, codeLengthBits, query: read('query', split.query.rowCount), database: read('database', split.database.rowCount) };
    });
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

function formatTable(rows: ResultRow[], codeLengthsBits: number[]): string {
  const methods = [...new Set(rows.map((row) => row.method))];
  const cell = (method: string, bits: number, pick: (row: ResultRow) => number): string => {
    const row = rows.find((candidate) => candidate.method === method && candidate.codeLengthBits === bits);
    return row === undefined ? '–' : pick(row).toFixed(4);
  };
  const header = `| method | ${codeLengthsBits.map((bits) => `mAP ${bits}`).join(' | ')} | ${codeLengthsBits.map((bits) => `P@100 ${bits}`).join(' | ')} | ${codeLengthsBits.map((bits) => `P(r≤2) ${bits}`).join(' | ')} |`;
  const rule = `|${'---|'.repeat(1 + 3 * codeLengthsBits.length)}`;
  const lines = methods.map(
    (method) =>
      `| ${method} | ${codeLengthsBits.map((bits) => cell(method, bits, (row) => row.meanAveragePrecision)).join(' | ')} | ` +
      `${codeLengthsBits.map((bits) => cell(method, bits, (row) => row.precisionAt100)).join(' | ')} | ` +
      `${codeLengthsBits.map((bits) => cell(method, bits, (row) => row.precisionWithinRadius2)).join(' | ')} |`,
  );
  return [header, rule, ...lines].join('\n');
}

async function main(): Promise<void> {
  const options = parseArguments(process.argv.slice(2));
  const mnist = loadMnist(join(MNIST_FOLDER, 't10k-images-idx3-ubyte.gz'), join(MNIST_FOLDER, 't10k-labels-idx1-ubyte.gz'));
  const order = new SeededRandom(SPLIT_SEED).shuffle(Int32Array.from({ length: mnist.images.rowCount }, (_, index) => index));
  const queryRows = order.subarray(0, QUERY_COUNT);
  const databaseRows = order.subarray(QUERY_COUNT);
  const query = selectRows(mnist.images, queryRows);
  const database = selectRows(mnist.images, databaseRows);
  const queryLabels = Int32Array.from(queryRows, (row) => mnist.labels[row]);
  const databaseLabels = Int32Array.from(databaseRows, (row) => mnist.labels[row]);
  console.error(`MNIST split: ${query.rowCount} queries, ${database.rowCount} database and training rows, ${database.columnCount} pixels`);

  const rows: ResultRow[] = [];
  if (options.runFaiss) {
    const startedAt = Date.now();
    for (const result of runFaiss({ train: database, query, database }, options.codeLengthsBits)) {
      rows.push(score(result.method, result.query, result.database, queryLabels, databaseLabels));
    }
    console.error(`faiss anchor finished in ${((Date.now() - startedAt) / 1000).toFixed(1)} s (training and encoding, all lengths)`);
  }

  for (const kind of options.hasherKinds) {
    for (const codeLengthBits of options.codeLengthsBits) {
      const hasher = createHasher(kind, hasherOptions(kind, codeLengthBits, options));
      const startedAt = Date.now();
      await hasher.train(database, { labels: databaseLabels });
      const trainSeconds = (Date.now() - startedAt) / 1000;
      const row = score(kind, await hasher.encode(query), await hasher.encode(database), queryLabels, databaseLabels, trainSeconds);
      rows.push(row);
      console.error(`${kind} ${codeLengthBits} bits: mAP ${row.meanAveragePrecision.toFixed(4)}, trained in ${trainSeconds.toFixed(1)} s`);
    }
  }

  console.log(formatTable(rows, options.codeLengthsBits));
  if (options.jsonPath !== undefined) {
    writeFileSync(options.jsonPath, JSON.stringify(rows, null, 2));
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
