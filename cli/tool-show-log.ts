// `ovsdb-ts tool show-log [-m[m]] DB`: our rendering of a database's records, laid out as ovsdb-tool prints
// them (record headers, `-m` row summaries, `-mm` column values), for standalone and clustered files. Dates
// are UTC with milliseconds.
import { atomToString } from '../schema/atom.ts';
import { datumFromJson, type Datum } from '../schema/datum.ts';
import { isJsonObject, stringifySorted, type JsonObject, type JsonValue } from '../schema/json.ts';
import { ovsHashOrder } from '../schema/ovs-hash-order.ts';
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

function valueText(table: TableSchema | undefined, column: string, json: JsonValue): string {
  const col = table?.columnsByName.get(column);
  if (col === undefined) return stringifySorted(json);
  try {
    return datumText(col.type, datumFromJson(col.type, json, { checkConstraints: false, ignoreSize: true }));
  } catch {
    return stringifySorted(json);
  }
}

const INT32_MAX = 2147483647;

/**
 * Renders records as ovsdb-tool show-log does: tables, rows and columns in the order OVS walks the parsed
 * record (its hash order), rows named by their "name" column once an insert has shown one.
 */
export class ShowLogRenderer {
  /** How each row was last labelled: its "name" column's JSON, or the first 8 characters of its uuid. */
  private readonly names = new Map<string, string>();

  constructor(
    private schema: DatabaseSchema | null,
    private readonly more: number,
  ) {}

  /** Used for -mm values from now on (a clustered log's schema comes with the data). */
  setSchema(schema: DatabaseSchema): void {
    this.schema = schema;
  }

  /** Record 0 of a standalone file. */
  schemaRecord(): string {
    const s = this.schema!;
    return `record 0: "${s.name}" schema, version="${s.version}", cksum="${s.cksum}"\n\n`;
  }

  /** Records 1..n of a standalone file. */
  record(n: number, rec: JsonObject): string {
    return `record ${n}:${this.change(rec)}\n`;
  }

  /**
   * One transaction: ` <date> "<comment>"` (no newline), then with -m a newline and a line per row change
   * (with -mm a line per column). Nothing at all for a non-object.
   */
  change(rec: JsonValue): string {
    if (!isJsonObject(rec)) return '';
    let out = '';
    const date = rec._date;
    if ((typeof date === 'number' && Number.isInteger(date)) || typeof date === 'bigint') {
      let t = Number(date);
      if (t < INT32_MAX) t *= 1000; // old files wrote seconds
      out += ` ${formatDate(t)}`;
    }
    if (typeof rec._comment === 'string') out += ` "${rec._comment}"`; // printed raw, as ovsdb-tool does
    if (this.more > 0) out += this.changes(rec);
    return out;
  }

  private changes(rec: JsonObject): string {
    const diff = rec._is_diff === true;
    let out = '';
    let nTables = 0;
    for (const tname of ovsHashOrder(Object.keys(rec))) {
      const rows = rec[tname];
      if (tname.startsWith('_') || !isJsonObject(rows)) continue;
      if (nTables++ === 0) out += '\n';
      const table = this.schema?.tables.get(tname);
      for (const uuid of ovsHashOrder(Object.keys(rows))) {
        const row = rows[uuid];
        const short = uuid.slice(0, 8);
        const oldName = this.names.get(uuid);
        const newName = isJsonObject(row) && row.name !== undefined ? stringifySorted(row.name) : undefined;
        out += `  table ${tname}`;
        if (oldName === undefined) out += newName !== undefined ? ` insert row ${newName} (${short}):\n` : ` insert row ${short}:\n`;
        else out += ` row ${oldName} (${short})${diff ? ' diff' : ''}:\n`;
        if (isJsonObject(row)) {
          if (this.more > 1) {
            for (const col of ovsHashOrder(Object.keys(row))) out += `    ${col}=${valueText(table, col, row[col]!)}\n`;
          }
          if (newName !== undefined && newName !== oldName) this.names.set(uuid, newName);
          else if (oldName === undefined) this.names.set(uuid, short);
        } else if (row === null) {
          out += '    delete row\n';
          this.names.delete(uuid);
        }
      }
    }
    return out;
  }
}
