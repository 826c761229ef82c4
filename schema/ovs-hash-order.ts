// The order in which OVS lists the members of a JSON object it serializes without sorting, and the elements
// of its string sets: its hash tables' iteration order. Readers never depend on it; we reproduce it where a
// byte-for-byte match with the C programs is cheap and visible (Raft file records, `show-log` lines, which
// column `ovsdb-tool create-cluster` names in its ephemeral-column warning, which stray member a parse error
// names).
//
// The observable rules (checked against ovsdb-tool/ovsdb-server 3.1 output, test/unit/ovs-hash-order.test.ts):
// a key's hash is 32-bit MurmurHash3 (x86_32, seed 0) of its UTF-8 bytes; the table starts with one bucket
// and, when an insertion leaves more than two keys per bucket, grows to the power of two ≥ n/2 (at least
// four buckets), re-adding keys bucket by bucket; a key goes to the front of its bucket's chain; iteration
// walks the buckets in index order and each chain front to back.

import { formatNumber, type JsonValue } from './json.ts';

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

function mixBlock(h: number, k: number): number {
  if (k !== 0) {
    k = Math.imul(k, C1);
    k = rotl(k >>> 0, 15);
    k = Math.imul(k, C2) >>> 0;
    h = (h ^ k) >>> 0;
  }
  h = rotl(h, 13);
  return (Math.imul(h, 5) + 0xe6546b64) >>> 0;
}

function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const encoder = new TextEncoder();

/** The 32-bit hash OVS gives a string key. */
export function ovsStringHash(s: string): number {
  const b = encoder.encode(s);
  const n = b.length;
  let h = 0;
  let i = 0;
  for (; i + 4 <= n; i += 4) h = mixBlock(h, (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0);
  if (i < n) {
    let t = 0;
    for (let j = 0; i + j < n; j++) t |= b[i + j]! << (8 * j);
    h = mixBlock(h, t >>> 0);
  }
  return finish((h ^ n) >>> 0);
}

function maskFor(n: number): number {
  let m = Math.floor(n / 2);
  m |= m >>> 1;
  m |= m >>> 2;
  m |= m >>> 4;
  m |= m >>> 8;
  m |= m >>> 16;
  m |= (m & 1) << 1;
  return m >>> 0;
}

interface Node {
  readonly key: string;
  readonly hash: number;
  next: Node | null;
}

/**
 * The iteration order of a table into which `keys` were inserted in the given order (duplicates: the first
 * insertion counts, as when a parser replaces a repeated member's value). `reserve`: the table was sized for
 * that many keys before the first insertion (what copying a set does).
 */
export function ovsHashOrder(keys: Iterable<string>, reserve = 0): string[] {
  let mask = reserve > 0 ? maskFor(reserve) : 0;
  let buckets: (Node | null)[] = new Array<Node | null>(mask + 1).fill(null);
  let n = 0;
  const seen = new Set<string>();
  for (const key of keys) {
    if (seen.has(key)) continue;
    seen.add(key);
    const hash = ovsStringHash(key);
    const b = hash & mask;
    buckets[b] = { key, hash, next: buckets[b] ?? null };
    n++;
    if (Math.floor(n / 2) > mask) {
      const newMask = maskFor(n);
      if (newMask > mask) {
        const next: (Node | null)[] = new Array<Node | null>(newMask + 1).fill(null);
        for (let i = 0; i <= mask; i++) {
          let node = buckets[i] ?? null;
          while (node !== null) {
            const following: Node | null = node.next;
            const nb = node.hash & newMask;
            node.next = next[nb] ?? null;
            next[nb] = node;
            node = following;
          }
        }
        buckets = next;
        mask = newMask;
      }
    }
  }
  const out: string[] = [];
  for (const head of buckets) for (let node = head; node !== null; node = node.next) out.push(node.key);
  return out;
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

/**
 * Compact JSON as OVS writes a value it parsed (members in its hash order of the order parsed, numbers as
 * it prints them): what `ovsdb-tool cluster-to-standalone` copies into a standalone file.
 */
export function stringifyOvsOrder(v: JsonValue): string {
  const out: string[] = [];
  writeOvs(v, out);
  return out.join('');
}

function writeOvs(v: JsonValue, out: string[]): void {
  switch (typeof v) {
    case 'string':
      out.push(JSON.stringify(v));
      return;
    case 'number':
      out.push(formatNumber(v));
      return;
    case 'bigint':
      out.push(v.toString());
      return;
    case 'boolean':
      out.push(v ? 'true' : 'false');
      return;
    default:
      break;
  }
  if (v === null) out.push('null');
  else if (Array.isArray(v)) {
    out.push('[');
    v.forEach((e, k) => {
      if (k > 0) out.push(',');
      writeOvs(e, out);
    });
    out.push(']');
  } else {
    out.push('{');
    ovsHashOrder(Object.keys(v)).forEach((k, i) => {
      if (i > 0) out.push(',');
      out.push(JSON.stringify(k), ':');
      writeOvs(v[k]!, out);
    });
    out.push('}');
  }
}
