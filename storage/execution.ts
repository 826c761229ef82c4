// Executes the operations of a `transact` (RFC 7047 §5.2) against a Database: parse each operation with the
// reference's errors, run it on a Transaction, stop at the first failure, then run the commit checks.
// Nothing is applied here: the caller writes the commit to storage first, then applies it.
import { checkAtom, isUuid, newUuid, type NamedUuids } from '../schema/atom.ts';
import { compareDatums, datumFromJson, type Datum, type DatumParseOptions } from '../schema/datum.ts';
import { constraintViolation, OvsdbError, syntaxError } from '../schema/error.ts';
import { isJsonObject, type JsonObject, type JsonValue } from '../schema/json.ts';
import { MemberParser } from '../schema/parser.ts';
import type { ColumnSchema, TableSchema } from '../schema/schema.ts';
import { matchesAll, parseConditions, unknownColumn, uuidLookup, type Clause } from './condition.ts';
import { commitIsEmpty, valuesKey, type Commit, type Database } from './database.ts';
import { applyMutation, parseMutation } from './mutation.ts';
import { allColumns, columnValue, defaultData, nextVersion, rowToJson, type Row } from './row.ts';
import { Transaction } from './transaction.ts';
import { checkDelete, checkInsert, checkModify, type RbacIdentity } from './rbac.ts';

export interface TransactContext {
  /** Backup role or a read-only remote: write operations fail with "not allowed". */
  readonly readOnly?: boolean;
  /** The built-in _Server database: table writes fail with "not allowed". */
  readonly reserved?: boolean;
  /** Lock ownership of the requesting session, for `assert`. */
  ownsLock?(name: string): boolean;
  /** Milliseconds since the request arrived, for `wait` timeouts. */
  readonly elapsedMs?: number;
  /** Role-based access control of the session (only when the schema has RBAC_Role and a role is set). */
  readonly rbac?: RbacIdentity;
  /**
   * A relay's copy (raft.md §5.2): when every operation executed and at least one of them writes, stop
   * before the commit checks and report `forward` — the source checks and commits the original request.
   */
  readonly forwardWrites?: boolean;
}

export type TransactOutcome =
  | {
      readonly kind: 'done';
      /** The reply's result array (without a commit-time error, which the caller appends on failure). */
      readonly result: JsonValue[];
      /** The prepared commit, or null if an operation failed or nothing changed. */
      readonly commit: Commit | null;
      /** The failure (an operation's or the commit checks'), already in `result`; null on success. */
      readonly error: OvsdbError | null;
      /** With `forwardWrites`: write operations executed cleanly; commit is null, the source decides. */
      readonly forward?: boolean;
    }
  | {
      readonly kind: 'blocked';
      /** ms from the request's arrival after which the wait fails; null waits forever. */
      readonly timeoutMs: number | null;
    };

const OPS = new Set(['insert', 'select', 'update', 'mutate', 'delete', 'wait', 'commit', 'abort', 'comment', 'assert']);

class Symbols implements NamedUuids {
  readonly map = new Map<string, { uuid: string; defined: boolean }>();
  resolve(name: string): string {
    let e = this.map.get(name);
    if (e === undefined) this.map.set(name, (e = { uuid: newUuid(), defined: false }));
    return e.uuid;
  }
}

class Blocked {
  constructor(readonly timeoutMs: number | null) {}
}

/** Per table, the columns whose default is a single atom that fails the column's constraints. */
const badDefaults = new WeakMap<TableSchema, readonly ColumnSchema[]>();
function violatingDefaults(table: TableSchema): readonly ColumnSchema[] {
  let r = badDefaults.get(table);
  if (r === undefined) {
    const bad: ColumnSchema[] = [];
    const defaults = defaultData(table);
    for (const c of table.columns) {
      const d = defaults[c.index];
      if (d.keys.length !== 1) continue;
      try {
        checkAtom(c.type.key, d.keys[0]);
        if (c.type.value && d.values) checkAtom(c.type.value, d.values[0]);
      } catch (e) {
        if (!(e instanceof OvsdbError)) throw e;
        bad.push(c);
      }
    }
    badDefaults.set(table, (r = bad));
  }
  return r;
}

class Executor {
  readonly txn: Transaction;
  readonly symbols = new Symbols();
  /** A write operation (insert, update, mutate, delete, commit) got past its checks. */
  wrote = false;
  /** One options object for every value parsed in this transaction. */
  private readonly parseOptions: DatumParseOptions = { symtab: this.symbols };

  constructor(
    readonly db: Database,
    readonly ctx: TransactContext,
  ) {
    this.txn = new Transaction(db);
  }

