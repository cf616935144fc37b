import { EndpointUnreachableError } from '../config/errors';
import { S3Store } from '../storage/s3-store';
import type { Environment } from '../config/environment';

/** Tag that MLflow's UI and search use to link a child run to its parent. */
export const PARENT_RUN_TAG = 'mlflow.parentRunId';
/** Search filter clause for runs that have not finished, such as the run of an interrupted training attempt. */
export const UNFINISHED_RUN_FILTER = "attributes.status != 'FINISHED'";
/** Tag prefix that records a param whose value changed in a resumed run (see `logParamsOnce`). */
export const PARAM_CHANGED_TAG_PREFIX = 'whorl.param_changed.';

export type RunStatus = 'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED';

export interface Metric {
  key: string;
  value: number;
  /** Milliseconds since the Unix epoch; defaults to now. */
  timestampMs?: number;
  step?: number;
}

export interface RunInfo {
  runId: string;
  experimentId: string;
  runName: string;
  status: RunStatus;
  artifactUri: string;
  startTimeMs: number;
  endTimeMs?: number;
}

export interface Run {
  info: RunInfo;
  params: Record<string, string>;
  tags: Record<string, string>;
  /** Latest value of each metric. */
  metrics: Record<string, number>;
}

/**
 * Errors of a connection that closed under a request. Node's fetch reuses
 * kept-alive connections, and the tracking server may close an idle one just
 * as a request goes out, so such a request is sent again on a new connection,
 * up to CLOSED_CONNECTION_ATTEMPTS times in all. A refused connection is not
 * retried, so a stopped server fails at once.
 */
const CLOSED_CONNECTION_CODES = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);
const CLOSED_CONNECTION_ATTEMPTS = 3;

export interface MlflowClientOptions {
  trackingUri: string;
  /** Bearer token (MLFLOW_TRACKING_TOKEN) or basic-auth pair; never logged. */
  token?: string;
  username?: string;
  password?: string;
  /** Used to upload artifacts to s3:// artifact locations. */
  s3?: Environment['s3'];
  requestTimeoutMs?: number;
}

/** MLflow's REST limits per log-batch request. */
const MAX_METRICS_PER_BATCH = 1000;
const MAX_PARAMS_PER_BATCH = 100;
const MAX_TAGS_PER_BATCH = 100;

export class MlflowRequestError extends Error {
  override readonly name = 'MlflowRequestError';
  constructor(readonly path: string, readonly status: number, readonly errorCode: string, detail: string) {
    super(`MLflow request ${path} failed with HTTP ${status} ${errorCode}: ${detail}`);
  }
}

interface RawRun {
  info: { run_id: string; experiment_id: string; run_name?: string; status: RunStatus; artifact_uri: string; start_time: string | number; end_time?: string | number };
  data: { params?: Array<{ key: string; value: string }>; tags?: Array<{ key: string; value: string }>; metrics?: Array<{ key: string; value: number }> };
}

function toRun(raw: RawRun): Run {
  const fromPairs = <T>(pairs: Array<{ key: string; value: T }> | undefined): Record<string, T> =>
    Object.fromEntries((pairs ?? []).map((pair) => [pair.key, pair.value]));
  return {
    info: {
      runId: raw.info.run_id,
      experimentId: raw.info.experiment_id,
      runName: raw.info.run_name ?? '',
      status: raw.info.status,
      artifactUri: raw.info.artifact_uri,
      startTimeMs: Number(raw.info.start_time),
      endTimeMs: raw.info.end_time === undefined ? undefined : Number(raw.info.end_time),
    },
    params: fromPairs(raw.data.params),
    tags: fromPairs(raw.data.tags),
    metrics: fromPairs(raw.data.metrics),
  };
}

/**
 * JSON has no NaN or infinities, so they travel as the strings "NaN",
 * "Infinity" and "-Infinity", which the protobuf JSON mapping that MLflow's
 * REST API parses accepts for double fields.
 */
function jsonNumber(value: number): number | string {
  if (Number.isFinite(value)) return value;
  if (Number.isNaN(value)) return 'NaN';
  return value > 0 ? 'Infinity' : '-Infinity';
}

