import type { EngineEvent } from "@maelstrom/engine";
import { cancelOnInterrupt } from "./context.js";
import { duration, formatPlan, metricValue } from "./format.js";

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/**
 * Shows a run's progress on stderr: a live status line on a terminal, plain lines otherwise
 * (CI, pipes, log files). Results go to stdout, so piping them stays clean.
 */
function progressReporter(stream: NodeJS.WriteStream = process.stderr): { onEvent: (event: EngineEvent) => void; stop: () => void } {
  const live = stream.isTTY === true && process.env["CI"] === undefined;
  let timer: NodeJS.Timeout | undefined;
  let status = "";
  let frame = 0;
  let stepStart = 0;
  const draw = (): void => {
    if (!live || status === "") return;
    frame = (frame + 1) % FRAMES.length;
    stream.write(`\r\x1b[K${FRAMES[frame]} ${status} ${duration(performance.now() - stepStart)}`);
  };
  const clear = (): void => {
    if (live) stream.write("\r\x1b[K");
  };
  const say = (line: string): void => {
    clear();
    stream.write(`${line}\n`);
    draw();
  };
  let total = 0;
  const label = new Map<string, string>();
  const announced = new Set<string>();
  const onEvent = (event: EngineEvent): void => {
    switch (event.type) {
      case "run-started":
        total = event.steps.length;
        event.steps.forEach((s, i) => label.set(s.id, `[${i + 1}/${total}] ${s.id} (${s.call === "predict" ? "apply" : s.call})`));
        {
          const ids = event.steps.map((s) => s.id);
          const shown = ids.length <= 20 ? ids.join(" → ") : `${ids.slice(0, 3).join(" → ")} → … (${ids.length} steps)`;
          say(`run ${event.runId} (${event.kind}): ${shown}`);
        }
        if (live) timer = setInterval(draw, 100);
        break;
      case "run-planned":
        say(formatPlan(event, { listCachedUpTo: 50 }));
        for (const d of event.decisions) if (d.action === "cached") announced.add(d.id);
        break;
      case "step-cached":
        // Steps the plan already showed as cached are not repeated; those that turned out cached are.
        if (!live && !announced.has(event.stepId)) stream.write(`${label.get(event.stepId) ?? event.stepId} cached\n`);
        break;
      case "step-started":
        stepStart = performance.now();
        status = label.get(event.stepId) ?? event.stepId;
        if (!live) stream.write(`${status} …\n`);
        draw();
        break;
      case "step-progress":
        status = `${label.get(event.stepId) ?? event.stepId}${event.fraction === null ? "" : ` ${Math.round(event.fraction * 100)}%`}${event.message === null ? "" : ` ${event.message}`}`;
        draw();
        break;
      case "metric":
        if (!live) stream.write(`  ${event.name}${event.step === null ? "" : `[${event.step}]`} = ${metricValue(event.value)}\n`);
        break;
      case "step-finished":
        status = "";
        say(`${label.get(event.stepId) ?? event.stepId} ${event.status} in ${duration(event.wallMs)}`);
        break;
      case "run-finished":
        clearInterval(timer);
        clear();
        break;
    }
  };
  return { onEvent, stop: () => (clearInterval(timer), clear()) };
}

/** Run `fn` with live progress on stderr (unless the result is JSON) and Ctrl-C cancellation. */
export async function withProgress<T>(json: boolean | undefined, fn: (hooks: { signal: AbortSignal; onEvent: (event: EngineEvent) => void }) => Promise<T>): Promise<T> {
  const cancel = cancelOnInterrupt();
  const reporter = progressReporter();
  try {
    return await fn({ signal: cancel.signal, onEvent: json === true ? () => undefined : reporter.onEvent });
  } finally {
    reporter.stop();
    cancel.dispose();
  }
}
