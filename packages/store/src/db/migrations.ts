import { sql, type Kysely, type Migration, type MigrationProvider } from "kysely";

/**
 * Migrations are code, in order, never edited once released: add a new one instead.
 * Only portable column types (text, integer, bigint, double precision) so PostgreSQL runs them too.
 */
const migrations: Record<string, Migration> = {
  "0001_initial": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("artifacts")
        .addColumn("digest", "text", (c) => c.primaryKey())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("kind", "text", (c) => c.notNull())
        .addColumn("runtime", "text")
        .addColumn("description", "text", (c) => c.notNull())
        .addColumn("manifest", "text", (c) => c.notNull())
        .addColumn("source_path", "text", (c) => c.notNull())
        .addColumn("file_count", "integer", (c) => c.notNull())
        .addColumn("total_bytes", "bigint", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("artifacts_name").on("artifacts").columns(["name", "created_at"]).execute();
      await db.schema
        .createTable("artifact_tags")
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("tag", "text", (c) => c.notNull())
        .addColumn("digest", "text", (c) => c.notNull().references("artifacts.digest"))
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .addPrimaryKeyConstraint("artifact_tags_pk", ["name", "tag"])
        .execute();
      await db.schema
        .createTable("sessions")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("experiment", "text", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("closed_at", "bigint")
        .execute();
      await db.schema
        .createTable("runs")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("kind", "text", (c) => c.notNull())
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("plan", "text", (c) => c.notNull())
        .addColumn("session_id", "text")
        .addColumn("rerun_of", "text")
        .addColumn("owner_host", "text", (c) => c.notNull())
        .addColumn("owner_pid", "integer", (c) => c.notNull())
        .addColumn("error", "text")
        .addColumn("result", "text")
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("started_at", "bigint")
        .addColumn("ended_at", "bigint")
        .execute();
      await db.schema.createIndex("runs_status").on("runs").column("status").execute();
      await db.schema
        .createTable("step_executions")
        .addColumn("run_id", "text", (c) => c.notNull().references("runs.id"))
        .addColumn("step_id", "text", (c) => c.notNull())
        .addColumn("position", "integer", (c) => c.notNull())
        .addColumn("artifact_digest", "text", (c) => c.notNull())
        .addColumn("call", "text", (c) => c.notNull())
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("attempt", "integer", (c) => c.notNull())
        .addColumn("placement", "text")
        .addColumn("input_digest", "text")
        .addColumn("output_digest", "text")
        .addColumn("state_digest", "text")
        .addColumn("resources", "text")
        .addColumn("error", "text")
        .addColumn("log_path", "text", (c) => c.notNull())
        .addColumn("started_at", "bigint")
        .addColumn("ended_at", "bigint")
        .addPrimaryKeyConstraint("step_executions_pk", ["run_id", "step_id"])
        .execute();
      await db.schema
        .createTable("metrics")
        .addColumn("run_id", "text", (c) => c.notNull())
        .addColumn("step_id", "text", (c) => c.notNull())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("value", "double precision", (c) => c.notNull())
        .addColumn("step", "integer")
        .addColumn("time", "bigint", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("metrics_run").on("metrics").columns(["run_id", "name"]).execute();
      await db.schema
        .createTable("model_versions")
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("version", "integer", (c) => c.notNull())
        .addColumn("run_id", "text", (c) => c.notNull())
        .addColumn("artifact_digest", "text", (c) => c.notNull())
        .addColumn("state_digest", "text", (c) => c.notNull())
        .addColumn("description", "text", (c) => c.notNull())
        .addColumn("record", "text", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addPrimaryKeyConstraint("model_versions_pk", ["name", "version"])
        .execute();
      await db.schema
        .createTable("model_aliases")
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("alias", "text", (c) => c.notNull())
        .addColumn("version", "integer", (c) => c.notNull())
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .addPrimaryKeyConstraint("model_aliases_pk", ["name", "alias"])
        .execute();
      await db.schema
        .createTable("model_tags")
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("version", "integer", (c) => c.notNull())
        .addColumn("key", "text", (c) => c.notNull())
        .addColumn("value", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("model_tags_pk", ["name", "version", "key"])
        .execute();
      await db.schema
        .createTable("file_hashes")
        .addColumn("path", "text", (c) => c.primaryKey())
        .addColumn("size", "bigint", (c) => c.notNull())
        .addColumn("mtime_ms", "double precision", (c) => c.notNull())
        .addColumn("ino", "bigint", (c) => c.notNull())
        .addColumn("digest", "text", (c) => c.notNull())
        .execute();
    },
  },
  "0002_step_environment": {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable("step_executions").addColumn("environment", "text").execute();
    },
  },
  // A metric point may be NaN (a diverging loss); NaN is stored as NULL.
  "0003_nullable_metric_values": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("metrics_new")
        .addColumn("run_id", "text", (c) => c.notNull())
        .addColumn("step_id", "text", (c) => c.notNull())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("value", "double precision")
        .addColumn("step", "integer")
        .addColumn("time", "bigint", (c) => c.notNull())
        .execute();
      await sql`insert into metrics_new (run_id, step_id, name, value, step, time) select run_id, step_id, name, value, step, time from metrics`.execute(db);
      await db.schema.dropTable("metrics").execute();
      await db.schema.alterTable("metrics_new").renameTo("metrics").execute();
      await db.schema.createIndex("metrics_run").on("metrics").columns(["run_id", "name"]).execute();
    },
  },
  // Execution graphs: named inputs/outputs per step, the step cache, resumable runs.
  "0004_step_cache": {
    async up(db: Kysely<unknown>) {
      for (const column of ["inputs", "outputs", "metrics", "cache_key", "cached_from"]) {
        await db.schema.alterTable("step_executions").addColumn(column, "text").execute();
      }
      await db.schema
        .createTable("step_cache")
        .addColumn("key", "text", (c) => c.primaryKey())
        .addColumn("step_id", "text", (c) => c.notNull())
        .addColumn("artifact_name", "text", (c) => c.notNull())
        .addColumn("run_id", "text", (c) => c.notNull())
        .addColumn("outputs", "text", (c) => c.notNull())
        .addColumn("state_digest", "text")
        .addColumn("metrics", "text", (c) => c.notNull())
        .addColumn("resources", "text", (c) => c.notNull())
        .addColumn("environment", "text")
        .addColumn("components", "text", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("used_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("step_cache_step").on("step_cache").columns(["step_id", "artifact_name", "created_at"]).execute();
    },
  },
  // Batch executors: the scheduler's last word on a step's job while it waits or runs (Slurm state, reason, nodes).
  "0005_scheduler_status": {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable("step_executions").addColumn("scheduler_status", "text").execute();
    },
  },
};

export const migrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve(migrations),
};
