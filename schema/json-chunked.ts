// JSON parsing and sorted serialization of very large values (Raft snapshots: tens of MB) without blocking
// the event loop: the work is cut into slices and the caller's turn ends between them (raft.md §7.2 item 4,
// item 5). The results are exactly those of parseJson and stringifySorted (schema/json.ts), errors included.
//
// Parsing: a resumable scan of the text records, for every container of at least BIG_NODE characters, where
// its members are separated (commas and colons at its own depth). Such containers are then built member by
// member; runs of small members are handed to JSON.parse (or the exact parser) in pieces of about
// BATCH_CHARS characters and merged. Anything unusual (a syntax error, a nesting deeper than OVS allows)
// falls back to parseJson on the whole text, which reports the error exactly as it would have.
//
// Serializing: stringifySorted with an explicit stack, so it can stop between any two values; the keys of
// large objects (a table of 100k rows) are sorted in slices too.
import { performance } from 'node:perf_hooks';
import {
  formatNumber,
  hasSurrogates,
  JSON_MAX_DEPTH,
  parseJson,
  hasCarefulEscape,
  parseJsonExact,
  quoteString,
  sortByCodePoint,
  stringifySorted,
  type JsonObject,
  type JsonValue,
} from './json.ts';

/** Cuts long work into event-loop turns. */
export interface Slicer {
  /** True once the current turn has used up its budget (cheap: call it often). */
  due(): boolean;
  /** Ends the turn; resolves in a later one, after pending I/O and timers had their chance. */
  yield(): Promise<void>;
}

/** A slicer that ends a turn after `budgetMs` of work. */
export function timeSlicer(budgetMs = 8): Slicer {
  let start = performance.now();
  return {
    due: () => performance.now() - start >= budgetMs,
    yield: () =>
      new Promise<void>((resolve) =>
        setImmediate(() => {
          start = performance.now();
          resolve();
        }),
      ),
  };
}

/** Where parsing cuts (tests use small values to reach every path with small texts). */
export interface ChunkTuning {
  /** Texts shorter than this are parsed in one call (a turn of a few ms at most). */
  readonly minChars: number;
  /** A container this large is built member by member; smaller ones are parsed whole. */
  readonly bigNode: number;
  /** Characters handed to one JSON.parse call. */
  readonly batchChars: number;
}
export const CHUNK_TUNING: ChunkTuning = { minChars: 512 * 1024, bigNode: 64 * 1024, batchChars: 128 * 1024 };
/** Scan steps between two looks at the clock. */
const SCAN_STEP = 32 * 1024;

interface BigNode {
  readonly end: number;
  /** Offsets of the commas (and, in objects, colons) that separate this container's own members. */
  readonly seps: Int32Array;
}

/** Growable int32 list (offsets), cheaper than a number[] of millions of entries. */
class IntList {
  buf = new Int32Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.buf.length) {
      const b = new Int32Array(this.buf.length * 2);
      b.set(this.buf);
      this.buf = b;
    }
    this.buf[this.length++] = v;
  }
}

class Fallback {}
const FALLBACK = new Fallback();

/** How often a chunked parse gave up and parsed the whole text at once (a malformed text; tests read it). */
export const chunkStats = { fallbacks: 0 };

function isWs(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}

/**
 * parseJson(text, hasLongNumbers), in slices. Small texts are parsed at once. Rejects with exactly the error
 * parseJson throws.
 */
export async function parseJsonChunked(
  text: string,
  hasLongNumbers = true,
  slicer: Slicer = timeSlicer(),
  tuning: ChunkTuning = CHUNK_TUNING,
): Promise<JsonValue> {
  if (text.length < tuning.minChars) return parseJson(text, hasLongNumbers);
  let first = 0;
  while (isWs(text.charCodeAt(first))) first++;
  const c = text.charCodeAt(first);
  if (c !== 123 && c !== 91) return parseJson(text, hasLongNumbers); // a scalar (or an error)
  const r = await tryChunked(text, hasLongNumbers, slicer, tuning);
  // Malformed (or deeper than the exact parser allows): the whole-text parser gives the reference's error.
  if (!(r instanceof Fallback)) return r;
  chunkStats.fallbacks++;
  return parseJson(text, hasLongNumbers);
}

