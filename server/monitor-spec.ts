// Monitor requests (RFC 7047 §4.1.5, ovsdb-server(7) §4.1.12–4.1.15): parsing <monitor-requests> and
// <monitor-cond-update-requests> into a MonitorSpec, with the reference's error texts, and the canonical
// "shape" key under which monitors that would produce identical update text share one serialization.
import { syntaxError } from '../schema/error.ts';
import { isJsonObject, stringify, type JsonValue } from '../schema/json.ts';
import { MemberParser } from '../schema/parser.ts';
import { UUID_COLUMN, VERSION_COLUMN, type ColumnSchema, type TableSchema } from '../schema/schema.ts';
import { clauseToJson, parseConditions, type Clause } from '../storage/condition.ts';
import type { Database } from '../storage/database.ts';
import { shashOrder } from '../schema/ovs-order.ts';

export type MonitorVersion = 1 | 2 | 3;

/** <monitor-select> flags, as a bit set. */
export const SELECT_INITIAL = 1;
export const SELECT_INSERT = 2;
export const SELECT_DELETE = 4;
export const SELECT_MODIFY = 8;
export const SELECT_ALL = 15;

export interface MonitoredColumn {
  readonly column: ColumnSchema;
  /** Which events report this column (SELECT_* bits). */
  readonly select: number;
}

export interface MonitoredTable {
  readonly table: TableSchema;
  /** Monitored columns in canonical order (_uuid, _version, then schema order). */
  readonly columns: readonly MonitoredColumn[];
  /** Union of the requests' select flags: which events report the row at all. */
  readonly select: number;
  /** Canonical OR-condition: [] matches every row, [false] none (always [] for v1). */
  readonly where: readonly Clause[];
  /**
   * The reference's test for a condition that needs no evaluation: no clauses, or a `true` clause among at
   * most one `false` (its clauses sorted, it looks at the first two). A monitor whose tables all pass it
   * is "unconditional" (see MonitorSpec.sortedKeys). Always true for v1.
   */
  readonly trueCondition: boolean;
  // Per-event column lists, precomputed for the hot path, in the order their members are written: by name
  // when the spec writes sorted keys, else in the reference's column order (see referenceColumnOrder).
  readonly initialColumns: readonly ColumnSchema[];
  readonly insertColumns: readonly ColumnSchema[];
  readonly deleteColumns: readonly ColumnSchema[];
  readonly modifyColumns: readonly ColumnSchema[];
  /** Every monitored column: a modify is reported only if one of these changed. */
  readonly allColumns: readonly ColumnSchema[];
}

export interface MonitorSpec {
  /** 1: <table-updates> (monitor); 2 and 3 share <table-updates2> (monitor_cond, monitor_cond_since). */
  readonly version: MonitorVersion;
  /** Monitored tables by name (tables whose request array was empty are absent). */
  readonly tables: ReadonlyMap<string, MonitoredTable>;
  /**
   * Member order of the update objects. The reference serializes the updates of an unconditional v2/v3
   * monitor once, with sorted keys (tables, rows, columns by name); v1 updates and those of conditional
   * monitors it writes in its hash maps' order (ovs-order.ts), which we reproduce.
   */
  readonly sortedKeys: boolean;
  /**
   * The reference's list of this monitor's tables (every requested table, in the order its table map
   * iterates them): the order tables are added to an update object, before that object's own hash order.
   */
  readonly tableRank: ReadonlyMap<string, number>;
  /** Equal keys ⇔ identical update text for every commit. */
  readonly shapeKey: string;
  /**
   * shapeKey without the conditions: specs of one family write identical text for the same changes
   * whenever their conditions match the same rows (the fan-out composes once for all of them).
   */
  readonly familyKey: string;
}

// ---------------------------------------------------------------------------------------------------------
// Canonical forms

/** Rank for the canonical column order: _uuid, _version, then the user columns in schema order. */
function columnRank(c: ColumnSchema): number {
  if (c.index === UUID_COLUMN) return -2;
  if (c.index === VERSION_COLUMN) return -1;
  return c.index;
}

/**
 * OR semantics make clause order and duplicates irrelevant: a `true` clause makes the condition match all
 * (canonically []), `false` clauses are dropped, and nothing left means match none ([false]).
 */
export function canonicalWhere(clauses: readonly Clause[]): Clause[] {
  if (clauses.length === 0) return [];
  const byText = new Map<string, Clause>();
  for (const c of clauses) {
    if (c.kind === 'const') {
      if (c.value) return [];
      continue;
    }
    byText.set(stringify(clauseToJson(c)), c);
  }
  if (byText.size === 0) return [{ kind: 'const', value: false }];
  return [...byText.keys()].sort().map((k) => byText.get(k)!);
}

export function whereKey(where: readonly Clause[]): string {
  return where.map((c) => stringify(clauseToJson(c))).join(',');
}

