import { Command } from 'commander';
import { UserInputError } from '../config/errors';
import { stackCommand } from './stack-command';
import { doctorCommand } from './doctor-command';
import { pipelineCommand } from './pipeline-command';
import { configCommand } from './config-command';
import { reportCommand } from './report-command';
import { indexCommand, searchCommand } from './index-command';
import { dataCommand } from './data-command';
import { compareCommand } from './compare-command';
import { reindexCommand } from './reindex-command';

const program = new Command('whorl')
  .description('learn compact binary codes for fingerprint images and search them at scale')
  .showHelpAfterError()
  .addCommand(stackCommand())
  .addCommand(doctorCommand())
  .addCommand(pipelineCommand())
  .addCommand(configCommand())
  .addCommand(reportCommand())
  .addCommand(indexCommand())
  .addCommand(searchCommand())
  .addCommand(dataCommand())
  .addCommand(compareCommand())
  .addCommand(reindexCommand());

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof UserInputError) {
    console.error(`error: ${error.message}`);
  } else {
    console.error(error instanceof Error ? `error: ${error.message}` : error);
    if (process.env.WHORL_DEBUG === '1' && error instanceof Error) console.error(error.stack);
  }
  process.exitCode = 1;
});
