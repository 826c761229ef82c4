// `ovsdb-ts tool show-log [-m[m]] DB`: our rendering of a database's records, laid out as ovsdb-tool prints
// them (record headers, `-m` row summaries, `-mm` column values). Dates are UTC with milliseconds.
import { atomToString } from '../schema/atom.ts';
import { datumFromJson, type Datum } from '../schema/datum.ts';
import { isJsonObject, stringify, type JsonObject, type JsonValue } from '../schema/json.ts';
import type { DatabaseSchema, TableSchema } from '../schema/schema.ts';
import type { ColumnType } from '../schema/types.ts';

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/** `2026-11-21 20:53:25.974` (UTC, as ovsdb-tool prints `_date`). */
export function formatDate(ms: number): string {
  const d = new Date(ms);
  return (
    `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`
  );
}

/** A datum as ovsdb-tool -mm shows it: `a`, `[a, b]` for sets (and for 0 or 2+ elements), `{k=v}` for maps. */
export function datumText(type: ColumnType, d: Datum): string {
  const kt = type.key.type;
  if (type.value) {
    const vt = type.value.type;
    return `{${d.keys.map((k, i) => `${atomToString(kt, k)}=${atomToString(vt, d.values![i])}`).join(', ')}}`;
  }
  const parts = d.keys.map((k) => atomToString(kt, k));
  if (parts.length === 1 && type.max === 1) return parts[0];
  return `[${parts.join(', ')}]`;
}

function valueText(table: TableSchema, column: string, json: JsonValue): string {
  const col = table.columnsByName.get(column);
  if (col === undefined) return stringify(json);
  try {
    return datumText(col.type, datumFromJson(col.type, json, { checkConstraints: false, ignoreSize: true }));
  } catch {
    return stringify(json);
  }
}

/** Renders records as show-log does. `records[0]` is the schema record. */
export class ShowLogRenderer {
  /** Row labels remembered from inserts (the `name` column's JSON), by uuid. */
  private readonly names = new Map<string, string>();

  constructor(
    private readonly schema: DatabaseSchema,
    private readonly more: number,
  ) {}

  schemaRecord(): string {
    const s = this.schema;
    return `record 0: "${s.name}" schema, version="${s.version}", cksum="${s.cksum}"\n\n`;
  }

  record(n: number, rec: JsonObject): string {
    let out = `record ${n}:`;
    if (typeof rec._date === 'number' || typeof rec._date === 'bigint') out += ` ${formatDate(Number(rec._date))}`;
    if (typeof rec._comment === 'string') out += ` "${rec._comment}"`; // printed raw, as ovsdb-tool does
    out += '\n';
    if (this.more === 0) return out;
    for (const [tname, rows] of Object.entries(rec)) {
      if (tname.startsWith('_') || !isJsonObject(rows)) continue;
      const table = this.schema.tables.get(tname);
      for (const [uuid, row] of Object.entries(rows)) {
        const short = uuid.slice(0, 8);
        const named = this.names.get(uuid);
        if (row === null) {
          out += `  table ${tname} row ${named ?? short} (${short})${rec._is_diff === true ? ' diff' : ''}:\n    delete row\n`;
          this.names.delete(uuid);
          continue;
        }
        if (!isJsonObject(row)) continue;
        const isNew = named === undefined && !this.names.has(`seen:${uuid}`);
        if (isNew) {
          const label = row.name !== undefined ? stringify(row.name) : undefined;
          if (label !== undefined) this.names.set(uuid, label);
          this.names.set(`seen:${uuid}`, '');
          out += label !== undefined ? `  table ${tname} insert row ${label} (${short}):\n` : `  table ${tname} insert row ${short}:\n`;
        } else {
          out += `  table ${tname} row ${named ?? short} (${short})${rec._is_diff === true ? ' diff' : ''}:\n`;
        }
        if (this.more > 1 && table !== undefined) {
          for (const [col, v] of Object.entries(row)) out += `    ${col}=${valueText(table, col, v)}\n`;
        }
      }
    }
    return out + '\n';
  }
}