/** The reference's `ovsdb_condition_is_true` on a where's clauses as given. */
export function isTrueCondition(clauses: readonly Clause[]): boolean {
  let trues = 0;
  let falses = 0;
  for (const c of clauses) {
    if (c.kind !== 'const') continue;
    if (c.value) trues++;
    else falses++;
  }
  return clauses.length === 0 || (trues > 0 && falses <= 1);
}

const referenceRanks = new WeakMap<TableSchema, Map<string, number>>();

/**
 * The reference's column numbering: _uuid, _version, then the user columns in the order its map of the
 * schema's "columns" object iterates them (the schema text's order hashed). Its monitors add a row's
 * columns to the row object in this order.
 */
function referenceColumnRanks(table: TableSchema): Map<string, number> {
  let r = referenceRanks.get(table);
  if (r === undefined) {
    const order = ['_uuid', '_version', ...shashOrder(table.columns.map((c) => c.name))];
    r = new Map(order.map((n, i) => [n, i]));
    referenceRanks.set(table, r);
  }
  return r;
}

export function makeMonitoredTable(
  table: TableSchema,
  columns: readonly MonitoredColumn[],
  select: number,
  where: readonly Clause[],
  trueCondition = true,
  sortedKeys = false,
): MonitoredTable {
  const sorted = [...columns].sort((a, b) => columnRank(a.column) - columnRank(b.column));
  let written: MonitoredColumn[];
  if (sortedKeys) {
    written = [...sorted].sort((a, b) => (a.column.name < b.column.name ? -1 : a.column.name > b.column.name ? 1 : 0));
  } else {
    const rank = referenceColumnRanks(table);
    written = [...sorted].sort((a, b) => rank.get(a.column.name)! - rank.get(b.column.name)!);
  }
  const pick = (bit: number) => written.filter((c) => (c.select & bit) !== 0).map((c) => c.column);
  return {
    table,
    columns: sorted,
    select,
    where,
    trueCondition,
    initialColumns: pick(SELECT_INITIAL),
    insertColumns: pick(SELECT_INSERT),
    deleteColumns: pick(SELECT_DELETE),
    modifyColumns: pick(SELECT_MODIFY),
    allColumns: written.map((c) => c.column),
  };
}

/**
 * The spec of a monitor of `version` over `tables`; `requested` lists every table the request named, in
 * its text order (tables with an empty request array included), or is the tableRank of the spec this one
 * replaces (a condition change keeps the reference's table list).
 */
export function makeSpec(
  version: MonitorVersion,
  tables: ReadonlyMap<string, MonitoredTable>,
  requested: readonly string[] | ReadonlyMap<string, number>,
): MonitorSpec {
  let sortedKeys = version !== 1;
  for (const mt of tables.values()) if (!mt.trueCondition) sortedKeys = false;
  const fixed = new Map<string, MonitoredTable>();
  for (const [name, mt] of tables) {
    fixed.set(name, makeMonitoredTable(mt.table, mt.columns, mt.select, mt.where, mt.trueCondition, sortedKeys));
  }
  let tableRank: ReadonlyMap<string, number>;
  if (Array.isArray(requested)) {
    // The request object's map, iterated, fills the monitor's table map, which is iterated in turn.
    const order = shashOrder(shashOrder(requested as readonly string[]));
    tableRank = new Map(order.map((n, i) => [n, i]));
  } else {
    tableRank = requested as ReadonlyMap<string, number>;
  }
  // v2 and v3 bodies are identical, so they share a shape. The table rank orders the tables of hash-order
  // updates.
  let family = version === 1 ? '1' : sortedKeys ? '2s' : '2';
  if (!sortedKeys && fixed.size > 1) family += `\t${[...tableRank.keys()].join(',')}`;
  let key = family;
  for (const name of [...fixed.keys()].sort()) {
    const mt = fixed.get(name)!;
    let t = `\n${name}\t${mt.select}\t`;
    for (const c of mt.columns) t += `${c.column.name}:${c.select},`;
    family += t;
    key += `${t}\t${whereKey(mt.where)}`;
  }
  return { version, tables: fixed, sortedKeys, tableRank, shapeKey: key, familyKey: family };
}

// ---------------------------------------------------------------------------------------------------------
// monitor / monitor_cond / monitor_cond_since requests

function parseSelect(tableName: string, json: JsonValue | undefined): number {
  if (json === undefined) return SELECT_ALL;
  const p = new MemberParser(json as { [k: string]: JsonValue }, `table ${tableName} select`);
  let select = 0;
  const flags: [string, number][] = [
    ['initial', SELECT_INITIAL],
    ['insert', SELECT_INSERT],
    ['delete', SELECT_DELETE],
    ['modify', SELECT_MODIFY],
  ];
  for (const [name, bit] of flags) if (p.optional(name, 'boolean') !== false) select |= bit;
  p.finish();
  return select;
}

