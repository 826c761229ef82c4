// Database schemas (RFC 7047 §3.2, ovsdb(5)): parsing with the reference's validation messages, and the
// normalized JSON that get_schema, _Server and file record 0 carry (reference §3.13).
import { canonicalInteger, INT64_MAX, INT64_MIN, type Atom } from './atom.ts';
import { datumFromJson, datumToJson } from './datum.ts';
import { OvsdbError, syntaxError } from './error.ts';
import { isJsonObject, stringifySorted, type JsonObject, type JsonValue } from './json.ts';
import { MemberParser } from './parser.ts';
import { ATOMIC_TYPES, isScalar, UNLIMITED, type AtomicType, type BaseType, type ColumnType, type RefType } from './types.ts';

/** Index of the implicit columns in ColumnSchema.index. */
export const UUID_COLUMN = -1;
export const VERSION_COLUMN = -2;

export interface ColumnSchema {
  readonly name: string;
  /** Position in Row.data, or UUID_COLUMN / VERSION_COLUMN. */
  readonly index: number;
  readonly type: ColumnType;
  /** Written to the file (false for ephemeral columns and _version). */
  readonly persistent: boolean;
  readonly mutable: boolean;
  /** As declared, for normalization. */
  readonly declaredEphemeral: boolean;
  readonly declaredMutable: boolean;
}

export interface TableSchema {
  readonly name: string;
  /** User columns in declaration order; Row.data follows this order. */
  readonly columns: readonly ColumnSchema[];
  /** Every column by name, including _uuid and _version. */
  readonly columnsByName: ReadonlyMap<string, ColumnSchema>;
  readonly maxRows: number;
  readonly isRoot: boolean;
  readonly declaredIsRoot: boolean | undefined;
  readonly indexes: readonly (readonly ColumnSchema[])[];
  readonly mutable: boolean;
}

export interface DatabaseSchema {
  readonly name: string;
  readonly version: string;
  readonly cksum: string;
  readonly tables: ReadonlyMap<string, TableSchema>;
}

const UUID_TYPE: ColumnType = { key: { type: 'uuid' }, min: 1, max: 1 };

function implicitColumn(name: string, index: number): ColumnSchema {
  return {
    name,
    index,
    type: UUID_TYPE,
    persistent: index === UUID_COLUMN,
    mutable: false,
    declaredEphemeral: false,
    declaredMutable: false,
  };
}
const UUID_COL = implicitColumn('_uuid', UUID_COLUMN);
const VERSION_COL = implicitColumn('_version', VERSION_COLUMN);

const UINT_MAX = 4294967295;

// ---------------------------------------------------------------------------------------------------------
// Types

function parseAtomicType(json: JsonValue): AtomicType {
  if (typeof json === 'string' && (ATOMIC_TYPES as readonly string[]).includes(json)) return json as AtomicType;
  throw syntaxError(`${stringifySorted(json)} is not an atomic-type`, json);
}

function parseLength(json: JsonValue | undefined, name: string): number | undefined {
  if (json === undefined) return undefined;
  const v = canonicalInteger(json as number | bigint);
  if (v === undefined || v < 0 || v > UINT_MAX) throw syntaxError(`${name} out of valid range 0 to ${UINT_MAX}`, json);
  return Number(v);
}

