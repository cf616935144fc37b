import { Command } from 'commander';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { loadEnvironment } from '../config/environment';
import { loadRunConfig } from '../config/run-config';
import { buildReport, loadRunReport, publishReport, reportKeys, type ReportTracking } from '../reports';
import { createStore } from '../storage';
import { MlflowClient } from '../tracking';

interface ReportOptions {
  config: string;
  out?: string;
  publish: boolean;
  tracking: boolean;
}

/**
 * `whorl report <runKey>`: rebuilds a run's HTML report from the
 * `reports/<runKey>/run-report.json` that the pipeline stored, publishes it
 * next to that file and to the run's MLflow artifacts, and can also write it
 * to a local file.
 */
export function reportCommand(): Command {
  return new Command('report')
    .description('rebuild the HTML report of a pipeline run from its stored run-report.json')
    .argument('<runKey>', 'run key, the folder name under reports/ in object storage')
    .option('-c, --config <file>', 'run config whose storage holds the run', 'configs/demo.yaml')
    .option('-o, --out <file>', 'also write the HTML report to this local file')
    .option('--no-publish', 'do not write the report back to object storage or MLflow')
    .option('--no-tracking', 'do not log the report as an MLflow artifact')
    .action(async (runKey: string, options: ReportOptions) => {
      const config = loadRunConfig(options.config);
      const environment = loadEnvironment();
      const store = createStore(environment, config.storage);

      const runReport = await loadRunReport(store, runKey);
      const built = await buildReport(runReport);

      if (options.out !== undefined) {
        const path = resolve(options.out);
        await writeFile(path, built.html);
        console.log(`report written to ${path}`);
      }
      if (!options.publish) {
        if (options.out === undefined) console.log(`report built with ${Object.keys(built.images).length} plots but not written: pass --out FILE or drop --no-publish`);
        return;
      }

      let tracking: ReportTracking | undefined;
      const mlflowRunId = runReport.tracking?.runId;
      if (options.tracking && mlflowRunId !== undefined) {
        const client = MlflowClient.fromEnvironment(environment);
        tracking = { client, run: (await client.getRun(mlflowRunId)).info };
      }
      const published = await publishReport(store, runKey, built, tracking);
      console.log(`report published to ${store.location}/${reportKeys(runKey).html} with ${Object.keys(built.images).length} plots`);
      if (published.artifactUri !== undefined) console.log(`report logged to MLflow run ${mlflowRunId} as ${published.artifactUri}`);
    });
}