/**
 * Parses the <monitor-requests> (v1) or <monitor-cond-requests> (v2, v3) object of a monitor request.
 * Throws OvsdbError with the reference's texts. Each table maps to one request or an array of them; several
 * requests of one table may pick different columns with their own select flags. The table's condition is
 * the `where` of its first request (later ones are checked, then ignored, as the reference does).
 */
export function parseMonitorRequest(db: Database, version: MonitorVersion, monitorRequests: JsonValue): MonitorSpec {
  if (!isJsonObject(monitorRequests)) throw syntaxError('monitor-requests must be object', monitorRequests);
  const entries = Object.entries(monitorRequests);
  // Every table name is checked before any request is parsed.
  for (const [name] of entries) {
    if (!db.schema.tables.has(name)) throw syntaxError(`no table named ${name}`);
  }
  const tables = new Map<string, MonitoredTable>();
  for (const [name, json] of entries) {
    const table = db.schema.tables.get(name)!;
    const requests = Array.isArray(json) ? json : [json];
    if (requests.length === 0) continue;
    const columns = new Map<string, MonitoredColumn>();
    let select = 0;
    let where: Clause[] | undefined;
    for (const request of requests) {
      if (!isJsonObject(request)) throw syntaxError(`Parsing table ${name} failed: Object expected.`);
      const p = new MemberParser(request, `table ${name}`);
      const columnsJson = p.optional('columns', 'array') as JsonValue[] | undefined;
      const whereJson = version === 1 ? undefined : p.optional('where', 'array');
      const selectJson = p.optional('select', 'object');
      p.finish();
      const rselect = parseSelect(name, selectJson);
      select |= rselect;
      if (columnsJson === undefined) {
        // All columns but _uuid; a clash here has no `syntax` (there is no column array to show).
        for (const c of [table.columnsByName.get('_version')!, ...table.columns]) {
          if (columns.has(c.name)) throw syntaxError(`column ${c.name} mentioned more than once`);
          columns.set(c.name, { column: c, select: rselect });
        }
      } else {
        for (const n of columnsJson) {
          if (typeof n !== 'string') throw syntaxError('array of column names expected', columnsJson);
          const c = table.columnsByName.get(n);
          if (c === undefined) throw syntaxError(`${n} is not a valid column name`, columnsJson);
          if (columns.has(n)) throw syntaxError(`column ${n} mentioned more than once`, columnsJson);
          columns.set(n, { column: c, select: rselect });
        }
      }
      if (version !== 1) {
        const clauses = parseConditions(table, whereJson ?? []);
        if (where === undefined) where = clauses;
      }
    }
    const clauses = where ?? [];
    tables.set(name, makeMonitoredTable(table, [...columns.values()], select, canonicalWhere(clauses), isTrueCondition(clauses)));
  }
  return makeSpec(version, tables, entries.map(([name]) => name));
}

// ---------------------------------------------------------------------------------------------------------
// monitor_cond_change requests

/**
 * Parses <monitor-cond-update-requests> against a monitor's spec: table name → array of
 * {"where": [...]} objects (the last one wins; an empty array changes nothing). Returns the new canonical
 * conditions of the tables that got one. For a v1 monitor everything but the clauses is checked and the
 * result is empty. Throws OvsdbError with the reference's texts; nothing is changed on error.
 */
export function parseConditionChange(
  db: Database,
  spec: MonitorSpec,
  requests: JsonValue,
): Map<string, { where: Clause[]; trueCondition: boolean }> {
  if (!isJsonObject(requests)) throw syntaxError('monitor-cond-change-requests must be object');
  const out = new Map<string, { where: Clause[]; trueCondition: boolean }>();
  const entries = Object.entries(requests);
  // Every table name is checked before any request is parsed.
  for (const [name] of entries) {
    if (!db.schema.tables.has(name)) throw syntaxError(`no table named ${name}`);
    if (!spec.tables.has(name)) throw syntaxError(`no table named ${name} in monitor session`);
  }
  for (const [name, json] of entries) {
    const table = db.schema.tables.get(name)!;
    if (!Array.isArray(json)) throw syntaxError(`table ${name} no monitor-cond-change JSON array`);
    for (const request of json) {
      if (!isJsonObject(request)) throw syntaxError(`Parsing table ${name} failed: Object expected.`);
      const p = new MemberParser(request, `table ${name}`);
      const columnsJson = p.optional('columns', 'array');
      const whereJson = p.optional('where', 'array');
      p.finish();
      if (columnsJson !== undefined) throw syntaxError('changing columns is unsupported', request);
      // The reference crashes on a request without `where`; we read it as "match all".
      if (spec.version !== 1) {
        const clauses = parseConditions(table, whereJson ?? []);
        out.set(name, { where: canonicalWhere(clauses), trueCondition: isTrueCondition(clauses) });
      }
    }
  }
  return out;
}
