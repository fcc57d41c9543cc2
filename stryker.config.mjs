// Mutation testing: `npm run mutate`. Not part of `npm test` or .ci/run (it takes minutes, and its
// job is to find tests that cannot fail, not to gate a merge).
//
// Each module is judged by its own unit tests only (tap.testFiles), so a run stays short on a small
// machine; "perTest" coverage then runs, for each mutant, only the test files that reach it (the
// tap runner counts a file as one test). Incremental: the last result is kept in reports/
// (git-ignored) and only mutants whose code or covering tests changed are run again; delete
// reports/stryker-incremental.json (or pass --force) for a full run.

/** @type {import("@stryker-mutator/api/core").PartialStrykerOptions} */
export default {
  testRunner: "tap",
  plugins: ["@stryker-mutator/tap-runner"],
  tap: {
    testFiles: [
      "test/domain/order-state.test.ts",
      "test/domain/decimal.test.ts",
      "test/pipeline/validate.test.ts",
      "test/pipeline/idempotency.test.ts",
      "test/pipeline/risk.test.ts",
      "test/idempotency/memory-store.test.ts",
      "test/venues/*/sign.test.ts",
      "test/pipeline/place-order.test.ts",
      "test/orders/cancel-order.test.ts",
    ],
    // node:test prints TAP with this reporter; tsx runs the TypeScript as `npm test` does.
    nodeArgs: ["--import", "tsx", "--test-reporter=tap"],
  },
  mutate: [
    // domain
    "src/domain/order-state.ts",
    "src/domain/decimal.ts",
    // pipeline decisions
    "src/pipeline/validate.ts",
    "src/pipeline/idempotency.ts",
    "src/pipeline/risk.ts",
    "src/idempotency/memory-store.ts",
    // signing, every venue
    "src/venues/*/sign.ts",
    // use-cases
    "src/pipeline/place-order.ts",
    "src/orders/cancel-order.ts",
  ],
  coverageAnalysis: "perTest",
  // Other work shares the machine; one test process at a time.
  concurrency: 1,
  incremental: true,
  incrementalFile: "reports/stryker-incremental.json",
  reporters: ["clear-text", "progress", "html", "json"],
  htmlReporter: { fileName: "reports/mutation/mutation.html" },
  jsonReporter: { fileName: "reports/mutation/mutation.json" },
  // Below 90% the run fails: review the survivors in the HTML report.
  thresholds: { high: 95, low: 90, break: 90 },
  ignorePatterns: ["bench", "dist", "data", "Dockerfile"],
};
