// Mutations (RFC 7047 §5.1 <mutation>): parsing with the reference's errors and application to a datum.
import { canonicalInteger, canonicalReal, checkAtom, compareAtoms, INT64_MIN, type Atom, type NamedUuids } from '../schema/atom.ts';
import { datumFromJson, datumSubtract, datumUnion, mapOf, setOf, type Datum } from '../schema/datum.ts';
import { constraintViolation, OvsdbError, syntaxError } from '../schema/error.ts';
import type { JsonValue } from '../schema/json.ts';
import type { ColumnSchema, TableSchema } from '../schema/schema.ts';
import { isScalar, typeToEnglish, unconstrained, UNLIMITED, type ColumnType } from '../schema/types.ts';
import { unknownColumn } from './condition.ts';

export type Mutator = '+=' | '-=' | '*=' | '/=' | '%=' | 'insert' | 'delete';
const MUTATORS = new Set<string>(['+=', '-=', '*=', '/=', '%=', 'insert', 'delete']);

export interface Mutation {
  readonly column: ColumnSchema;
  readonly mutator: Mutator;
  readonly arg: Datum;
  /** For map `delete` with a set argument: remove by key. */
  readonly byKey: boolean;
}

export function parseMutation(table: TableSchema, json: JsonValue, symtab?: NamedUuids): Mutation {
  if (!Array.isArray(json) || json.length !== 3 || typeof json[0] !== 'string' || typeof json[1] !== 'string')
    throw syntaxError('Parse error in mutation.', json);
  const [name, mname, argJson] = json as [string, string, JsonValue];
  const column = table.columnsByName.get(name);
  if (column === undefined) throw unknownColumn(table, name, json);
  if (!column.mutable)
    throw constraintViolation(`Cannot mutate immutable column ${name} in table ${table.name}.`, json);
  if (!MUTATORS.has(mname)) throw new OvsdbError('unknown mutator', `No mutator named ${mname}.`);
  const mutator = mname as Mutator;
  const t = column.type;
  const mismatch = () =>
    syntaxError(
      `Type mismatch: "${mutator}" operator may not be applied to column ${name} of type ${typeToEnglish(t)}.`,
      json,
    );
  if (mutator === 'insert' || mutator === 'delete') {
    if (isScalar(t)) throw mismatch();
    if (t.value && mutator === 'delete') {
      // A map, or else a set of keys; when neither parses, the key-set error is the one reported.
      const keyType: ColumnType = { key: t.key, min: 0, max: UNLIMITED };
      if (Array.isArray(argJson) && argJson[0] === 'map') {
        try {
          const mapType: ColumnType = { ...t, min: 0, max: UNLIMITED };
          return { column, mutator, arg: datumFromJson(mapType, argJson, { symtab }), byKey: false };
        } catch {
          // read it as a set of keys below
        }
      }
      return { column, mutator, arg: datumFromJson(keyType, argJson, { symtab }), byKey: true };
    }
    const argType: ColumnType = { ...t, min: 0, max: mutator === 'delete' ? UNLIMITED : t.max };
    return { column, mutator, arg: datumFromJson(argType, argJson, { symtab }), byKey: false };
  }
  const numeric = t.key.type === 'integer' || (t.key.type === 'real' && mutator !== '%=');
  if (!numeric || t.value) throw mismatch();
  const argType: ColumnType = { key: unconstrained(t.key), min: 1, max: 1 };
  return { column, mutator, arg: datumFromJson(argType, argJson, { symtab, checkConstraints: false }), byKey: false };
}

const INT_LIMIT = 2 ** 31;

function rangeError(m: Mutator): OvsdbError {
  return new OvsdbError('range error', `Result of "${m}" operation is out of range.`);
}

function integerOp(m: Mutator, a: number | bigint, b: number | bigint): number | bigint {
  if ((m === '/=' || m === '%=') && (b === 0 || b === 0n)) throw new OvsdbError('domain error', 'Division by zero.');
  // Small operands: exact in doubles. Anything larger goes through BigInt and an int64 range check.
  if (typeof a === 'number' && typeof b === 'number' && Math.abs(a) < INT_LIMIT && Math.abs(b) < INT_LIMIT) {
    switch (m) {
      case '+=':
        return a + b;
      case '-=':
        return a - b;
      case '*=':
        return a * b === 0 ? 0 : a * b;
      case '/=':
        return Math.trunc(a / b) || 0;
      default:
        return a % b || 0;
    }
  }
  const x = BigInt(a);
  const y = BigInt(b);
  if (y === -1n && x === INT64_MIN) {
    // The C server flags INT64_MIN / -1 and % -1, but its *= check lets the product wrap to INT64_MIN.
    if (m === '/=' || m === '%=') throw rangeError(m);
    if (m === '*=') return x;
  }
  let r: bigint;
  switch (m) {
    case '+=':
      r = x + y;
      break;
    case '-=':
      r = x - y;
      break;
    case '*=':
      r = x * y;
      break;
    case '/=':
      r = x / y;
      break;
    default:
      r = x % y;
  }
  const v = canonicalInteger(r);
  if (v === undefined) throw rangeError(m);
  return v;
}

function realOp(m: Mutator, a: number, b: number): number {
  if (m === '/=' && b === 0) throw new OvsdbError('domain error', 'Division by zero.');
  let r: number;
  switch (m) {
    case '+=':
      r = a + b;
      break;
    case '-=':
      r = a - b;
      break;
    case '*=':
      r = a * b;
      break;
    default:
      r = a / b;
  }
  if (!Number.isFinite(r)) throw rangeError(m);
  return canonicalReal(r);
}

/** Applies one mutation to a column value; throws the reference's errors. */
export function applyMutation(mu: Mutation, value: Datum): Datum {
  const t = mu.column.type;
  let result: Datum;
  switch (mu.mutator) {
    case 'insert':
      result = datumUnion(value, mu.arg);
      break;
    case 'delete':
      result = datumSubtract(value, mu.arg, mu.byKey || !mu.arg.values);
      break;
    default: {
      const b = mu.arg.keys[0];
      const keys: Atom[] = [];
      for (let i = 0; i < value.keys.length; i++) {
        const a = value.keys[i];
        const r =
          t.key.type === 'integer'
            ? integerOp(mu.mutator, a as number | bigint, b as number | bigint)
            : realOp(mu.mutator, a as number, Number(b));
        checkAtom(t.key, r);
        keys.push(r);
      }
      keys.sort(compareAtoms);
      for (let i = 1; i < keys.length; i++)
        if (compareAtoms(keys[i - 1], keys[i]) === 0)
          throw constraintViolation(`Result of "${mu.mutator}" operation contains duplicates.`);
      return setOf(keys);
    }
  }
  const n = result.keys.length;
  if (n < t.min || n > t.max)
    throw constraintViolation(`Attempted to store ${n} elements in ${typeToEnglish(t)}.`);
  return result.values ? mapOf(result.keys, result.values) : result;
}