  run(op: JsonValue, i: number, n: number): JsonValue {
    const what = `ovsdb operation ${i + 1} of ${n}`;
    if (!isJsonObject(op)) throw syntaxError(`Parsing ${what} failed: Object expected.`);
    const p = new MemberParser(op, what);
    const name = p.required('op', 'string') as string;
    if (!OPS.has(name)) throw p.error(`No operation "${name}"`);
    switch (name) {
      case 'insert':
        return this.insert(p);
      case 'select':
        return this.select(p);
      case 'update':
        return this.update(p);
      case 'mutate':
        return this.mutate(p);
      case 'delete':
        return this.delete(p);
      case 'wait':
        return this.wait(p);
      case 'commit': {
        const durable = p.required('durable', 'boolean') as boolean;
        p.finish();
        this.checkWritable('commit');
        if (durable) this.txn.durable = true;
        return {};
      }
      case 'abort':
        p.finish();
        throw new OvsdbError('aborted', 'aborted by request');
      case 'comment': {
        const c = p.required('comment', 'string') as string;
        p.finish();
        this.txn.comment = this.txn.comment === '' ? c : `${this.txn.comment}\n${c}`;
        return {};
      }
      default: {
        const lock = p.required('lock', 'id') as string;
        p.finish();
        if (!this.ctx.ownsLock?.(lock)) throw new OvsdbError('not owner', `Asserted lock ${lock} not held.`);
        return {};
      }
    }
  }

  /**
   * Write operations on a read-only session (backup, read_only remote) or on _Server fail with "not
   * allowed" only once the operation parsed cleanly, as the reference checks them, so parse errors win.
   */
  private checkWritable(op: string): void {
    if (this.ctx.readOnly)
      throw new OvsdbError('not allowed', `${op} operation not allowed when database server is in read only mode`);
    if (this.ctx.reserved) throw new OvsdbError('not allowed', `${op} operation not allowed on table in reserved database ${this.db.name}`);
    this.wrote = true;
  }

  private table(p: MemberParser): TableSchema {
    const name = p.required('table', 'id') as string;
    const t = this.db.schema.tables.get(name);
    if (t === undefined) throw p.error(`No table named ${name}.`);
    return t;
  }

  private where(p: MemberParser, table: TableSchema): Clause[] {
    return parseConditions(table, p.required('where', 'array'), this.symbols);
  }

  /** Parses a <row> for insert/update/wait; values are constraint-checked as they are parsed. */
  /** The value of member `name` of a <row>, parsed for its column. */
  private parseValue(table: TableSchema, json: JsonObject, name: string): { col: ColumnSchema; d: Datum } {
    const col = table.columnsByName.get(name);
    if (col === undefined) throw unknownColumn(table, name, json);
    return { col, d: datumFromJson(col.type, json[name], this.parseOptions) };
  }

  private parseRow(table: TableSchema, json: JsonObject): Map<ColumnSchema, Datum> {
    const values = new Map<ColumnSchema, Datum>();
    for (const name in json) {
      const { col, d } = this.parseValue(table, json, name);
      values.set(col, d);
    }
    return values;
  }

  private matching(table: TableSchema, where: Clause[]): Row[] {
    const uuid = uuidLookup(where);
    if (uuid !== undefined) {
      const row = this.txn.get(table.name, uuid);
      return row && matchesAll(where, row) ? [row] : [];
    }
    const out: Row[] = [];
    const committed = this.txn.committedRowsIfUnchanged(table.name);
    if (committed !== null) {
      for (const row of committed.values()) if (matchesAll(where, row)) out.push(row);
    } else {
      for (const row of this.txn.rows(table.name)) if (matchesAll(where, row)) out.push(row);
    }
    return out;
  }

