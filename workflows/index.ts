// The workflow bundle's entry: every workflow a worker can run.
export { doctorWorkflow } from './doctor';
export { handoverProbeWorkflow } from './handover-probe';
export { prepareDatasetsWorkflow } from './prepare-datasets';
export { trainingPipeline } from './training-pipeline';
export { reindexWorkflow } from './reindex';