export function parseBaseType(json: JsonValue): BaseType {
  if (typeof json === 'string') return { type: parseAtomicType(json) };
  if (!isJsonObject(json)) throw syntaxError('ovsdb base type expected', json);
  const p = new MemberParser(json, 'ovsdb type');
  const type = parseAtomicType(p.required('type', 'string'));
  const base: { -readonly [K in keyof BaseType]: BaseType[K] } = { type };
  const enumJson = p.optional('enum', 'any');
  switch (type) {
    case 'integer': {
      const lo = p.optional('minInteger', 'integer');
      const hi = p.optional('maxInteger', 'integer');
      const min = lo === undefined ? undefined : canonicalInteger(lo as number | bigint);
      const max = hi === undefined ? undefined : canonicalInteger(hi as number | bigint);
      if (min !== undefined && max !== undefined && min > max) throw syntaxError('minInteger exceeds maxInteger', json);
      if (min !== undefined && BigInt(min) !== INT64_MIN) base.minInteger = min;
      if (max !== undefined && BigInt(max) !== INT64_MAX) base.maxInteger = max;
      break;
    }
    case 'real': {
      const lo = p.optional('minReal', 'number');
      const hi = p.optional('maxReal', 'number');
      const min = lo === undefined ? undefined : Number(lo);
      const max = hi === undefined ? undefined : Number(hi);
      if (min !== undefined && max !== undefined && min > max) throw syntaxError('minReal exceeds maxReal', json);
      if (min !== undefined && min !== -Number.MAX_VALUE) base.minReal = min;
      if (max !== undefined && max !== Number.MAX_VALUE) base.maxReal = max;
      break;
    }
    case 'string': {
      const min = parseLength(p.optional('minLength', 'any'), 'minLength');
      const max = parseLength(p.optional('maxLength', 'any'), 'maxLength');
      if (min !== undefined && max !== undefined && min > max) throw syntaxError('minLength exceeds maxLength', json);
      if (min !== undefined && min !== 0) base.minLength = min;
      if (max !== undefined && max !== UINT_MAX) base.maxLength = max;
      break;
    }
    case 'uuid': {
      const refTable = p.optional('refTable', 'id');
      if (refTable !== undefined) {
        base.refTable = refTable as string;
        const refType = p.optional('refType', 'string');
        if (refType !== undefined && refType !== 'strong' && refType !== 'weak')
          throw syntaxError(`refType must be "strong" or "weak" (not "${refType as string}")`, json);
        base.refType = (refType as RefType | undefined) ?? 'strong';
      }
      break;
    }
    default:
      break;
  }
  if (enumJson !== undefined) {
    const enumType: ColumnType = { key: { type }, min: 0, max: UNLIMITED };
    base.enum = datumFromJson(enumType, enumJson).keys;
  }
  p.finish();
  return base;
}

function parseMinMax(json: JsonValue | undefined, dflt: number, allowUnlimited: boolean): number {
  if (json === undefined) return dflt;
  if (allowUnlimited && json === 'unlimited') return UNLIMITED;
  if ((typeof json === 'number' && Number.isInteger(json) && json >= 0) || typeof json === 'bigint') {
    return Number(json);
  }
  throw syntaxError('bad min or max value', json);
}

export function parseColumnType(json: JsonValue): ColumnType {
  if (typeof json === 'string') return { key: { type: parseAtomicType(json) }, min: 1, max: 1 };
  if (!isJsonObject(json)) throw syntaxError('ovsdb type expected', json);
  // A base-type object ({"type": ...}) is also a valid scalar <type>.
  if ('type' in json && !('key' in json)) return { key: parseBaseType(json), min: 1, max: 1 };
  const p = new MemberParser(json, 'ovsdb type');
  const key = parseBaseType(p.required('key', 'any'));
  const valueJson = p.optional('value', 'any');
  const value = valueJson === undefined ? undefined : parseBaseType(valueJson);
  const min = parseMinMax(p.optional('min', 'integer'), 1, false);
  const max = parseMinMax(p.optional('max', 'any'), 1, true);
  p.finish();
  if (min > 1 || max < 1 || min > max) throw syntaxError('ovsdb type fails constraint checks', json);
  return value === undefined ? { key, min, max } : { key, value, min, max };
}

// ---------------------------------------------------------------------------------------------------------
// Normalized JSON (reference §3.13)

function hasConstraints(b: BaseType): boolean {
  return (
    b.enum !== undefined ||
    b.minInteger !== undefined ||
    b.maxInteger !== undefined ||
    b.minReal !== undefined ||
    b.maxReal !== undefined ||
    b.minLength !== undefined ||
    b.maxLength !== undefined ||
    b.refTable !== undefined
  );
}

export function baseTypeToJson(b: BaseType): JsonValue {
  if (!hasConstraints(b)) return b.type;
  const o: JsonObject = { type: b.type };
  if (b.enum !== undefined) o.enum = datumToJson({ key: { type: b.type }, min: 0, max: UNLIMITED }, { keys: b.enum });
  if (b.minInteger !== undefined) o.minInteger = b.minInteger;
  if (b.maxInteger !== undefined) o.maxInteger = b.maxInteger;
  if (b.minReal !== undefined) o.minReal = b.minReal;
  if (b.maxReal !== undefined) o.maxReal = b.maxReal;
  if (b.minLength !== undefined) o.minLength = b.minLength;
  if (b.maxLength !== undefined) o.maxLength = b.maxLength;
  if (b.refTable !== undefined) {
    o.refTable = b.refTable;
    if (b.refType === 'weak') o.refType = 'weak';
  }
  return o;
}

