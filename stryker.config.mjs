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
      "test/domain/decimal-math.test.ts",
      "test/use-cases/validate.test.ts",
      "test/use-cases/idempotency.test.ts",
      "test/use-cases/risk.test.ts",
      "test/adapters/stores/memory-store.test.ts",
      "test/adapters/venues/*/sign.test.ts",
      "test/use-cases/place-order.test.ts",
      "test/use-cases/cancel-order.test.ts",
    ],
    // node:test prints TAP with this reporter; tsx runs the TypeScript as `npm test` does.
    nodeArgs: ["--import", "tsx", "--test-reporter=tap"],
  },
  mutate: [
    // domain
    "src/domain/order-state.ts",
    "src/domain/decimal.ts",
    "src/domain/scaled-decimal-math.ts",
    // use-case decisions
    "src/use-cases/validate.ts",
    "src/use-cases/idempotency.ts",
    "src/use-cases/risk.ts",
    "src/adapters/stores/memory-store.ts",
    // signing, every venue
    "src/adapters/venues/*/sign.ts",
    // use-cases
    "src/use-cases/place-order.ts",
    "src/use-cases/cancel-order.ts",
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
