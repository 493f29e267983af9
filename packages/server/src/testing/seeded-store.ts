import { BUILTIN_TEMPLATES } from '@agenttier/core';
import { SqliteStore } from '@agenttier/platform-local';

/** The real SQLite store in memory, holding the built-in templates as a fresh install does. */
export async function seededStore(): Promise<SqliteStore> {
  const store = new SqliteStore({ path: ':memory:' });
  for (const t of BUILTIN_TEMPLATES) await store.create(structuredClone(t));
  return store;
}
