import { readFileSync } from "node:fs";
import { err, ok } from "../domain/result.js";
import type { Result } from "../domain/result.js";

/** TLS material as the server takes it (buildApp does no file I/O). */
export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** Client CAs: with it, clients must present a certificate (mTLS). */
  readonly ca?: Buffer;
}

export interface TlsFileSettings {
  readonly tlsCertFile?: string | undefined;
  readonly tlsKeyFile?: string | undefined;
  readonly tlsCaFile?: string | undefined;
}

/**
 * Reads TLS_CERT_FILE, TLS_KEY_FILE and TLS_CA_FILE; undefined without a certificate and key
 * (plaintext h2c). Every file that cannot be read is named, as `VARIABLE=path cannot be read: why`.
 */
export function readTlsFiles(settings: TlsFileSettings, readFile: (p: string) => Buffer = (p) => readFileSync(p)): Result<TlsMaterial | undefined, string[]> {
  if (settings.tlsCertFile === undefined || settings.tlsKeyFile === undefined) return ok(undefined);
  const problems: string[] = [];
  const read = (variable: string, path: string): Buffer | undefined => {
    try {
      return readFile(path);
    } catch (e) {
      problems.push(`${variable}=${path} cannot be read: ${(e as Error).message}`);
      return undefined;
    }
  };
  const cert = read("TLS_CERT_FILE", settings.tlsCertFile);
  const key = read("TLS_KEY_FILE", settings.tlsKeyFile);
  const ca = settings.tlsCaFile !== undefined ? read("TLS_CA_FILE", settings.tlsCaFile) : undefined;
  if (cert === undefined || key === undefined || problems.length > 0) return err(problems);
  return ok({ cert, key, ...(ca !== undefined ? { ca } : {}) });
}
