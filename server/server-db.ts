// The built-in `_Server` database (reference §4, ovsdb-server(5)): one Database row per served database,
// including _Server itself, kept current by internal transactions so clients can monitor it.
import type { JsonValue } from '../schema/json.ts';
import { stringifySorted } from '../schema/json.ts';
import { parseSchema, schemaToJson, type DatabaseSchema } from '../schema/schema.ts';
import { Database } from '../storage/database.ts';

export const SERVER_DB_NAME = '_Server';

export const SERVER_SCHEMA_JSON = {
  name: '_Server',
  version: '1.2.0',
  cksum: '3009684573 744',
  tables: {
    Database: {
      columns: {
        name: { type: 'string' },
        model: { type: { key: { type: 'string', enum: ['set', ['clustered', 'relay', 'standalone']] } } },
        connected: { type: 'boolean' },
        leader: { type: 'boolean' },
        schema: { type: { key: 'string', min: 0 } },
        cid: { type: { key: 'uuid', min: 0 } },
        sid: { type: { key: 'uuid', min: 0 } },
        index: { type: { key: 'integer', min: 0 } },
      },
      isRoot: true,
    },
  },
} as const;

export function createServerDatabase(): Database {
  return new Database(parseSchema(SERVER_SCHEMA_JSON as unknown as JsonValue));
}

/** What the _Server Database row of one database holds. */
export interface DatabaseStatus {
  readonly name: string;
  readonly schema: DatabaseSchema;
  readonly model: 'standalone' | 'clustered' | 'relay';
  readonly connected: boolean;
  readonly leader: boolean;
}

/** The `schema` column: normalized schema as compact JSON with sorted keys. */
export function schemaColumnText(schema: DatabaseSchema): string {
  return stringifySorted(schemaToJson(schema));
}
