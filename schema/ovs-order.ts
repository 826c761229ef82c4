// The member order of the JSON objects ovsdb-server writes. The reference keeps a JSON object's members
// in a hash map (its `shash`) and writes them in the map's iteration order, unless it serializes with
// sorted keys. Clients built on OVS's own JSON parser (the C tools, Python's ovs.json) read objects back
// into such maps, so the order they process, e.g., the tables of an update in depends on the hash of each
// name and, within a bucket, on the order the members arrived in. To give those clients exactly what the
// reference gives them, we reproduce both.
//
// The hash is OVS's string hash: MurmurHash3 rounds over the UTF-8 bytes taken as little-endian 32-bit
// words (a partial last word zero-padded and mixed like a full one), then the length XORed in and the
// Murmur3 finalizer. The map: 2^k buckets, a new member goes to the head of its bucket's list; after an
// insertion that leaves more than two members per bucket the bucket array grows to the next power of two
// ≥ n/2 (at least 4), moving the members bucket by bucket, each to the head of its new list. Iteration
// goes bucket by bucket, each list from its head.

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

function mix(h: number, word: number): number {
  let k = Math.imul(word, C1);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, C2);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function finish(h: number, length: number): number {
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function hashBytes(b: Uint8Array, basis: number): number {
  let h = basis | 0;
  const n = b.length;
  let i = 0;
  for (; i + 4 <= n; i += 4) h = mix(h, b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24));
  if (i < n) {
    let w = 0;
    for (let k = 0; i + k < n; k++) w |= b[i + k] << (8 * k);
    h = mix(h, w);
  }
  return finish(h, n);
}

const encoder = new TextEncoder();

/** OVS's hash of a string with basis 0, as its string-keyed maps use it (one parameter: safe as a map callback). */
export function ovsStringHash(s: string): number {
  return ovsStringHashBasis(s, 0);
}

/** OVS's hash_string(s, basis). */
export function ovsStringHashBasis(s: string, basis: number): number {
  const n = s.length;
  let h = basis | 0;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const a = s.charCodeAt(i);
    const b = s.charCodeAt(i + 1);
    const c = s.charCodeAt(i + 2);
    const d = s.charCodeAt(i + 3);
    if ((a | b | c | d) > 0x7f) return hashBytes(encoder.encode(s), basis);
    h = mix(h, a | (b << 8) | (c << 16) | (d << 24));
  }
  if (i < n) {
    let w = 0;
    for (let k = 0; i + k < n; k++) {
      const c = s.charCodeAt(i + k);
      if (c > 0x7f) return hashBytes(encoder.encode(s), basis);
      w |= c << (8 * k);
    }
    h = mix(h, w);
  }
  return finish(h, n);
}

/** calc_mask: the bucket mask for `n` members (0, or at least 3). */
function maskFor(n: number): number {
  let m = n >>> 1;
  m |= m >>> 1;
  m |= m >>> 2;
  m |= m >>> 4;
  m |= m >>> 8;
  m |= m >>> 16;
  return m | ((m & 1) << 1);
}

/**
 * The iteration order of a hash map after inserting items with these hashes in this order: a permutation
 * of 0..n-1. `reserve`: the map was sized for that many items before the first insertion (as copying a
 * set does).
 */
export function hashMapOrder(hashes: ArrayLike<number>, reserve = 0): Int32Array {
  const n = hashes.length;
  const next = new Int32Array(n);
  let mask = reserve > 0 ? maskFor(reserve) : 0;
  let heads = new Int32Array(mask + 1).fill(-1);
  for (let i = 0; i < n; i++) {
    const b = hashes[i] & mask;
    next[i] = heads[b];
    heads[b] = i;
    const count = i + 1;
    if (count >>> 1 > mask) {
      const m = maskFor(count);
      if (m > mask) {
        const fresh = new Int32Array(m + 1).fill(-1);
        for (let j = 0; j <= mask; j++) {
          for (let x = heads[j]; x !== -1; ) {
            const after = next[x];
            const nb = hashes[x] & m;
            next[x] = fresh[nb];
            fresh[nb] = x;
            x = after;
          }
        }
        heads = fresh;
        mask = m;
      }
    }
  }
  const out = new Int32Array(n);
  let k = 0;
  for (let j = 0; j <= mask; j++) for (let x = heads[j]; x !== -1; x = next[x]) out[k++] = x;
  return out;
}

/** OVS's hash_int(x, basis). */
export function ovsIntHash(x: number, basis: number): number {
  return finish(mix(mix(x | 0, 0), basis | 0), 8);
}

const nameHashes = new Map<string, number>();

/** ovsStringHash, memoized: for the bounded set of table and column names. */
export function nameHash(name: string): number {
  let h = nameHashes.get(name);
  if (h === undefined) nameHashes.set(name, (h = ovsStringHash(name)));
  return h;
}

/** The order a string-keyed map (a JSON object) iterates `keys` in, inserted in the given order. */
export function shashOrder<T extends string>(keys: readonly T[], hash: (k: T) => number = nameHash): T[] {
  if (keys.length < 2) return keys.slice();
  const order = hashMapOrder(keys.map(hash));
  const out = new Array<T>(keys.length);
  for (let i = 0; i < order.length; i++) out[i] = keys[order[i]];
  return out;
}

/** A row uuid's hash in the reference's row maps: the uuid's first 32 bits. */
export function uuidHash(uuid: string): number {
  let h = 0;
  for (let i = 0; i < 8; i++) {
    const c = uuid.charCodeAt(i);
    h = (h << 4) | (c <= 57 ? c - 48 : (c | 32) - 87);
  }
  return h >>> 0;
}