export function columnTypeToJson(t: ColumnType): JsonValue {
  // Only an unconstrained scalar collapses to its bare name; a constrained one keeps {"key": {...}}
  // (the real server does this, and ovsdb-client rejects a bare base-type object as a column type).
  if (isScalar(t) && !hasConstraints(t.key)) return t.key.type;
  const o: JsonObject = { key: baseTypeToJson(t.key) };
  if (t.value !== undefined) o.value = baseTypeToJson(t.value);
  if (t.min !== 1) o.min = t.min;
  if (t.max !== 1) o.max = t.max === UNLIMITED ? 'unlimited' : t.max;
  return o;
}

export function tableSchemaToJson(t: TableSchema, defaultIsRoot: boolean): JsonObject {
  const columns: JsonObject = {};
  for (const c of t.columns) {
    const cj: JsonObject = { type: columnTypeToJson(c.type) };
    if (!c.persistent) cj.ephemeral = true;
    if (!c.mutable) cj.mutable = false;
    columns[c.name] = cj;
  }
  const o: JsonObject = { columns };
  if (t.maxRows !== Number.POSITIVE_INFINITY) o.maxRows = t.maxRows;
  if (t.isRoot !== defaultIsRoot) o.isRoot = t.isRoot;
  if (t.indexes.length > 0) o.indexes = t.indexes.map((cols) => cols.map((c) => c.name));
  if (!t.mutable) o.mutable = false;
  return o;
}

/** The normalized schema, as get_schema returns it. */
export function schemaToJson(s: DatabaseSchema): JsonObject {
  const o: JsonObject = { name: s.name };
  if (s.version) o.version = s.version;
  if (s.cksum) o.cksum = s.cksum;
  // isRoot is written only where it differs from the default, which is root when every table is a root.
  const allRoot = [...s.tables.values()].every((t) => t.isRoot);
  const tables: JsonObject = {};
  for (const t of s.tables.values()) tables[t.name] = tableSchemaToJson(t, allRoot);
  o.tables = tables;
  return o;
}

/** Schema equality as replication and needs-conversion see it: normalized forms, version and cksum included. */
export function schemasEqual(a: DatabaseSchema, b: DatabaseSchema): boolean {
  return stringifySorted(schemaToJson(a)) === stringifySorted(schemaToJson(b));
}

// ---------------------------------------------------------------------------------------------------------
// Parsing

const RESERVED = 'names beginning with "_" are reserved';

function parseColumn(name: string, json: JsonValue, index: number): ColumnSchema {
  if (!isJsonObject(json)) throw syntaxError(`Parsing schema for column ${name} failed: Object expected.`);
  const p = new MemberParser(json, `schema for column ${name}`);
  const type = parseColumnType(p.required('type', 'any'));
  const ephemeral = (p.optional('ephemeral', 'boolean') as boolean | undefined) ?? false;
  const mutable = (p.optional('mutable', 'boolean') as boolean | undefined) ?? true;
  p.finish();
  return {
    name,
    index,
    type,
    persistent: !ephemeral,
    mutable,
    declaredEphemeral: ephemeral,
    declaredMutable: mutable,
  };
}

interface RawTable {
  name: string;
  columns: ColumnSchema[];
  maxRows: number;
  declaredIsRoot: boolean | undefined;
  indexes: ColumnSchema[][];
  mutable: boolean;
}

