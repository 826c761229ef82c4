import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  formatReal,
  JsonParseError,
  mayNeedCarefulParse,
  parseJson,
  stringify,
  stringifySorted,
  type JsonValue,
} from '../../schema/json.ts';

describe('parseJson numbers', () => {
  it('keeps int64 integers exact, as bigint beyond 2^53', () => {
    const v = parseJson('[9223372036854775807,-9223372036854775808,9007199254740993,9007199254740991,-9007199254740991]');
    expect(v).toEqual([9223372036854775807n, -9223372036854775808n, 9007199254740993n, 9007199254740991, -9007199254740991]);
  });
  it('treats integer-valued literals within int64 as integers, others as doubles', () => {
    expect(parseJson('[1e2,3.0,1E2,9.223372036854775807e18,123.4e-1,1.5e1,-0,-0.0]')).toEqual([
      100, 3, 100, 9223372036854775807n, 12.34, 15, 0, 0,
    ]);
    const [big, huge] = parseJson('[9223372036854775808,12345678901234567890123]') as number[];
    expect(big).toBe(9223372036854775808);
    expect(typeof huge).toBe('number');
  });
  it('gives the same result with and without the fast path when no long numbers are present', () => {
    const text = '{"a":[1,2.5,-3,true,null,"x\\ny"],"b":{"c":"\\u00e9"}}';
    expect(parseJson(text, false)).toEqual(parseJson(text, true));
  });
  it('rejects what OVS rejects, with its messages', () => {
    const err = (t: string) => {
      try {
        parseJson(t);
      } catch (e) {
        expect(e).toBeInstanceOf(JsonParseError);
        return (e as Error).message.replace(/^line \d+, column \d+, byte \d+: /, '');
      }
      return 'accepted';
    };
    expect(err('["a\\u0000b"]')).toBe('null bytes not supported in quoted strings');
    expect(err('[1e400]')).toBe('number outside valid range');
    expect(err('[5e-324]')).toBe('number outside valid range');
    expect(err('[01]')).toBe('leading zeros not allowed');
    expect(err('["a\nb"]')).toBe('U+000A must be escaped in quoted string');
    expect(err('[tru]')).toBe("invalid keyword 'tru'");
    // (the depth limit is enforced by the exact parser and by the stream splitter, not by the JSON.parse path)
    expect(err('[1234567890123456,' + '['.repeat(1000) + ']'.repeat(1001))).toBe('input exceeds maximum nesting depth 1000');
    expect(err('[1234567890123456,' + '['.repeat(999) + ']'.repeat(1000))).toBe('accepted');
    expect(err('["\\\\u0000"]')).toBe('accepted'); // an escaped backslash, not a NUL
  });
  it('underflow as the reference: a value below even the subnormals is 0, a subnormal is refused', () => {
    expect(parseJson('[1e-400,-1e-400,1e-330,-2.5e-400]')).toEqual([0, 0, 0, 0]);
    expect(Object.is((parseJson('[-1e-400]') as number[])[0], 0)).toBe(true);
    for (const t of ['[5e-324]', '[2.5e-324]', '[1e-321]', '[0.1e-320]', '[1e-308]']) {
      expect(() => parseJson(t), t).toThrow(/number outside valid range$/);
    }
    expect(parseJson('[2.2250738585072014e-308]')).toEqual([2.2250738585072014e-308]);
  });
  it('surrogate escapes as the reference: a high one must start a pair; a lone low one passes', () => {
    const msg = (t: string) => {
      try {
        parseJson(t, false);
        return 'accepted';
      } catch (e) {
        return (e as Error).message;
      }
    };
    // Reported at the string's closing quote, as the reference (which decodes a string once it is whole).
    expect(msg('["\\ud800"]')).toBe('line 0, column 8, byte 8: malformed escaped surrogate pair');
    expect(msg('["\\udc00\\ud800"]')).toBe('line 0, column 14, byte 14: malformed escaped surrogate pair');
    expect(msg('["\\uD83Dx"]')).toBe('line 0, column 9, byte 9: malformed escaped surrogate pair');
    expect(msg('["\\ud83d\\u0041"]')).toBe('line 0, column 14, byte 14: malformed escaped surrogate pair');
    expect(parseJson('["\\ud83d\\ude00","a\\udc00b"]', false)).toEqual(['\u{1f600}', 'a\udc00b']);
  });
  it('last duplicate member wins; __proto__ is an ordinary member', () => {
    expect(parseJson('{"a":1,"a":2}')).toEqual({ a: 2 });
    const o = parseJson('{"__proto__":[12345678901234567]}') as Record<string, JsonValue>;
    expect(Object.keys(o)).toEqual(['__proto__']);
  });
  it('mayNeedCarefulParse flags long digit runs and exponents', () => {
    expect(mayNeedCarefulParse('[1234567890123456]')).toBe(true);
    expect(mayNeedCarefulParse('[1e5]')).toBe(true);
    expect(mayNeedCarefulParse('[123456789012345,true,false]')).toBe(false);
  });
  it('round-trips arbitrary int64 values exactly (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (n) => {
        const v = parseJson(`[${n}]`) as JsonValue[];
        const expected = n >= -(2n ** 53n - 1n) && n <= 2n ** 53n - 1n ? Number(n) : n;
        expect(v[0]).toEqual(expected);
        expect(stringify(v)).toBe(`[${n}]`);
      }),
    );
  });
});

