export * from './run-report';
export { parseRunReport, parseRunReportJson, serializeRunReport, runReportSchema } from './run-report-json';
export { buildReport, type BuiltReport, type ReportImage } from './build-report';
export {
  loadRunReport,
  publishReport,
  reportKeys,
  reportRun,
  storeRunReport,
  REPORT_ARTIFACT_PATH,
  type PublishedReport,
  type ReportTracking,
} from './publish';
export { retrievalResultFromReport, stageRecordFromTracked, type TrackedStage } from './adapters';
export { buildComparisonPage, loadComparedRuns, type ComparedRun } from './compare';
