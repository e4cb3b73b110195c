/**
 * The metadata database schema, as Kysely sees it. Ids are app-generated text, times are epoch
 * milliseconds, JSON is text (see json.ts), so the same queries run on SQLite and PostgreSQL.
 */
export interface ArtifactTable {
  digest: string;
  name: string;
  kind: string;
  runtime: string | null;
  description: string;
  manifest: string; // JSON of the parsed Manifest
  source_path: string;
  file_count: number;
  total_bytes: number;
  created_at: number;
}

interface ArtifactTagTable {
  name: string;
  tag: string;
  digest: string;
  updated_at: number;
}

interface SessionTable {
  id: string;
  experiment: string;
  created_at: number;
  closed_at: number | null;
}

export interface RunTable {
  id: string;
  kind: string; // train | apply
  status: string; // pending | running | succeeded | failed | cancelled
  plan: string; // JSON RunPlan: everything needed to execute the run again
  session_id: string | null;
  rerun_of: string | null;
  owner_host: string;
  owner_pid: number;
  error: string | null; // JSON ErrorJson
  result: string | null; // JSON: outputs, model version
  created_at: number;
  started_at: number | null;
  ended_at: number | null;
}

interface StepExecutionTable {
  run_id: string;
  step_id: string;
  position: number;
  artifact_digest: string;
  call: string;
  status: string; // pending | running | succeeded | failed | cancelled
  attempt: number;
  placement: string | null; // "local:<host>:<pid>"
  input_digest: string | null;
  output_digest: string | null;
  state_digest: string | null;
  resources: string | null; // JSON StepResourceUsage
  environment: string | null; // JSON PythonEnvironment (python steps)
  error: string | null; // JSON
  log_path: string;
  started_at: number | null;
  ended_at: number | null;
  inputs: string | null; // JSON input name -> digest
  outputs: string | null; // JSON output name -> digest
  metrics: string | null; // JSON final scalar metrics (model steps)
  cache_key: string | null;
  cached_from: string | null; // "RUN/STEP" whose outputs were reused
  scheduler_status: string | null; // JSON SchedulerStatus: a batch job's last state seen (Slurm)
}

/** A finished step's results by cache key (DESIGN.md decision 8). */
interface StepCacheTable {
  key: string;
  step_id: string;
  artifact_name: string;
  run_id: string;
  outputs: string; // JSON output name -> digest
  state_digest: string | null;
  metrics: string; // JSON
  resources: string; // JSON StepResourceUsage
  environment: string | null;
  components: string; // JSON: what the key was computed from, to explain changes
  created_at: number;
  used_at: number;
}

interface MetricTable {
  run_id: string;
  step_id: string;
  name: string;
  value: number | null; // NaN is stored as NULL
  step: number | null;
  time: number;
}

export interface ModelVersionTable {
  name: string;
  version: number;
  run_id: string;
  artifact_digest: string;
  state_digest: string;
  description: string;
  record: string; // JSON ModelRecord: parameters, pipeline, data, metrics, resources, environment
  created_at: number;
}

interface ModelAliasTable {
  name: string;
  alias: string;
  version: number;
  updated_at: number;
}

interface ModelTagTable {
  name: string;
  version: number;
  key: string;
  value: string;
}

interface FileHashTable {
  path: string;
  size: number;
  mtime_ms: number;
  ino: number;
  digest: string;
}

export interface Database {
  artifacts: ArtifactTable;
  artifact_tags: ArtifactTagTable;
  sessions: SessionTable;
  runs: RunTable;
  step_executions: StepExecutionTable;
  step_cache: StepCacheTable;
  metrics: MetricTable;
  model_versions: ModelVersionTable;
  model_aliases: ModelAliasTable;
  model_tags: ModelTagTable;
  file_hashes: FileHashTable;
}
