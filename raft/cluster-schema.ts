// Schemas in clustered files (raft.md §1.5): stored normalized, with every column persistent (clusters do not
// support ephemeral columns). The warning names one changed column the way ovsdb-tool does: the last one it
// meets walking its schema tables, whose order is its hash order of the names as it built them.
import { isJsonObject, type JsonObject, type JsonValue } from '../schema/json.ts';
import { ovsHashOrder } from '../schema/ovs-hash-order.ts';
import { parseSchema, schemaToJson, type ColumnSchema, type DatabaseSchema, type TableSchema } from '../schema/schema.ts';

export interface ClusterSchema {
  /** The schema with every column persistent. */
  readonly schema: DatabaseSchema;
  /** Its normalized JSON (what prev_data[0] and conversion entries hold). */
  readonly json: JsonObject;
  /** Columns that were ephemeral. */
  readonly changed: number;
  /** The WARN text to log (without the log prefix), or null when nothing changed. */
  readonly warning: string | null;
}

/** The schema with every column persistent. */
export function persistAllColumns(schema: DatabaseSchema): DatabaseSchema {
  const tables = new Map<string, TableSchema>();
  for (const [name, t] of schema.tables) {
    const columns: ColumnSchema[] = t.columns.map((c) => (c.persistent ? c : { ...c, persistent: true, declaredEphemeral: false }));
    const columnsByName = new Map(t.columnsByName);
    for (const c of columns) columnsByName.set(c.name, c);
    const byName = new Map(columns.map((c) => [c.name, c]));
    const indexes = t.indexes.map((cols) => cols.map((c) => byName.get(c.name) ?? c));
    tables.set(name, { ...t, columns, columnsByName, indexes });
  }
  return { ...schema, tables };
}

/**
 * The order ovsdb-tool walks tables and columns of a schema it parsed from `json` (members in text order):
 * the JSON object's hash order, re-inserted into the schema's tables (and, for columns, after _uuid and
 * _version); `cloned`: once more, as when the schema came from a database file (ovsdb-tool clones it).
 */
function ovsWalk(json: JsonObject, cloned: boolean): Array<[table: string, columns: string[]]> {
  const tablesJson = isJsonObject(json.tables) ? json.tables : {};
  let tables = ovsHashOrder(ovsHashOrder(Object.keys(tablesJson)));
  if (cloned) tables = ovsHashOrder(tables);
  return tables.map((t) => {
    const tj = tablesJson[t];
    const colsJson = isJsonObject(tj) && isJsonObject(tj.columns) ? tj.columns : {};
    let cols = ovsHashOrder(['_uuid', '_version', ...ovsHashOrder(Object.keys(colsJson))]);
    if (cloned) cols = ovsHashOrder(['_uuid', '_version', ...cols.filter((c) => !c.startsWith('_'))]);
    return [t, cols];
  });
}

/**
 * Makes a schema cluster-ready as ovsdb-tool create-cluster (and convert against a cluster) do. `sourceJson`
 * is the schema as read (member order as in the text), `fileName` what the warning names, `fromDatabase`
 * when the schema came from a standalone database file rather than a schema file.
 */
export function clusterSchema(sourceJson: JsonValue, fileName: string, opts: { fromDatabase?: boolean } = {}): ClusterSchema {
  const parsed = parseSchema(sourceJson);
  let changed = 0;
  let example: [string, string] | null = null;
  for (const [tname, cols] of ovsWalk(sourceJson as JsonObject, opts.fromDatabase ?? false)) {
    const t = parsed.tables.get(tname);
    if (t === undefined) continue;
    for (const cname of cols) {
      const c = t.columnsByName.get(cname);
      if (c === undefined || c.index < 0 || c.persistent) continue;
      changed++;
      example = [tname, cname];
    }
  }
  const schema = changed ? persistAllColumns(parsed) : parsed;
  const warning =
    example === null
      ? null
      : `${fileName}: changed ${changed} columns in '${parsed.name}' database from ephemeral to persistent, including '${example[1]}' column in '${example[0]}' table, because clusters do not support ephemeral columns`;
  return { schema, json: schemaToJson(schema), changed, warning };
}
