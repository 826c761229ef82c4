// Conditions (RFC 7047 §5.1 <condition>, plus the OVS boolean clauses): parsing with the reference's errors
// and evaluation. Transactions AND the clauses of a `where`; monitors OR them.
import { compareAtoms, type NamedUuids } from '../schema/atom.ts';
import {
  datumEquals,
  datumExcludes,
  datumFromJson,
  datumIncludes,
  datumToJson,
  type Datum,
} from '../schema/datum.ts';
import { OvsdbError, syntaxError } from '../schema/error.ts';
import type { JsonValue } from '../schema/json.ts';
import type { ColumnSchema, TableSchema } from '../schema/schema.ts';
import { isScalar, typeToEnglish, UNLIMITED, type ColumnType } from '../schema/types.ts';
import { columnValue, type Row } from './row.ts';

export type ConditionFunction = '==' | '!=' | '<' | '<=' | '>' | '>=' | 'includes' | 'excludes';
const FUNCTIONS = new Set<string>(['==', '!=', '<', '<=', '>', '>=', 'includes', 'excludes']);

export type Clause =
  | { readonly kind: 'const'; readonly value: boolean }
  | { readonly kind: 'column'; readonly column: ColumnSchema; readonly fn: ConditionFunction; readonly arg: Datum };

export function unknownColumn(table: TableSchema, name: string, syntax: JsonValue): OvsdbError {
  return new OvsdbError('unknown column', `No column ${name} in table ${table.name}.`, { syntax });
}

/** The argument type of a clause: the column's type, relaxed as §3.5.11 says. */
function argumentType(t: ColumnType, fn: ConditionFunction): ColumnType {
  const scalar = isScalar(t);
  switch (fn) {
    case 'includes':
      return scalar ? t : { ...t, min: 0 };
    case 'excludes':
      return scalar ? t : { ...t, min: 0, max: UNLIMITED };
    case '<':
    case '<=':
    case '>':
    case '>=':
      return { ...t, min: 1, max: 1 };
    default:
      return t;
  }
}

export function parseClause(table: TableSchema, json: JsonValue, symtab?: NamedUuids): Clause {
  if (typeof json === 'boolean') return { kind: 'const', value: json };
  if (!Array.isArray(json) || json.length !== 3 || typeof json[0] !== 'string' || typeof json[1] !== 'string')
    throw syntaxError('Parse error in condition.', json);
  const [name, fnName, argJson] = json as [string, string, JsonValue];
  const column = table.columnsByName.get(name);
  if (column === undefined) throw unknownColumn(table, name, json);
  if (!FUNCTIONS.has(fnName)) throw new OvsdbError('unknown function', `No function named ${fnName}.`);
  const fn = fnName as ConditionFunction;
  const t = column.type;
  if (fn === '<' || fn === '<=' || fn === '>' || fn === '>=') {
    const ordered = (t.key.type === 'integer' || t.key.type === 'real') && t.value === undefined && t.max === 1;
    if (!ordered)
      throw syntaxError(
        `Type mismatch: "${fn}" operator may not be applied to column ${name} of type ${typeToEnglish(t)}.`,
        json,
      );
  }
  const arg = datumFromJson(argumentType(t, fn), argJson, { symtab });
  return { kind: 'column', column, fn, arg };
}

export function parseConditions(table: TableSchema, json: JsonValue, symtab?: NamedUuids): Clause[] {
  if (!Array.isArray(json)) throw syntaxError('Parse error in condition.', json);
  return json.map((c) => parseClause(table, c, symtab));
}

export function evalClause(clause: Clause, row: Row): boolean {
  if (clause.kind === 'const') return clause.value;
  const v = columnValue(row, clause.column);
  const arg = clause.arg;
  switch (clause.fn) {
    case '==':
      return datumEquals(v, arg);
    case '!=':
      return !datumEquals(v, arg);
    case 'includes':
      return datumIncludes(v, arg);
    case 'excludes':
      return datumExcludes(v, arg);
    default: {
      // Ordered comparisons are only parsed for scalar or optional numeric columns; empty compares false.
      if (v.keys.length === 0) return false;
      const c = compareAtoms(v.keys[0], arg.keys[0]);
      switch (clause.fn) {
        case '<':
          return c < 0;
        case '<=':
          return c <= 0;
        case '>':
          return c > 0;
        case '>=':
          return c >= 0;
      }
    }
  }
}

/** Transaction semantics: every clause must hold. */
export function matchesAll(clauses: readonly Clause[], row: Row): boolean {
  for (let i = 0; i < clauses.length; i++) if (!evalClause(clauses[i]!, row)) return false;
  return true;
}

/** Monitor semantics: any clause holds; an empty condition matches everything. */
export function matchesAny(clauses: readonly Clause[], row: Row): boolean {
  if (clauses.length === 0) return true;
  for (let i = 0; i < clauses.length; i++) if (evalClause(clauses[i]!, row)) return true;
  return false;
}

/** If the first clause is `_uuid == <uuid>`, the one row it can match (the reference's fast path). */
export function uuidLookup(clauses: readonly Clause[]): string | undefined {
  const c = clauses[0];
  if (c?.kind === 'column' && c.fn === '==' && c.column.name === '_uuid' && c.arg.keys.length === 1)
    return c.arg.keys[0] as string;
  return undefined;
}

export function clauseToJson(c: Clause): JsonValue {
  if (c.kind === 'const') return c.value;
  return [c.column.name, c.fn, datumToJson(c.column.type, c.arg)];
}