  private insert(p: MemberParser): JsonValue {
    const table = this.table(p);
    const rowJson = p.required('row', 'object') as JsonObject;
    const uuidName = p.optional('uuid-name', 'id') as string | undefined;
    const uuidJson = p.optional('uuid', 'string') as string | undefined;
    p.finish();
    let uuid: string;
    if (uuidJson !== undefined) {
      if (!isUuid(uuidJson)) throw syntaxError('bad uuid', uuidJson);
      uuid = uuidJson.toLowerCase();
      if (this.txn.usedUuid(table.name, uuid))
        throw new OvsdbError(
          'duplicate uuid',
          'This UUID would duplicate a UUID already present within the table or deleted within the same transaction.',
          { syntax: uuidJson },
        );
    }
    if (uuidName !== undefined) {
      const e = this.symbols.map.get(uuidName);
      if (e?.defined)
        throw new OvsdbError('duplicate uuid-name', 'This "uuid-name" appeared on an earlier "insert" operation.', {
          syntax: uuidName,
        });
      if (uuidJson !== undefined) this.symbols.map.set(uuidName, { uuid: uuid!, defined: true });
      else if (e !== undefined) {
        uuid = e.uuid; // named by an earlier forward reference
        e.defined = true;
      } else {
        uuid = newUuid();
        this.symbols.map.set(uuidName, { uuid, defined: true });
      }
    }
    uuid ??= newUuid();
    // The row: the given values (constraint-checked as parsed) over the column defaults.
    const defaults = defaultData(table);
    const data = defaults.slice();
    for (const name in rowJson) {
      const { col, d } = this.parseValue(table, rowJson, name);
      if (col.index >= 0) data[col.index] = d; // given _uuid / _version are parsed (and checked), not stored
    }
    // Defaults can violate constraints too (every single-element value is checked; given ones passed when
    // parsed, so only the table's violating defaults that were not replaced can fail).
    for (const c of violatingDefaults(table)) {
      const d = data[c.index];
      if (d !== defaults[c.index]) continue;
      checkAtom(c.type.key, d.keys[0]);
      if (c.type.value && d.values) checkAtom(c.type.value, d.values[0]);
    }
    this.checkWritable('insert');
    // The new row's _version exists from now on (a select later in this transaction shows it), as the
    // reference's; the commit keeps it.
    const row = { uuid, version: nextVersion(), data };
    if (this.ctx.rbac) checkInsert(this.db, this.ctx.rbac, table, row);
    this.txn.insert(table.name, row);
    return { uuid: ['uuid', uuid] };
  }

  private columnList(table: TableSchema, json: JsonValue | undefined): ColumnSchema[] | undefined {
    if (json === undefined) return undefined;
    const arr = json as JsonValue[];
    const cols: ColumnSchema[] = [];
    for (const name of arr) {
      if (typeof name !== 'string') throw syntaxError('array of distinct column names expected', json);
      const c = table.columnsByName.get(name);
      if (c === undefined) throw syntaxError(`${name} is not a valid column name`, json);
      if (cols.includes(c)) throw syntaxError('array of distinct column names expected', json);
      cols.push(c);
    }
    return cols;
  }

  private select(p: MemberParser): JsonValue {
    const table = this.table(p);
    const where = this.where(p, table);
    const columnsJson = p.optional('columns', 'array');
    const sortJson = p.optional('sort', 'array');
    p.finish();
    const columns = this.columnList(table, columnsJson);
    const sort = this.columnList(table, sortJson);
    let rows = this.matching(table, where);
    if (sort && sort.length > 0) {
      rows = rows.slice().sort((a, b) => {
        for (const c of sort) {
          const r = compareDatums(columnValue(a, c), columnValue(b, c));
          if (r !== 0) return r;
        }
        return 0;
      });
    }
    const outCols = columns ?? allColumns(table);
    const dedupe = columns !== undefined && !columns.some((c) => c.name === '_uuid');
    const seen = dedupe ? new Set<string>() : undefined;
    const out: JsonValue[] = [];
    for (const row of rows) {
      if (seen) {
        const k = valuesKey(row.data, outCols, row);
        if (seen.has(k)) continue;
        seen.add(k);
      }
      out.push(rowToJson(row, outCols));
    }
    return { rows: out };
  }

  private update(p: MemberParser): JsonValue {
    const table = this.table(p);
    const where = this.where(p, table);
    const rowJson = p.required('row', 'object') as JsonObject;
    p.finish();
    const values = this.parseRow(table, rowJson);
    for (const c of values.keys())
      if (!c.mutable)
        throw constraintViolation(`Cannot update immutable column ${c.name} in table ${table.name}.`, p.json);
    this.checkWritable('update');
    const rows = this.matching(table, where);
    const changes = rows.map((row) => {
      const data = row.data.slice();
      for (const [c, d] of values) data[c.index] = d;
      return { before: row, after: { uuid: row.uuid, version: row.version, data } };
    });
    if (this.ctx.rbac) checkModify(this.db, this.ctx.rbac, table, changes, [...values.keys()], 'update');
    for (const ch of changes) this.txn.update(table.name, ch.after);
    return { count: rows.length };
  }

