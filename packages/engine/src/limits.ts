import { availableParallelism, totalmem } from "node:os";
import { InputError } from "@maelstrom/errors";
import type { EngineContext } from "./context.js";
import { parseCpus, parseMemory, readConfig } from "./config.js";
import type { PlannedStep } from "./records.js";

const formatSize = (bytes: number): string => (bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GiB` : `${Math.round(bytes / 1024 ** 2)} MiB`);

/** What steps running at once may declare in total. */
export interface ExecutionLimits {
  readonly cpus: number;
  readonly memoryBytes: number;
}

/** Limits from `--cpus/--memory`, else the workspace settings, else this machine. */
export async function executionLimits(ctx: EngineContext, given: { readonly cpus?: string; readonly memory?: string } = {}): Promise<ExecutionLimits> {
  const config = await readConfig(ctx.paths);
  const cpus = given.cpus ?? config.cpus;
  const memory = given.memory ?? config.memory;
  return {
    cpus: cpus === undefined ? availableParallelism() : parseCpus(cpus, given.cpus === undefined ? "maelstrom config cpus" : "--cpus"),
    memoryBytes: memory === undefined ? totalmem() : parseMemory(memory, given.memory === undefined ? "maelstrom config memory" : "--memory"),
  };
}

/** A step that can never start here (it asks for more than the limits) is an error before anything runs. */
export function checkLimits(steps: readonly PlannedStep[], limits: ExecutionLimits): void {
  for (const step of steps) {
    const what = `step '${step.id}' (${step.artifact.name}) declares`;
    if (step.resources.cpus > limits.cpus) {
      throw new InputError(`${what} ${step.resources.cpus} CPUs, but steps may use ${limits.cpus} here (this machine, --cpus or maelstrom config cpus); lower resources.cpus in its maelstrom.yaml`, {
        code: "RESOURCES_EXCEEDED",
        details: { step: step.id, cpus: step.resources.cpus, limit: limits.cpus },
      });
    }
    if (step.resources.memoryBytes > limits.memoryBytes) {
      throw new InputError(
        `${what} ${formatSize(step.resources.memoryBytes)} of memory, but steps may use ${formatSize(limits.memoryBytes)} here (this machine, --memory or maelstrom config memory); lower resources.memory in its maelstrom.yaml`,
        { code: "RESOURCES_EXCEEDED", details: { step: step.id, memoryBytes: step.resources.memoryBytes, limit: limits.memoryBytes } },
      );
    }
  }
}
