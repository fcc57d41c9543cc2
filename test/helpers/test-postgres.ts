import pg from "pg";

/** The shared test database (.ci/run starts PostgreSQL and creates it). */
export const testPgUrl = process.env["AUDIT_TEST_PG_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";

/** undefined when the test database answers; else why its tests are skipped. */
export async function pgUnreachable(url = testPgUrl): Promise<string | undefined> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    return undefined;
  } catch (e) {
    return `PostgreSQL unreachable at ${url} (${(e as Error).message}): skipped; .ci/run starts it`;
  } finally {
    await c.end().catch(() => {});
  }
}