async function tryChunked(text: string, hasLongNumbers: boolean, slicer: Slicer, tuning: ChunkTuning): Promise<JsonValue | Fallback> {
  const { bigNode: BIG_NODE, batchChars: BATCH_CHARS } = tuning;
  // Phase 1: structure. The same test as mayNeedCarefulParse (long digit runs, exponents) rides along.
  const n = text.length;
  const bigs = new Map<number, BigNode>();
  const seps = new IntList();
  const starts: number[] = [];
  const sepBase: number[] = [];
  const closers: number[] = [];
  let careful = false;
  let digitRun = 0;
  let i = 0;
  let nextCheck = SCAN_STEP;
  let top = -1;
  let topEnd = -1;
  while (i < n) {
    if (i >= nextCheck) {
      nextCheck = i + SCAN_STEP;
      if (slicer.due()) await slicer.yield();
    }
    const c = text.charCodeAt(i);
    if (c === 34) {
      let q = i + 1;
      for (;;) {
        q = text.indexOf('"', q);
        if (q < 0) return FALLBACK; // unterminated string
        let b = q;
        while (text.charCodeAt(b - 1) === 92) b--;
        if ((q - b) % 2 === 0) break;
        q++;
      }
      i = q + 1;
      digitRun = 0;
      continue;
    }
    i++;
    if (c >= 48 && c <= 57) {
      if (++digitRun >= 16) careful = true;
      continue;
    }
    if ((c === 101 || c === 69) && digitRun > 0) careful = true;
    digitRun = 0;
    if (c === 123 || c === 91) {
      if (starts.length === 0) {
        if (top >= 0) return FALLBACK; // a second top-level value
        top = i - 1;
      }
      if (starts.length >= JSON_MAX_DEPTH) return FALLBACK;
      starts.push(i - 1);
      sepBase.push(seps.length);
      closers.push(c === 123 ? 125 : 93);
    } else if (c === 125 || c === 93) {
      if (closers.length === 0 || closers.pop() !== c) return FALLBACK;
      const start = starts.pop()!;
      const base = sepBase.pop()!;
      if (i - start >= BIG_NODE) bigs.set(start, { end: i, seps: seps.buf.slice(base, seps.length) });
      seps.length = base;
      if (starts.length === 0) topEnd = i;
    } else if (c === 44 || c === 58) {
      if (starts.length > 0) seps.push(i - 1);
    }
  }
  if (starts.length > 0 || top < 0) return FALLBACK;
  for (let k = topEnd; k < n; k++) if (!isWs(text.charCodeAt(k))) return FALLBACK;
  for (let k = 0; k < top; k++) if (!isWs(text.charCodeAt(k))) return FALLBACK;
  const exact = (hasLongNumbers && careful) || hasCarefulEscape(text);
  const parsePiece = exact ? parseJsonExact : (t: string) => JSON.parse(t) as JsonValue;
  if (!bigs.has(top)) return parseJson(text, hasLongNumbers);

  // Phase 2: build the large containers, small members in batches.
  const piece = (t: string): JsonValue | Fallback => {
    try {
      return parsePiece(t);
    } catch {
      return FALLBACK;
    }
  };
  const onlyWs = (from: number, to: number): boolean => {
    for (let k = from; k < to; k++) if (!isWs(text.charCodeAt(k))) return false;
    return true;
  };
  const firstNonWs = (from: number, to: number): number => {
    let k = from;
    while (k < to && isWs(text.charCodeAt(k))) k++;
    return k;
  };

  const build = async (start: number): Promise<JsonValue | Fallback> => {
    const node = bigs.get(start)!;
    const s = node.seps;
    const close = node.end - 1;
    if (text.charCodeAt(start) === 91) {
      const out: JsonValue[] = [];
      if (s.length === 0 && onlyWs(start + 1, close)) return out;
      // Element k spans (sep[k-1] or start) + 1 .. (sep[k] or close).
      const count = s.length + 1;
      const from = (k: number) => (k === 0 ? start : s[k - 1]!) + 1;
      const to = (k: number) => (k === count - 1 ? close : s[k]!);
      let k = 0;
      while (k < count) {
        const v0 = firstNonWs(from(k), to(k));
        if (bigs.has(v0)) {
          const v = await build(v0);
          if (v instanceof Fallback || !onlyWs(bigs.get(v0)!.end, to(k))) return FALLBACK;
          out.push(v);
          k++;
          continue;
        }
        // A run of small elements, up to the next large one or the batch size.
        const a = k++;
        while (k < count && to(k) - from(a) < BATCH_CHARS && !bigs.has(firstNonWs(from(k), to(k)))) k++;
        const batch = piece(`[${text.slice(from(a), to(k - 1))}]`);
        if (batch instanceof Fallback || !Array.isArray(batch) || batch.length !== k - a) return FALLBACK;
        for (const v of batch) out.push(v);
        if (slicer.due()) await slicer.yield();
      }
      return out;
    }
    // Object: seps alternate colon, comma, colon, … (one colon per member).
    const out: JsonObject = {};
    if (s.length === 0) return onlyWs(start + 1, close) ? out : FALLBACK;
    if (s.length % 2 !== 1) return FALLBACK;
    const count = (s.length + 1) / 2;
    for (let m = 0; m < s.length; m++) if (text.charCodeAt(s[m]!) !== (m % 2 === 0 ? 58 : 44)) return FALLBACK;
    const from = (k: number) => (k === 0 ? start : s[2 * k - 1]!) + 1;
    const colon = (k: number) => s[2 * k]!;
    const to = (k: number) => (k === count - 1 ? close : s[2 * k + 1]!);
    const put = (key: string, v: JsonValue) => {
      // As JSON.parse, "__proto__" is an ordinary member.
      if (key === '__proto__') Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
      else out[key] = v;
    };
    let k = 0;
    while (k < count) {
      const v0 = firstNonWs(colon(k) + 1, to(k));
      if (bigs.has(v0)) {
        const key = piece(text.slice(from(k), colon(k)));
        if (typeof key !== 'string') return FALLBACK;
        const v = await build(v0);
        if (v instanceof Fallback || !onlyWs(bigs.get(v0)!.end, to(k))) return FALLBACK;
        put(key, v);
        k++;
        continue;
      }
      const a = k++;
      while (k < count && to(k) - from(a) < BATCH_CHARS && !bigs.has(firstNonWs(colon(k) + 1, to(k)))) k++;
      const batch = piece(`{${text.slice(from(a), to(k - 1))}}`);
      if (batch instanceof Fallback || batch === null || typeof batch !== 'object' || Array.isArray(batch)) return FALLBACK;
      for (const key in batch) put(key, (batch as JsonObject)[key]!);
      if (slicer.due()) await slicer.yield();
    }
    return out;
  };
  return build(top);
}

