// The order in which OVS lists the members of a JSON object it serializes without sorting, and the elements
// of its string sets: its hash tables' iteration order. Readers never depend on it; we reproduce it where a
// byte-for-byte match with the C programs is cheap and visible (Raft file records, `show-log` lines, which
// column `ovsdb-tool create-cluster` names in its ephemeral-column warning, which stray member a parse error
// names).
//
// The hash and the map's growth rules are schema/ovs-order.ts's (checked against ovsdb-tool/ovsdb-server 3.1
// output, test/unit/ovs-hash-order.test.ts); this module adds the Raft/tool-facing helpers.

import { hashMapOrder, ovsStringHash } from './ovs-order.ts';

export { ovsStringHash };

/**
 * The iteration order of a table into which `keys` were inserted in the given order (duplicates: the first
 * insertion counts, as when a parser replaces a repeated member's value). `reserve`: the table was sized for
 * that many keys before the first insertion (what copying a set does).
 */
export function ovsHashOrder(keys: Iterable<string>, reserve = 0): string[] {
  const unique = [...new Set(keys)];
  const order = hashMapOrder(unique.map(ovsStringHash), reserve);
  return Array.from(order, (i) => unique[i]!);
}

const memo = new Map<string, readonly string[]>();
const MEMO_MAX = 4096;

/**
 * ovsHashOrder for the small fixed member lists of protocol objects, memoized (each message type has a
 * handful of member sets).
 */
export function ovsMemberOrder(keys: readonly string[]): readonly string[] {
  const sig = keys.join('\u0000');
  let order = memo.get(sig);
  if (order === undefined) {
    order = ovsHashOrder(keys);
    if (memo.size >= MEMO_MAX) memo.clear();
    memo.set(sig, order);
  }
  return order;
}