function chunks<T>(items: T[], size: number): T[][] {
  const result: T[][] = [];
  for (let start = 0; start < items.length; start += size) result.push(items.slice(start, start + size));
  return result;
}

/**
 * A typed client for the MLflow tracking server's REST API (2.0 endpoints).
 * Artifacts go straight to the run's artifact location when it is an s3://
 * URI, and through the server's artifact proxy when it is mlflow-artifacts:/.
 */
export class MlflowClient {
  private readonly baseUrl: string;

  constructor(private readonly options: MlflowClientOptions) {
    this.baseUrl = options.trackingUri.replace(/\/+$/, '');
  }

  static fromEnvironment(environment: Environment, env: NodeJS.ProcessEnv = process.env): MlflowClient {
    return new MlflowClient({
      trackingUri: environment.mlflow.uri,
      token: env.MLFLOW_TRACKING_TOKEN,
      username: env.MLFLOW_TRACKING_USERNAME,
      password: env.MLFLOW_TRACKING_PASSWORD,
      s3: environment.s3,
    });
  }

  get trackingUri(): string {
    return this.baseUrl;
  }

  /** Returns the experiment id for `name`, creating the experiment if needed. */
  async getOrCreateExperiment(name: string, options: { artifactLocation?: string } = {}): Promise<string> {
    const found = await this.getExperimentByName(name);
    if (found !== undefined) return found;
    try {
      const created = await this.request<{ experiment_id: string }>('POST', '/api/2.0/mlflow/experiments/create', {
        name,
        artifact_location: options.artifactLocation,
      });
      return created.experiment_id;
    } catch (error) {
      // Another process may have created it between the lookup and the create.
      if (error instanceof MlflowRequestError && error.errorCode === 'RESOURCE_ALREADY_EXISTS') {
        const existing = await this.getExperimentByName(name);
        if (existing !== undefined) return existing;
      }
      throw error;
    }
  }

  async getExperimentByName(name: string): Promise<string | undefined> {
    try {
      const response = await this.request<{ experiment: { experiment_id: string } }>(
        'GET',
        `/api/2.0/mlflow/experiments/get-by-name?experiment_name=${encodeURIComponent(name)}`,
      );
      return response.experiment.experiment_id;
    } catch (error) {
      if (error instanceof MlflowRequestError && error.errorCode === 'RESOURCE_DOES_NOT_EXIST') return undefined;
      throw error;
    }
  }

  /** Starts a run; pass `parentRunId` for a nested run. */
  async createRun(options: { experimentId: string; runName?: string; tags?: Record<string, string>; parentRunId?: string }): Promise<RunInfo> {
    const tags = { ...options.tags, ...(options.parentRunId !== undefined ? { [PARENT_RUN_TAG]: options.parentRunId } : {}) };
    const response = await this.request<{ run: RawRun }>('POST', '/api/2.0/mlflow/runs/create', {
      experiment_id: options.experimentId,
      run_name: options.runName,
      start_time: Date.now(),
      tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
    });
    return toRun(response.run).info;
  }

  async endRun(runId: string, status: RunStatus = 'FINISHED'): Promise<void> {
    await this.request('POST', '/api/2.0/mlflow/runs/update', { run_id: runId, status, end_time: Date.now() });
  }

  /** Logs metrics, params and tags, split into as many requests as MLflow's per-request limits need. */
  async logBatch(runId: string, batch: { metrics?: Metric[]; params?: Record<string, string | number | boolean>; tags?: Record<string, string> }): Promise<void> {
    // One timestamp for every attempt: MLflow stores a point with the same key, step, timestamp and value only once, so a resent batch adds nothing.
    const now = Date.now();
    const metrics = (batch.metrics ?? []).map((metric) => ({
      key: metric.key,
      value: jsonNumber(metric.value),
      timestamp: metric.timestampMs ?? now,
      step: metric.step ?? 0,
    }));
    const params = Object.entries(batch.params ?? {}).map(([key, value]) => ({ key, value: String(value) }));
    const tags = Object.entries(batch.tags ?? {}).map(([key, value]) => ({ key, value }));
    const requests = Math.max(
      1,
      Math.ceil(metrics.length / MAX_METRICS_PER_BATCH),
      Math.ceil(params.length / MAX_PARAMS_PER_BATCH),
      Math.ceil(tags.length / MAX_TAGS_PER_BATCH),
    );
    const metricChunks = chunks(metrics, MAX_METRICS_PER_BATCH);
    const paramChunks = chunks(params, MAX_PARAMS_PER_BATCH);
    const tagChunks = chunks(tags, MAX_TAGS_PER_BATCH);
    for (let index = 0; index < requests; index++) {
      await this.request('POST', '/api/2.0/mlflow/runs/log-batch', {
        run_id: runId,
        metrics: metricChunks[index] ?? [],
        params: paramChunks[index] ?? [],
        tags: tagChunks[index] ?? [],
      });
    }
  }

