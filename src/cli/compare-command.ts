import { writeFile } from 'node:fs/promises';
import { Command } from 'commander';
import { loadEnvironment } from '../config/environment';
import { UserInputError } from '../config/errors';
import { renderChart } from '../reports/charts/render';
import { groupedBarChart } from '../reports/charts/specs';
import { SENSOR_RUN_TAGS, comparisonRows, comparisonTable, findSensorRunPairs, selectPairs } from '../sensors';
import { MlflowClient } from '../tracking';
import { buildComparisonPage, loadComparedRuns } from '../reports';

interface CompareOptions {
  experiment: string;
  pair?: string;
  dataVariant?: string;
  limit: string;
  out: string;
  runs?: string;
  html: string;
}

/** Writes the side-by-side HTML page of any MLflow runs, named by id or by run name within the experiment. */
async function writeRunComparison(client: MlflowClient, options: CompareOptions): Promise<void> {
  const references = (options.runs ?? '').split(',').map((reference) => reference.trim()).filter((reference) => reference !== '');
  const experimentId = await client.getExperimentByName(options.experiment);
  const runs = await loadComparedRuns(client, references, { experimentId });
  const page = await buildComparisonPage(runs);
  await writeFile(options.html, page.html);
  console.log(`wrote ${options.html}: ${runs.length} runs side by side`);
}

/** `whorl compare`: shallow vs deep sensor classifiers from MLflow, as a table and a PNG chart. */
export function compareCommand(): Command {
  return new Command('compare')
    .description('compare the shallow and deep sensor classifiers logged in MLflow (CCR, robustness, parameters, training time, backend), or any runs side by side with --runs')
    .option('--experiment <name>', 'MLflow experiment that holds the sensor runs', 'whorl-sensor')
    .option('--pair <key>', `compare only runs whose ${SENSOR_RUN_TAGS.pair} tag has this value`)
    .option('--data-variant <name>', 'compare only runs on this data variant: full or central-patch-on-white')
    .option('--limit <count>', 'number of newest pairs to show', '2')
    .option('--out <file>', 'PNG chart of CCR and robustness, one panel per pair', 'sensor-comparison.png')
    .option('--runs <ids>', 'comma-separated MLflow run ids or run names (within --experiment) to put side by side in an HTML page')
    .option('--html <file>', 'HTML page written for --runs', 'comparison.html')
    .action(async (options: CompareOptions) => {
      const limit = Number(options.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new UserInputError(`invalid --limit "${options.limit}": expected a positive integer`);

      const client = MlflowClient.fromEnvironment(loadEnvironment());
      if (options.runs !== undefined) {
        await writeRunComparison(client, options);
        return;
      }
      const experimentId = await client.getExperimentByName(options.experiment);
      if (experimentId === undefined) {
        throw new UserInputError(`MLflow experiment "${options.experiment}" not found at ${client.trackingUri}; train the sensor classifiers first or pass --experiment`);
      }
      const runs = await client.searchRuns({
        experimentIds: [experimentId],
        filter: `tags.\`${SENSOR_RUN_TAGS.stage}\` = 'sensor' AND attributes.status = 'FINISHED'`,
        orderBy: ['attributes.start_time DESC'],
      });
      const pairs = selectPairs(findSensorRunPairs(runs), { pairKey: options.pair, dataVariant: options.dataVariant, limit });

      const chartRows: Array<Record<string, string | number>> = [];
      for (const pair of pairs) {
        const rows = comparisonRows(pair);
        console.log(`\npair ${pair.pairKey}, data ${pair.dataVariant}\n`);
        console.log(comparisonTable(rows));
        for (const row of rows) {
          if (row.shallowValue === undefined && row.deepValue === undefined) continue;
          if (row.quantity.startsWith('CCR ') && row.quantity !== 'CCR (aggregate)') continue;
          const quantity = pairs.length > 1 ? `${row.quantity} [${pair.dataVariant}]` : row.quantity;
          if (row.shallowValue !== undefined) chartRows.push({ quantity, network: 'shallow', ccr: row.shallowValue });
          if (row.deepValue !== undefined) chartRows.push({ quantity, network: 'deep', ccr: row.deepValue });
        }
      }

      const spec = groupedBarChart({
        title: 'Sensor classification: shallow vs deep',
        rows: chartRows,
        category: { field: 'quantity', title: 'test condition' },
        group: { field: 'network', title: 'network', order: ['shallow', 'deep'] },
        value: { field: 'ccr', title: 'correct classification rate', percent: true },
      });
      // Keep the table's order (aggregate, rotations, occlusions, noise) instead of Vega-Lite's alphabetical one.
      const encoding = (spec as { encoding?: { x?: { sort?: null } } }).encoding;
      if (encoding?.x !== undefined) encoding.x.sort = null;
      const chart = await renderChart(spec);
      await writeFile(options.out, chart.png);
      console.log(`\nwrote ${options.out}`);
    });
}
