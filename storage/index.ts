// The engine's front door for tests, tools and the server.
import type { JsonValue } from '../schema/json.ts';
import { parseSchema } from '../schema/schema.ts';
import { Database } from './database.ts';
import { execute, type TransactContext } from './execution.ts';

export { Database } from './database.ts';
export type { Commit, RowChange } from './database.ts';
export { execute } from './execution.ts';
export type { TransactContext, TransactOutcome } from './execution.ts';

export function createDatabase(schemaJson: unknown): Database {
  return new Database(parseSchema(schemaJson as JsonValue));
}

/** Executes and, on success, applies a transaction; returns the reply's result array. */
export function transactJson(db: Database, ops: JsonValue[], ctx: TransactContext = {}): JsonValue[] {
  const out = execute(db, ops, ctx);
  if (out.kind === 'blocked') {
    return [...ops.map(() => null as JsonValue)];
  }
  if (out.commit) db.apply(out.commit);
  return out.result;
}