  async logMetric(runId: string, key: string, value: number, step = 0): Promise<void> {
    await this.logBatch(runId, { metrics: [{ key, value, step }] });
  }

  async logParams(runId: string, params: Record<string, string | number | boolean>): Promise<void> {
    await this.logBatch(runId, { params });
  }

  /**
   * Logs params into a run that may already contain some of them, as a
   * resumed training run does. MLflow rejects a change to a logged param, so
   * a param already logged keeps its first value. A different new value goes into
   * the tag `whorl.param_changed.<key>` as "old → new", for example when a
   * retry runs on a worker with another tensor backend. Returns the keys
   * whose value changed.
   */
  async logParamsOnce(runId: string, params: Record<string, string | number | boolean>): Promise<string[]> {
    const logged = (await this.getRun(runId)).params;
    const fresh: Record<string, string> = {};
    const changes: Record<string, string> = {};
    for (const [key, raw] of Object.entries(params)) {
      const value = String(raw);
      const first = logged[key];
      if (first === undefined) fresh[key] = value;
      else if (first !== value) changes[`${PARAM_CHANGED_TAG_PREFIX}${key}`] = `${first} → ${value}`;
    }
    await this.logBatch(runId, { params: fresh, tags: changes });
    return Object.keys(changes).map((tag) => tag.slice(PARAM_CHANGED_TAG_PREFIX.length));
  }

  async setTags(runId: string, tags: Record<string, string>): Promise<void> {
    await this.logBatch(runId, { tags });
  }

  async getRun(runId: string): Promise<Run> {
    const response = await this.request<{ run: RawRun }>('GET', `/api/2.0/mlflow/runs/get?run_id=${encodeURIComponent(runId)}`);
    return toRun(response.run);
  }

  /** Returns every logged value of one metric, in step order, following pagination. */
  async getMetricHistory(runId: string, key: string): Promise<Array<Required<Metric>>> {
    const history: Array<Required<Metric>> = [];
    let pageToken: string | undefined;
    do {
      const query = new URLSearchParams({ run_id: runId, metric_key: key, max_results: '1000' });
      if (pageToken !== undefined) query.set('page_token', pageToken);
      const response = await this.request<{ metrics?: Array<{ key: string; value: number; timestamp: string | number; step?: string | number }>; next_page_token?: string }>(
        'GET',
        `/api/2.0/mlflow/metrics/get-history?${query.toString()}`,
      );
      for (const metric of response.metrics ?? []) {
        history.push({ key: metric.key, value: metric.value, timestampMs: Number(metric.timestamp), step: Number(metric.step ?? 0) });
      }
      pageToken = response.next_page_token || undefined;
    } while (pageToken !== undefined);
    return history.sort((a, b) => a.step - b.step || a.timestampMs - b.timestampMs);
  }

  /** Searches runs with MLflow's filter syntax, such as `tags.stage = 'sensor'`, following pagination. */
  async searchRuns(options: { experimentIds: string[]; filter?: string; orderBy?: string[]; maxResults?: number }): Promise<Run[]> {
    const runs: Run[] = [];
    const maxResults = options.maxResults ?? 1000;
    let pageToken: string | undefined;
    do {
      const response = await this.request<{ runs?: RawRun[]; next_page_token?: string }>('POST', '/api/2.0/mlflow/runs/search', {
        experiment_ids: options.experimentIds,
        filter: options.filter ?? '',
        order_by: options.orderBy ?? [],
        max_results: Math.min(maxResults - runs.length, 1000),
        page_token: pageToken,
      });
      runs.push(...(response.runs ?? []).map(toRun));
      pageToken = response.next_page_token || undefined;
    } while (pageToken !== undefined && runs.length < maxResults);
    return runs;
  }

