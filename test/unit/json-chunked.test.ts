// The sliced JSON parser and sorted serializer give exactly what parseJson and stringifySorted give: the
// same values (key order, -0, bigints, "__proto__" members), the same texts, the same errors.
import { describe, expect, it } from 'vitest';
import { parseJson, stringify, stringifySorted, type JsonValue } from '../../schema/json.ts';
import { chunkStats, parseJsonChunked, stringifySortedChunked, type ChunkTuning, type Slicer } from '../../schema/json-chunked.ts';

/** Ends a "turn" at every opportunity, so every resumption point is exercised. */
function everyStep(): Slicer & { yields: number } {
  const s = {
    yields: 0,
    due: () => true,
    yield: () => {
      s.yields++;
      return Promise.resolve();
    },
  };
  return s;
}

const TINY: ChunkTuning = { minChars: 0, bigNode: 40, batchChars: 60 };

function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

const STRINGS = ['', 'a', 'x"y', 'back\\slash', 'tab\there', 'é✓', '\ud83d\ude00', '\ud800', 'a,b:c{d}[e]', '__proto__', 'constructor', '12', '-0'];
const NUMBERS: JsonValue[] = [0, 1, -1, 42, 3.5, -2.25, 1e21, 9007199254740993n, -9223372036854775808n, 123456789012345];

function value(r: () => number, depth: number): JsonValue {
  const k = r();
  if (depth <= 0 || k < 0.35) {
    const p = r();
    if (p < 0.4) return STRINGS[Math.floor(r() * STRINGS.length)]!;
    if (p < 0.75) return NUMBERS[Math.floor(r() * NUMBERS.length)]!;
    return p < 0.85 ? true : p < 0.93 ? false : null;
  }
  const n = Math.floor(r() * 8);
  if (k < 0.65) return Array.from({ length: n }, () => value(r, depth - 1));
  const o: { [k: string]: JsonValue } = {};
  for (let i = 0; i < n; i++) {
    const key = r() < 0.3 ? STRINGS[Math.floor(r() * STRINGS.length)]! : `k${Math.floor(r() * 1000)}`;
    const v = value(r, depth - 1);
    if (key === '__proto__') Object.defineProperty(o, key, { value: v, enumerable: true, writable: true, configurable: true });
    else o[key] = v;
  }
  return o;
}

/** Like toStrictEqual, and also key order and -0. */
function same(a: JsonValue, b: JsonValue): boolean {
  if (typeof a !== typeof b) return false;
  if (typeof a === 'number') return Object.is(a, b);
  if (a === null || typeof a !== 'object') return a === b;
  if (b === null || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.join('\u0001') !== kb.join('\u0001')) return false;
  return ka.every((key) => same((a as Record<string, JsonValue>)[key]!, (b as Record<string, JsonValue>)[key]!));
}

/** Inserts whitespace between tokens (outside strings). */
function spaced(text: string, r: () => number): string {
  let out = '';
  let inStr = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    out += c;
    if (inStr) {
      if (c === '\\') out += text[++i]!;
      else if (c === '"') inStr = false;
      continue;
    }
    if (c === '"') inStr = true;
    else if (',:[]{}'.includes(c) && r() < 0.3) out += [' ', '\n', '\t', '\r\n  '][Math.floor(r() * 4)]!;
  }
  return out;
}

async function expectSameParse(text: string, hasLongNumbers = true): Promise<void> {
  const fallbacks = chunkStats.fallbacks;
  let want: JsonValue | Error;
  try {
    want = parseJson(text, hasLongNumbers);
  } catch (e) {
    want = e as Error;
  }
  let got: JsonValue | Error;
  try {
    got = await parseJsonChunked(text, hasLongNumbers, everyStep(), TINY);
  } catch (e) {
    got = e as Error;
  }
  if (want instanceof Error) {
    expect(got).toBeInstanceOf(Error);
    expect((got as Error).message).toBe(want.message);
  } else {
    expect(got instanceof Error ? got.message : same(got, want)).toBe(true);
    // A good text is parsed in pieces, never handed whole to parseJson.
    expect(chunkStats.fallbacks).toBe(fallbacks);
  }
}

