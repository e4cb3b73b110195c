import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["packages/*/src/**/*.test.ts", "examples/**/*.test.ts", "bench/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // CI also keeps a machine-readable report, from which .ci/run prints the closing count line.
    ...(process.env["CI"] ? { reporters: ["default", "json"], outputFile: { json: ".ci/vitest-report.json" } } : {}),
  },
});
