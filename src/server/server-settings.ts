import type { ApiKeyEntry } from "../domain/principal.js";

/**
 * The settings the server reads (buildApp): its own view of the configuration, so the server
 * layer does not import config/ (which sits above it). config/env.ts's Config has every one of
 * these fields with these types, so main.ts and tests pass a Config as is; a field added here
 * must exist in Config (the type check says so at the call sites).
 */
export interface ServerSettings {
  readonly apiKeys: readonly ApiKeyEntry[];
  readonly corsOrigins: string[];
  readonly fastPath: boolean;
  /** CALL_BATCHING: the fast path starts the calls of one event-loop turn together. */
  readonly callBatching: boolean;
  readonly connectionTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly http2MaxConcurrentStreams: number;
  readonly http2SessionIdleMs: number;
  readonly http2KeepaliveIntervalMs: number;
  readonly http2KeepaliveTimeoutMs: number;
  readonly maxDeadlineMs: number;
  readonly maxMessageBytes: number;
  readonly rateLimitRps: number;
  readonly rateLimitBurst: number;
  readonly rateLimitMaxBuckets: number;
  readonly rateLimitIdleMs: number;
  readonly shutdownGraceMs: number;
  readonly underPressureMaxEventLoopDelayMs: number;
  readonly underPressureMaxEventLoopUtilization: number;
  readonly underPressureMaxHeapUsedBytes: number;
  readonly underPressureMaxRssBytes: number;
  readonly underPressureRetryAfterS: number;
  readonly underPressureSampleIntervalMs: number;
}
