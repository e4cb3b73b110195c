/**
 * The step guard: one small process per engine. The engine tells it on stdin which step process
 * groups are alive ("+PGID" / "-PGID"); when stdin ends without them being ended (the engine was
 * killed, even with SIGKILL), it kills those groups. This replaces a watchdog thread in every
 * step, which cost each step ~18 ms of start-up.
 */
import { createInterface } from "node:readline";

const live = new Set<number>();
const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
  const pgid = Number(line.slice(1));
  if (!Number.isInteger(pgid) || pgid <= 1) return;
  if (line.startsWith("+")) live.add(pgid);
  else live.delete(pgid);
});
lines.on("close", () => {
  for (const pgid of live) {
    try {
      process.kill(-pgid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
  process.exit(0);
});