// ---------------------------------------------------------------------------------------------------------
// Serializing

/** Objects with more keys than this have them sorted in slices. */
const BIG_SORT = 8192;
/** Values written between two looks at the clock. */
const WRITE_STEP = 2048;
/** Pieces joined into one string at a time (one join of millions of pieces would be a long turn). */
const JOIN_PIECES = 8192;

async function sortKeysChunked(keys: string[], slicer: Slicer): Promise<string[]> {
  if (keys.length <= BIG_SORT) {
    keys.sort();
  } else {
    // Merge sort: sorted runs of BIG_SORT keys, merged pairwise (plain < is the default sort's order).
    let runs: string[][] = [];
    for (let i = 0; i < keys.length; i += BIG_SORT) {
      runs.push(keys.slice(i, i + BIG_SORT).sort());
      if (slicer.due()) await slicer.yield();
    }
    while (runs.length > 1) {
      const next: string[][] = [];
      for (let r = 0; r < runs.length; r += 2) {
        const a = runs[r]!;
        const b = runs[r + 1];
        if (b === undefined) {
          next.push(a);
          continue;
        }
        const m: string[] = new Array(a.length + b.length);
        let i = 0;
        let j = 0;
        let o = 0;
        while (i < a.length && j < b.length) {
          m[o++] = b[j]! < a[i]! ? b[j++]! : a[i++]!;
          if ((o & 4095) === 0 && slicer.due()) await slicer.yield();
        }
        while (i < a.length) m[o++] = a[i++]!;
        while (j < b.length) m[o++] = b[j++]!;
        next.push(m);
      }
      runs = next;
    }
    keys = runs[0] ?? [];
  }
  if (hasSurrogates(keys)) sortByCodePoint(keys);
  return keys;
}