  /** Uploads one artifact to the run's artifact location at `artifactPath` (such as "plots/loss.png"). */
  async logArtifact(run: RunInfo, artifactPath: string, body: Uint8Array | string, contentType?: string): Promise<string> {
    const cleanPath = artifactPath.replace(/^\/+/, '');
    const uri = run.artifactUri.replace(/\/+$/, '');
    if (uri.startsWith('s3://')) {
      const [bucket, ...rest] = uri.slice('s3://'.length).split('/');
      if (this.options.s3 === undefined) {
        throw new Error(`cannot upload artifact to ${uri}: the client has no S3 settings; create it with MlflowClient.fromEnvironment`);
      }
      const store = new S3Store({ ...this.options.s3, bucket });
      const key = [...rest, cleanPath].join('/');
      await store.put(key, body, { contentType });
      return `${uri}/${cleanPath}`;
    }
    if (uri.startsWith('mlflow-artifacts:')) {
      const serverPath = uri.replace(/^mlflow-artifacts:\/*/, '');
      await this.send('PUT', `/api/2.0/mlflow-artifacts/artifacts/${serverPath}/${cleanPath}`, body, contentType ?? 'application/octet-stream');
      return `${uri}/${cleanPath}`;
    }
    throw new Error(`unsupported artifact location ${uri}: expected s3:// or mlflow-artifacts:/`);
  }

  /** Lists artifact paths of a run under `path` (one level), through the tracking server. */
  async listArtifacts(runId: string, path = ''): Promise<Array<{ path: string; isDir: boolean; sizeBytes?: number }>> {
    const query = new URLSearchParams({ run_id: runId, path });
    const response = await this.request<{ files?: Array<{ path: string; is_dir: boolean; file_size?: string | number }> }>(
      'GET',
      `/api/2.0/mlflow/artifacts/list?${query.toString()}`,
    );
    return (response.files ?? []).map((file) => ({ path: file.path, isDir: file.is_dir, sizeBytes: file.file_size === undefined ? undefined : Number(file.file_size) }));
  }

  private async request<T = unknown>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const text = await this.send(method, path, body === undefined ? undefined : JSON.stringify(body), 'application/json');
    return (text === '' ? {} : JSON.parse(text)) as T;
  }

  private async send(method: string, path: string, body: Uint8Array | string | undefined, contentType: string): Promise<string> {
    const headers: Record<string, string> = { 'content-type': contentType };
    if (this.options.token !== undefined) headers.authorization = `Bearer ${this.options.token}`;
    else if (this.options.username !== undefined) {
      headers.authorization = `Basic ${Buffer.from(`${this.options.username}:${this.options.password ?? ''}`).toString('base64')}`;
    }
    let response: Response | undefined;
    for (let attempt = 1; response === undefined; attempt++) {
      try {
        response = await fetch(this.baseUrl + path, {
          method,
          headers,
          body,
          signal: AbortSignal.timeout(this.options.requestTimeoutMs ?? 30_000),
        });
      } catch (error) {
        // fetch wraps the network error: its cause carries the errno code, or a message such as "bad port".
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        const reason = cause?.code ?? cause?.message ?? (error as Error).message;
        if (cause?.code !== undefined && CLOSED_CONNECTION_CODES.has(cause.code) && attempt < CLOSED_CONNECTION_ATTEMPTS) {
          await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
          continue;
        }
        throw new EndpointUnreachableError(
          `cannot reach MLflow at ${this.baseUrl} (${reason}); start the local stack with "whorl stack up" or set WHORL_MLFLOW_URI`,
        );
      }
    }
    const text = await response.text();
    if (!response.ok) {
      let errorCode = 'UNKNOWN';
      let detail = text.slice(0, 500);
      try {
        const parsed = JSON.parse(text) as { error_code?: string; message?: string };
        errorCode = parsed.error_code ?? errorCode;
        detail = parsed.message ?? detail;
      } catch {
        // Not JSON: keep the start of the body as the detail.
      }
      throw new MlflowRequestError(path.split('?')[0], response.status, errorCode, detail);
    }
    return text;
  }
}