  private mutate(p: MemberParser): JsonValue {
    const table = this.table(p);
    const where = this.where(p, table);
    const mutationsJson = p.required('mutations', 'array') as JsonValue[];
    p.finish();
    const mutations = mutationsJson.map((m) => parseMutation(table, m, this.symbols));
    this.checkWritable('mutate');
    const rows = this.matching(table, where);
    if (this.ctx.rbac) {
      // Permissions are checked before any row is mutated, as the reference does.
      const cols = mutations.map((m) => m.column);
      const preview = rows.map((row) => {
        const data = row.data.slice();
        try {
          for (const mu of mutations) data[mu.column.index] = applyMutation(mu, data[mu.column.index]);
        } catch {
          // Mutation errors are reported below, after the permission check.
        }
        return { before: row, after: { uuid: row.uuid, version: row.version, data } };
      });
      checkModify(this.db, this.ctx.rbac, table, preview, cols, 'mutate');
    }
    for (const row of rows) {
      const data = row.data.slice();
      for (const mu of mutations) data[mu.column.index] = applyMutation(mu, data[mu.column.index]);
      this.txn.update(table.name, { uuid: row.uuid, version: row.version, data });
    }
    return { count: rows.length };
  }

  private delete(p: MemberParser): JsonValue {
    const table = this.table(p);
    const where = this.where(p, table);
    p.finish();
    this.checkWritable('delete');
    const rows = this.matching(table, where);
    if (this.ctx.rbac) checkDelete(this.db, this.ctx.rbac, table, rows);
    for (const row of rows) this.txn.delete(table.name, row.uuid);
    return { count: rows.length };
  }

  private wait(p: MemberParser): JsonValue {
    const table = this.table(p);
    const timeoutJson = p.optional('timeout', 'integer');
    const where = this.where(p, table);
    const columnsJson = p.optional('columns', 'array');
    const until = p.required('until', 'string') as string;
    const rowsJson = p.required('rows', 'array') as JsonValue[];
    p.finish();
    const timeout = timeoutJson === undefined ? null : Number(timeoutJson);
    if (timeout !== null && timeout < 0) throw syntaxError('timeout must be nonnegative', timeoutJson!);
    if (until !== '==' && until !== '!=') throw syntaxError('"until" must be "==" or "!="', until);
    const columns = this.columnList(table, columnsJson) ?? allColumns(table);

    const expected = new Set<string>();
    const defaults = defaultData(table);
    for (const rj of rowsJson) {
      if (!isJsonObject(rj)) throw syntaxError('row must be JSON object', rj);
      const given = this.parseRow(table, rj);
      const data = table.columns.map((c) => given.get(c) ?? defaults[c.index]);
      const uuid = given.get(table.columnsByName.get('_uuid')!)?.keys[0] as string | undefined;
      const version = given.get(table.columnsByName.get('_version')!)?.keys[0] as string | undefined;
      const zero = '00000000-0000-0000-0000-000000000000';
      expected.add(valuesKey(data, columns, { uuid: uuid ?? zero, version: version ?? zero }));
    }
    const actual = new Set<string>();
    for (const row of this.matching(table, where)) actual.add(valuesKey(row.data, columns, row));
    const equal = actual.size === expected.size && [...actual].every((k) => expected.has(k));
    if (equal === (until === '==')) return {};
    if (timeout === 0) throw new OvsdbError('timed out', '"where" clause test failed');
    const elapsed = this.ctx.elapsedMs ?? 0;
    if (timeout !== null && elapsed >= timeout)
      throw new OvsdbError('timed out', `"wait" timed out after ${Math.round(elapsed)} ms`);
    throw new Blocked(timeout);
  }
}

/**
 * Runs a transaction's operations (the `transact` params after the database name). Returns the result array
 * and the prepared commit, or `blocked` when a `wait` must be retried after later commits or its timeout.
 */
export function execute(db: Database, ops: readonly JsonValue[], ctx: TransactContext = {}): TransactOutcome {
  const ex = new Executor(db, ctx);
  const result: JsonValue[] = [];
  for (let i = 0; i < ops.length; i++) {
    try {
      result.push(ex.run(ops[i], i, ops.length));
    } catch (e) {
      if (e instanceof Blocked) return { kind: 'blocked', timeoutMs: e.timeoutMs };
      if (!(e instanceof OvsdbError)) throw e;
      result.push(e.toJson());
      while (result.length < ops.length) result.push(null);
      return { kind: 'done', result, commit: null, error: e };
    }
  }
  if (ex.wrote && ctx.forwardWrites) return { kind: 'done', result, commit: null, error: null, forward: true };
  try {
    const commit = ex.txn.prepare();
    return { kind: 'done', result, commit: commitIsEmpty(commit) ? null : commit, error: null };
  } catch (e) {
    if (!(e instanceof OvsdbError)) throw e;
    result.push(e.toJson());
    return { kind: 'done', result, commit: null, error: e };
  }
}