function parseTable(name: string, json: JsonValue): RawTable {
  if (!isJsonObject(json)) throw syntaxError(`Parsing table schema for table ${name} failed: Object expected.`);
  const p = new MemberParser(json, `table schema for table ${name}`);
  const colsJson = p.required('columns', 'object') as JsonObject;
  const mutable = (p.optional('mutable', 'boolean') as boolean | undefined) ?? true;
  const maxRowsJson = p.optional('maxRows', 'integer');
  const isRoot = p.optional('isRoot', 'boolean') as boolean | undefined;
  const indexesJson = p.optional('indexes', 'array') as JsonValue[] | undefined;
  p.finish();

  let maxRows = Number.POSITIVE_INFINITY;
  if (maxRowsJson !== undefined) {
    maxRows = Number(maxRowsJson);
    if (maxRows < 1) throw syntaxError('maxRows must be at least 1', json);
  }
  const names = Object.keys(colsJson);
  if (names.length === 0) throw syntaxError('table must have at least one column', json);
  const columns: ColumnSchema[] = [];
  for (const cname of names) {
    if (cname.startsWith('_')) throw syntaxError(RESERVED, json);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(cname)) throw syntaxError('name must be a valid id', json);
    columns.push(parseColumn(cname, colsJson[cname], columns.length));
  }
  const byName = new Map(columns.map((c) => [c.name, c]));
  const indexes: ColumnSchema[][] = [];
  for (const ij of indexesJson ?? []) {
    if (!Array.isArray(ij)) throw syntaxError('array of column names expected', ij);
    if (ij.length === 0) throw syntaxError('index must have at least one column', json);
    const cols: ColumnSchema[] = [];
    for (const cn of ij) {
      const c = typeof cn === 'string' ? byName.get(cn) : undefined;
      if (c === undefined) throw syntaxError(`${typeof cn === 'string' ? cn : stringifySorted(cn)} is not a valid column name`, ij);
      if (c.declaredEphemeral) throw syntaxError(`ephemeral columns (such as ${c.name}) may not be indexed`, json);
      cols.push(c);
    }
    indexes.push(cols);
  }
  return { name, columns, maxRows, declaredIsRoot: isRoot, indexes, mutable };
}

/** Parses and validates a database schema; throws OvsdbError with the reference's texts. */
export function parseSchema(json: JsonValue): DatabaseSchema {
  if (!isJsonObject(json)) throw syntaxError('Parsing database schema failed: Object expected.');
  const p = new MemberParser(json, 'database schema');
  const name = p.required('name', 'id') as string;
  const version = (p.optional('version', 'string') as string | undefined) ?? '';
  const cksum = (p.optional('cksum', 'string') as string | undefined) ?? '';
  const tablesJson = p.required('tables', 'object') as JsonObject;
  p.finish();
  if (version !== '' && !/^\d+\.\d+\.\d+$/.test(version))
    throw syntaxError(`schema version "${version}" not in format x.y.z`, json);

  const raw: RawTable[] = [];
  for (const tname of Object.keys(tablesJson)) {
    if (tname.startsWith('_')) throw syntaxError(RESERVED, json);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(tname)) throw syntaxError('name must be a valid id', json);
    raw.push(parseTable(tname, tablesJson[tname]));
  }
  const anyRoot = raw.some((t) => t.declaredIsRoot === true);
  const rootOf = (t: RawTable) => (anyRoot ? t.declaredIsRoot === true : true);
  const rawByName = new Map(raw.map((t) => [t.name, t]));

  // References must name existing tables; weak-ref columns are always mutable; a strong reference to a
  // non-root table must be persistent (else garbage collection would lose rows on restart).
  for (const t of raw) {
    t.columns = t.columns.map((c) => {
      let { persistent, mutable } = c;
      for (const [which, b] of [
        ['key', c.type.key],
        ['value', c.type.value],
      ] as const) {
        if (b?.refTable === undefined) continue;
        const target = rawByName.get(b.refTable);
        if (target === undefined) throw new OvsdbError('syntax error', `column ${c.name} ${which} refers to undefined table ${b.refTable}`);
        if (b.refType === 'weak') mutable = true;
        else if (!rootOf(target)) persistent = true;
      }
      return persistent === c.persistent && mutable === c.mutable ? c : { ...c, persistent, mutable };
    });
    const byName = new Map(t.columns.map((c) => [c.name, c]));
    t.indexes = t.indexes.map((cols) => cols.map((c) => byName.get(c.name)!));
  }

  const tables = new Map<string, TableSchema>();
  for (const t of raw) {
    const columnsByName = new Map<string, ColumnSchema>([
      ['_uuid', UUID_COL],
      ['_version', VERSION_COL],
    ]);
    for (const c of t.columns) columnsByName.set(c.name, c);
    tables.set(t.name, {
      name: t.name,
      columns: t.columns,
      columnsByName,
      maxRows: t.maxRows,
      isRoot: rootOf(t),
      declaredIsRoot: t.declaredIsRoot,
      indexes: t.indexes,
      mutable: t.mutable,
    });
  }
  return { name, version, cksum, tables };
}

export type { Atom };
