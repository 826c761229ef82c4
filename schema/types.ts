// OVSDB types (RFC 7047 §3.2 <type>, <base-type>): atomic types, constrained base types, and column types
// with min/max cardinality. Pure data plus the helpers every other layer needs to talk about types.
import type { Atom } from './atom.ts';

export type AtomicType = 'integer' | 'real' | 'boolean' | 'string' | 'uuid';
export const ATOMIC_TYPES: readonly AtomicType[] = ['integer', 'real', 'boolean', 'string', 'uuid'];

export type RefType = 'strong' | 'weak';

export interface BaseType {
  readonly type: AtomicType;
  /** Allowed values, sorted and distinct (an enum is a set datum of this base type). */
  readonly enum?: readonly Atom[];
  readonly minInteger?: number | bigint;
  readonly maxInteger?: number | bigint;
  readonly minReal?: number;
  readonly maxReal?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly refTable?: string;
  readonly refType?: RefType;
}

export const UNLIMITED = Number.POSITIVE_INFINITY;
/** How OVS prints an unlimited max in size errors (UINT_MAX). */
export const UNLIMITED_PRINTED = 4294967295;

export interface ColumnType {
  readonly key: BaseType;
  readonly value?: BaseType;
  /** 0 or 1. */
  readonly min: number;
  /** ≥ 1; UNLIMITED for "unlimited". */
  readonly max: number;
}

export const isScalar = (t: ColumnType): boolean => t.min === 1 && t.max === 1 && t.value === undefined;

export function isStrongRef(b: BaseType | undefined): b is BaseType & { refTable: string } {
  return b !== undefined && b.type === 'uuid' && b.refTable !== undefined && b.refType !== 'weak';
}
export function isWeakRef(b: BaseType | undefined): b is BaseType & { refTable: string } {
  return b !== undefined && b.type === 'uuid' && b.refTable !== undefined && b.refType === 'weak';
}

/** A base type with its constraints removed (mutation arguments and relaxed condition arguments). */
export const unconstrained = (b: BaseType): BaseType => ({ type: b.type });

const PLURALS: Record<AtomicType, string> = {
  integer: 'integers',
  real: 'reals',
  boolean: 'booleans',
  string: 'strings',
  uuid: 'uuids',
};

/** The English phrase OVS uses for a type in error messages, e.g. "set of 1 to 2 integers". */
export function typeToEnglish(t: ColumnType): string {
  if (isScalar(t)) return t.key.type;
  let quantity: string;
  if (t.min === 0 && t.max === UNLIMITED) quantity = '';
  else if (t.min === t.max) quantity = `exactly ${t.min} `;
  else if (t.min === 0) quantity = `up to ${t.max} `;
  else if (t.max === UNLIMITED) quantity = `${t.min} or more `;
  else quantity = `${t.min} to ${t.max} `;
  if (t.value === undefined) return `set of ${quantity}${PLURALS[t.key.type]}`;
  return `map of ${quantity}(${t.key.type}, ${t.value.type}) pairs`;
}

export function printedMax(max: number): number {
  return max === UNLIMITED ? UNLIMITED_PRINTED : max;
}
