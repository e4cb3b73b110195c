import { existsSync } from "node:fs";
import { readFile, rename, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseSize } from "@maelstrom/core";
import { InputError, WorkspaceError } from "@maelstrom/errors";
import type { WorkspacePaths } from "./workspace.js";

/** Workspace settings (`maelstrom config`), kept in .maelstrom/config.json. */
export interface WorkspaceConfig {
  /** Python interpreter for Python steps, unless the manifest or MAELSTROM_PYTHON names one; relative to the workspace. */
  readonly python?: string;
  /** How many CPUs steps may use at once (default: all of this machine's). */
  readonly cpus?: string;
  /** How much memory steps may declare at once, e.g. 16GiB (default: this machine's). */
  readonly memory?: string;
}

const KEYS: Readonly<Record<keyof WorkspaceConfig, string>> = {
  python: "Python interpreter for Python steps (after the manifest field 'python' and MAELSTROM_PYTHON)",
  cpus: "CPUs that steps running at once may declare in total (default: all of this machine's)",
  memory: "memory that steps running at once may declare in total, e.g. 16GiB (default: this machine's)",
};

export type ConfigKey = keyof WorkspaceConfig;

function configFile(paths: WorkspacePaths): string {
  return join(paths.meta, "config.json");
}

export function readConfig(paths: WorkspacePaths): Promise<WorkspaceConfig> {
  return readSettings<WorkspaceConfig>(configFile(paths), "the workspace settings", "fix or delete the file");
}

/** A settings file of the workspace (JSON object); {} when it does not exist. */
export async function readSettings<T extends object>(file: string, what: string, fix: string): Promise<T | Record<string, never>> {
  if (!existsSync(file)) return {};
  try {
    return JSON.parse(await readFile(file, "utf8")) as T;
  } catch (error) {
    throw new WorkspaceError(`${what} ${file} are not valid JSON (${(error as Error).message}); ${fix}`, { code: "WORKSPACE_INVALID", cause: error });
  }
}

/** Writes a settings file atomically (a reader never sees half of it). */
export async function writeSettings(file: string, value: object): Promise<void> {
  await writeFile(`${file}.tmp`, `${JSON.stringify(value, null, 2)}\n`);
  await rename(`${file}.tmp`, file);
}

export function checkConfigKey(key: string): ConfigKey {
  if (!(key in KEYS)) {
    throw new InputError(`unknown setting '${key}'; settings: ${Object.entries(KEYS).map(([k, what]) => `${k} (${what})`).join(", ")}`, {
      details: { key },
    });
  }
  return key as ConfigKey;
}

/** Set (value) or remove (null) one setting; written atomically. */
export async function writeConfig(paths: WorkspacePaths, key: ConfigKey, value: string | null): Promise<WorkspaceConfig> {
  if (key === "python" && value !== null && value.includes("/") && !existsSync(resolve(paths.root, value))) {
    throw new InputError(`python ${value}: no such file; give the path of a Python interpreter, or a name on PATH such as python3`, {
      details: { key, value },
    });
  }
  if (key === "cpus" && value !== null) parseCpus(value, "maelstrom config cpus");
  if (key === "memory" && value !== null) parseMemory(value, "maelstrom config memory");
  const config: Record<string, string> = { ...(await readConfig(paths)) };
  if (value === null) delete config[key];
  else config[key] = value;
  await writeSettings(configFile(paths), config);
  return config;
}

/** A CPU limit as given on the command line or in the settings: a positive integer. */
export function parseCpus(text: string, where: string): number {
  const cpus = Number(text);
  if (!Number.isSafeInteger(cpus) || cpus < 1) throw new InputError(`${where} ${text}: expected a positive whole number of CPUs`, { details: { cpus: text } });
  return cpus;
}

/** A memory limit: a size like 16GiB or 512MiB. */
export function parseMemory(text: string, where: string): number {
  try {
    return parseSize(text);
  } catch (error) {
    throw new InputError(`${where} ${text}: expected a size like 16GiB, 512MiB or a number of bytes`, { details: { memory: text }, cause: error });
  }
}