interface Frame {
  readonly array: JsonValue[] | null;
  readonly object: JsonObject | null;
  readonly keys: string[] | null;
  i: number;
}

/** stringifySorted(v), in slices. */
export async function stringifySortedChunked(v: JsonValue, slicer: Slicer = timeSlicer()): Promise<string> {
  if (v === null || typeof v !== 'object') return stringifySorted(v);
  const chunks: string[] = [];
  let out: string[] = [];
  const flush = () => {
    chunks.push(out.join(''));
    out = [];
  };
  // Opens a container; the keys of a large object are sorted in slices (then its frame comes from there).
  const open = (x: JsonValue[] | JsonObject): string[] | null => {
    if (Array.isArray(x)) {
      out.push('[');
      stack.push({ array: x, object: null, keys: null, i: 0 });
      return null;
    }
    const keys = Object.keys(x);
    if (keys.length > BIG_SORT) return keys;
    keys.sort();
    if (hasSurrogates(keys)) sortByCodePoint(keys);
    out.push('{');
    stack.push({ array: null, object: x, keys, i: 0 });
    return null;
  };
  const openLarge = async (x: JsonObject, keys: string[]): Promise<void> => {
    const sorted = await sortKeysChunked(keys, slicer);
    out.push('{');
    stack.push({ array: null, object: x, keys: sorted, i: 0 });
  };
  const stack: Frame[] = [];
  const first = open(v);
  if (first !== null) await openLarge(v as JsonObject, first);
  let steps = 0;
  while (stack.length > 0) {
    const f = stack[stack.length - 1]!;
    const len = f.array !== null ? f.array.length : f.keys!.length;
    if (f.i >= len) {
      out.push(f.array !== null ? ']' : '}');
      stack.pop();
      continue;
    }
    if (f.i > 0) out.push(',');
    let child: JsonValue;
    if (f.array !== null) child = f.array[f.i]!;
    else {
      const key = f.keys![f.i]!;
      out.push(quoteString(key), ':');
      child = f.object![key]!;
    }
    f.i++;
    switch (typeof child) {
      case 'string':
        out.push(quoteString(child));
        break;
      case 'number':
        out.push(formatNumber(child));
        break;
      case 'bigint':
        out.push(child.toString());
        break;
      case 'boolean':
        out.push(child ? 'true' : 'false');
        break;
      default:
        if (child === null) out.push('null');
        else {
          const large = open(child);
          if (large !== null) await openLarge(child as JsonObject, large);
        }
    }
    if (out.length >= JOIN_PIECES) flush();
    if (++steps >= WRITE_STEP) {
      steps = 0;
      if (slicer.due()) await slicer.yield();
    }
  }
  flush();
  return chunks.join('');
}
