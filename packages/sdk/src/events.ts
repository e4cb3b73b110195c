import { writeSync } from "node:fs";
import { EVENT_FD_ENV, withCallIndex, type MetricEvent, type ProgressEvent } from "@maelstrom/core";

function eventFd(): number | null {
  const fd = Number(process.env[EVENT_FD_ENV]);
  return Number.isInteger(fd) && fd > 2 ? fd : null;
}

function emit(event: MetricEvent | ProgressEvent): void {
  const fd = eventFd();
  // In a fused chain the runner has set which call runs: the engine files the event under its step.
  const line = `${JSON.stringify(withCallIndex(event))}\n`;
  // Outside the engine (a step imported in a notebook or a unit test) events go to stderr.
  if (fd === null) process.stderr.write(line);
  else writeSync(fd, line);
}

/** Record one point of a metric series, e.g. the loss after each epoch. */
export function logMetric(name: string, value: number, step?: number): void {
  emit({ type: "metric", name, value, step: step ?? null, time: Date.now() });
}

/** Report progress of the current step (fraction 0..1 and/or a short message). */
export function reportProgress(fraction: number | null, message?: string): void {
  emit({ type: "progress", fraction, message: message ?? null });
}
