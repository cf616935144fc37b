// The workflow bundle's entry: every workflow a worker can run.
export { doctorWorkflow } from './doctor';
export { handoverProbeWorkflow } from './handover-probe';