describe('stringify', () => {
  it('prints bigints bare, everywhere', () => {
    expect(stringify([1n, -5n, { x: 9223372036854775807n }, 'q'])).toBe('[1,-5,{"x":9223372036854775807},"q"]');
    expect(stringify(5n)).toBe('5');
    expect(stringify({ a: 'plain' })).toBe('{"a":"plain"}');
  });
  it('escapes strings exactly as OVS', () => {
    expect(stringify('"\\\b\t\n\f\r\u0001\u001f\u007f/é😀')).toBe('"\\"\\\\\\b\\t\\n\\f\\r\\u0001\\u001f\u007f/é😀"');
  });
  it('does not mistake a string that looks like the sentinel text', () => {
    expect(stringify(['\\u0000n5', 1n])).toBe('["\\\\u0000n5",1]');
  });
});

describe('stringifySorted / formatReal', () => {
  it('sorts keys and prints numbers as OVS', () => {
    expect(stringifySorted({ table: 'Nope', op: 'insert', row: {} })).toBe('{"op":"insert","row":{},"table":"Nope"}');
    expect(stringifySorted({ b: [1.5, 2 ** 62, 1e20, 0.1 + 0.2, -0], a: null, z: true, ä: 1n })).toBe(
      '{"a":null,"b":[1.5,4611686018427387904,1e+20,0.3,0],"z":true,"ä":1}',
    );
  });
  it('formats like C %.15g (checked against glibc values)', () => {
    const cases: [number, string][] = [
      [0.1 + 0.2, '0.3'],
      [1e20, '1e+20'],
      [1e-5, '1e-05'],
      [2, '2'],
      [1e300, '1e+300'],
      [-0, '0'],
      [0.5, '0.5'],
      [1e15, '1e+15'],
      [123456789012345.6, '123456789012346'],
      [100000000000000.5, '100000000000000'], // tie, 15th digit even: glibc rounds to even
      [1234567890123.125, '1234567890123.12'], // tie
      [1234567890123.135, '1234567890123.14'], // not a tie in binary
      [1.5e-7, '1.5e-07'],
      [-2.5e-300, '-2.5e-300'],
      [0.0001, '0.0001'],
      [123.456, '123.456'],
      [2 ** 62, '4.61168601842739e+18'],
    ];
    for (const [x, s] of cases) expect(formatReal(x), String(x)).toBe(s);
  });
});
