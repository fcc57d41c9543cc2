/**
 * The layer rules of docs/architecture.md, checked by `npm run lint:deps` (and so by .ci/run).
 *
 *   domain <- use-cases <- adapters <- rpc <- server <- shell (config/, composition-root.ts, main.ts)
 *
 * A layer imports only from itself and the layers to its left; src/shared is a floor every
 * layer may use and that imports nothing of ours. Each rule names the layer it protects;
 * an upward import fails CI with that rule's name and the two files.
 */
const LAYERS = ["domain", "use-cases", "adapters", "rpc", "server"];
const SHELL = "^src/(config/|composition-root\\.ts$|replica\\.ts$|main\\.ts$)";

/** Everything at or above layer `i` (for "may not import" rules). */
function above(i) {
  return [...LAYERS.slice(i + 1).map((l) => `^src/${l}/`), SHELL];
}

const upward = LAYERS.map((layer, i) => ({
  name: `${layer}-looks-down-only`,
  comment: `src/${layer} may import only ${["shared", ...LAYERS.slice(0, i)].join(", ")} and itself (docs/architecture.md)`,
  severity: "error",
  from: { path: `^src/${layer}/` },
  to: { path: above(i) },
}));

module.exports = {
  forbidden: [
    ...upward,
    {
      name: "shared-is-a-floor",
      comment: "src/shared is used by every layer and imports nothing of ours (only node: and npm packages)",
      severity: "error",
      from: { path: "^src/shared/" },
      to: { path: "^(src/(?!shared/)|gen/|test/)" },
    },
    {
      name: "config-imports-no-adapter",
      comment:
        "config/ reads and validates files and env into plain values; it knows no venue, sink or store. " +
        "Venue schemas come in as a parameter (adapters/venues/venue-kinds.ts, passed by main.ts).",
      severity: "error",
      from: { path: "^src/config/" },
      to: { path: "^src/(adapters|rpc|server)/|^src/composition-root\\.ts$|^src/main\\.ts$" },
    },
    {
      name: "only-config-reads-files-and-env",
      comment:
        "All file, env and credential reading happens in config/ before anything is built (main.ts owns the process). " +
        "Exception, on purpose: the audit sinks (adapters/audit/) write, lock, rotate and re-read their own log: " +
        "that is the adapter's job, not configuration. The dashboard's build script (src/dashboard/build/) is a " +
        "build tool run by `npm run build`, not part of the gateway: it reads and writes the bundle.",
      severity: "error",
      from: { path: "^src/", pathNot: "^src/(config/|adapters/audit/|dashboard/build/)" },
      to: { path: "^(node:)?fs(/promises)?$", dependencyTypes: ["core"] },
    },
    {
      name: "use-cases-know-no-transport",
      comment: "use-cases run the same behind gRPC, Connect, a test or a CLI: no connect, fastify, http2 or generated messages",
      severity: "error",
      from: { path: "^src/(domain|use-cases)/" },
      // Packages are matched by their resolved path (node_modules/...), node: built-ins by name.
      to: { path: "(^|node_modules/)(@connectrpc/|fastify/|@fastify/)|^(node:)?(http|https|http2)$" },
    },
    {
      name: "generated-code-stays-above-use-cases",
      comment: "generated proto messages are the wire contract: rpc maps them to the domain. " +
        "Exception, on purpose: domain/order.ts re-uses the proto's enums (Side, OrderType, TimeInForce, " +
        "OrderStatus) so the wire, the audit log and the domain share one numbering, and domain/order-fields.ts " +
        "takes those enums' names from their descriptors (the field declaration every projection derives from); " +
        "nothing else below rpc imports gen/.",
      severity: "error",
      from: { path: "^src/(domain|use-cases|adapters)/", pathNot: "^src/domain/order(-fields)?\\.ts$" },
      to: { path: "^gen/" },
    },
    {
      name: "dashboard-is-browser-code",
      comment:
        "src/dashboard is bundled for the browser (src/dashboard/build/build-dashboard.ts, a Node script outside the page): it reaches the gateway only over " +
        "Connect with the generated code, so it imports no server layer and no node: built-in",
      severity: "error",
      from: { path: "^src/dashboard/", pathNot: "^src/dashboard/build/" },
      to: { path: "^src/(?!dashboard/)|^(node:)?[a-z_]+$", dependencyTypes: ["local", "core"] },
    },
    {
      name: "server-never-imports-dashboard",
      comment: "the gateway serves the dashboard's build output (config/dashboard-files.ts reads it), never its source",
      severity: "error",
      from: { path: "^src/(?!dashboard/)" },
      to: { path: "^src/dashboard/" },
    },
    {
      name: "src-never-imports-test",
      severity: "error",
      from: { path: "^(src|gen)/" },
      to: { path: "^(test|bench)/" },
    },
    {
      name: "no-cycles",
      comment: "a cycle hides a layer violation (or makes two files one): break it by moving the shared type down",
      severity: "error",
      from: { path: "^src/" },
      to: { circular: true },
    },
    {
      name: "not-to-unresolvable",
      severity: "error",
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(node_modules|dist)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    // Package "exports" subpaths (@connectrpc/connect/protocol-grpc, @bufbuild/protobuf/wkt).
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "require", "node", "default", "types"] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
