// Online schema conversion (`convert`, reference §3.16): every row of every table in both schemas is copied
// with its UUID; shared columns are converted by JSON round trip under the new constraints; then the usual
// commit checks (garbage collection, references, indexes) run on the new database.
import { newUuid } from '../schema/atom.ts';
import { datumFromJson, datumToJson } from '../schema/datum.ts';
import { OvsdbError } from '../schema/error.ts';
import type { JsonObject, JsonValue } from '../schema/json.ts';
import type { DatabaseSchema } from '../schema/schema.ts';
import { Database } from '../storage/database.ts';
import { execute } from '../storage/execution.ts';
import type { OvsdbServer, ServedDatabase } from './server.ts';

/** Builds the converted database; throws OvsdbError when the data does not fit the new schema. */
export function convertedDatabase(old: Database, schema: DatabaseSchema): Database {
  const db = new Database(schema);
  const ops: JsonValue[] = [];
  for (const [tname, newTable] of schema.tables) {
    const oldTable = old.tables.get(tname);
    if (oldTable === undefined) continue;
    for (const row of oldTable.rows.values()) {
      const out: JsonObject = {};
      for (const col of newTable.columns) {
        const oldCol = oldTable.schema.columnsByName.get(col.name);
        if (oldCol === undefined || oldCol.index < 0) continue;
        const json = datumToJson(oldCol.type, row.data[oldCol.index]);
        // Validates and normalizes under the new type; errors propagate with the reference's texts.
        datumFromJson(col.type, json);
        out[col.name] = json;
      }
      ops.push({ op: 'insert', table: tname, uuid: row.uuid, row: out });
    }
  }
  const result = execute(db, ops);
  if (result.kind !== 'done') throw new OvsdbError('internal error', 'conversion blocked');
  if (result.error) throw result.error;
  if (result.commit) db.apply(result.commit);
  return db;
}

export function convertDatabase(server: OvsdbServer, served: ServedDatabase, schema: DatabaseSchema): void {
  const db = convertedDatabase(served.db, schema);
  served.storage?.writeSnapshot?.(db, 'converted by ovsdb-server', newUuid());
  server.replaceDatabase(served.name, db, `committed ${served.name} database schema conversion`);
}
