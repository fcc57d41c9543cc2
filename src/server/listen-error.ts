/** Which listener failed, named by the settings that place it. */
export interface ListenTarget {
  readonly host: string;
  readonly port: number;
  /** The setting that names the address, e.g. `HOST` or `METRICS_HOST`. */
  readonly hostSetting: string;
  /** The setting that names the port, e.g. `PORT (or --port)` or `METRICS_PORT`. */
  readonly portSetting: string;
  /** Appended to the advice, e.g. how to do without this listener. */
  readonly alternative?: string;
}

/**
 * One line for the operator when a listener cannot bind: the address, what is
 * wrong in plain words and which setting to change. A failed bind is a
 * deployment problem, not a bug, so no stack trace: it would bury the one fact
 * that matters (another process holds the port) in frames of node:net.
 */
export function listenErrorMessage(error: unknown, target: ListenTarget): string {
  const { host, port, hostSetting, portSetting } = target;
  const address = host.includes(":") && !host.startsWith("[") ? `[${host}]:${port}` : `${host}:${port}`;
  const code = typeof error === "object" && error !== null ? (error as { code?: unknown }).code : undefined;
  const alternative = target.alternative !== undefined ? `, ${target.alternative}` : "";
  const where = `cannot listen on ${address}`;
  switch (code) {
    case "EADDRINUSE":
      return `${where}: the port is already in use (another process, or another gateway); set ${portSetting} to a free port or stop what holds it${alternative}`;
    case "EACCES":
      return `${where}: permission denied (ports below 1024 need privileges); set ${portSetting} to 1024 or above${alternative}`;
    case "EADDRNOTAVAIL":
      return `${where}: this machine has no such address; set ${hostSetting} to one of its addresses, 127.0.0.1 or 0.0.0.0${alternative}`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EAI_FAIL":
      return `${where}: ${hostSetting} ${JSON.stringify(host)} does not resolve to an address; set ${hostSetting} to an IP address or a known host name${alternative}`;
    default: {
      const reason = (error instanceof Error ? error.message : String(error)).replace(/\s+/g, " ");
      return `${where}: ${reason}; check ${hostSetting} and ${portSetting}${alternative}`;
    }
  }
}