describe('parseJsonChunked', () => {
  it('gives parseJson’s value for random documents (sorted, unsorted, with whitespace)', async () => {
    const r = rng(7);
    for (let i = 0; i < 300; i++) {
      const v = value(r, 5);
      await expectSameParse(stringifySorted(v));
      await expectSameParse(stringify(v));
      await expectSameParse(spaced(stringify(v), r));
      await expectSameParse(stringify(v), false);
    }
  });

  it('keeps duplicate keys, "__proto__" members, -0 and exponents as parseJson does', async () => {
    const big = (inner: string) => `{"pad":"${'p'.repeat(50)}",${inner},"tail":[${'1,'.repeat(30)}2]}`;
    await expectSameParse(big('"a":1,"b":[1,2,3],"a":{"x":"yy"}'));
    await expectSameParse(big('"__proto__":{"polluted":true},"z":{"__proto__":[1]}'));
    await expectSameParse(big('"n":-0,"m":[-0,0.0,1E2,1e400,12345678901234567890]'));
    await expectSameParse(big('"s":"\\u0000"'));
    await expectSameParse(big('"k":"v"'), false);
    const proto = (await parseJsonChunked(big('"__proto__":{"polluted":true}'), true, everyStep(), TINY)) as object;
    expect(Object.getPrototypeOf(proto)).toBe(Object.prototype);
  });

  it('reports the errors parseJson reports', async () => {
    const good = `{"a":[${'"xxxxxxxx",'.repeat(20)}1],"b":{"c":${'[1,2],'.repeat(10)}"d":3}}`;
    for (const bad of [
      good.slice(0, -1),
      good + 'x',
      good + '{}',
      good.replace('"c":', '"c"'),
      good.replace('[1,2],', '[1,2,],'),
      good.replace('"d":3', '"d":03'),
      good.replace('1],', '1]],'),
      good.replace('"xxxxxxxx",', '"xx\u0001",'),
      ' ' + good.replace('{"a"', '{a'),
    ]) {
      await expectSameParse(bad);
    }
    // Deeper than the exact parser allows: handed to parseJson whole, which takes it when it can.
    const deep = `[${'['.repeat(1001)}${']'.repeat(1001)}]`;
    expect(same(await parseJsonChunked(deep, true, everyStep(), TINY), parseJson(deep))).toBe(true);
    const deepExact = `[1e2,${'['.repeat(1001)}${']'.repeat(1001)}]`;
    await expect(parseJsonChunked(deepExact, true, everyStep(), TINY)).rejects.toThrow(/maximum nesting depth 1000/);
  });

  it('slices a large table into many turns', async () => {
    const rows: { [uuid: string]: JsonValue } = {};
    for (let i = 0; i < 20000; i++) rows[`${i.toString(16).padStart(8, '0')}-0000-4000-8000-000000000000`] = { name: `lsp-${i}`, tag: i };
    const text = stringifySorted([{ name: 'OVN_Northbound' }, { _date: 1, Logical_Switch_Port: rows }]);
    const s = everyStep();
    const fallbacks = chunkStats.fallbacks;
    const v = await parseJsonChunked(text, true, s, { minChars: 0, bigNode: 64 * 1024, batchChars: 16 * 1024 });
    expect(same(v, parseJson(text))).toBe(true);
    expect(s.yields).toBeGreaterThan(20);
    expect(chunkStats.fallbacks).toBe(fallbacks);
  });
});

describe('stringifySortedChunked', () => {
  it('writes stringifySorted’s text for random documents', async () => {
    const r = rng(11);
    for (let i = 0; i < 300; i++) {
      const v = value(r, 6);
      expect(await stringifySortedChunked(v, everyStep())).toBe(stringifySorted(v));
    }
  });

  it('sorts large objects in slices, surrogate keys by code point', async () => {
    const o: { [k: string]: JsonValue } = {};
    const r = rng(3);
    for (let i = 0; i < 30000; i++) o[`${Math.floor(r() * 1e9).toString(36)}${i % 7 === 0 ? '\ud83d\ude00' : i % 11 === 0 ? '\uffff' : ''}`] = [i, { b: 1, a: [2.5, 'x'] }];
    const s = everyStep();
    expect(await stringifySortedChunked({ t: o, big: 2n ** 63n }, s)).toBe(stringifySorted({ t: o, big: 2n ** 63n }));
    expect(s.yields).toBeGreaterThan(10);
  });
});
