// Record header line of the OVSDB file format: `OVSDB <magic> <length> <sha1>\n`.
// Acceptance rules were measured against ovsdb-tool 3.1 (see test/unit/log-header.test.ts):
// the length field is read like strtoull(…, 10) (leading blanks, '+' or '-' allowed), everything
// else is strict: single spaces, 40 hex digits (either case), newline right after the hash.

export const MAGIC_STANDALONE = 'JSON';
export const MAGIC_CLUSTERED = 'CLUSTER';
/** The reference reads a header with a 128-byte buffer: 127 bytes of line including "\n". */
export const MAX_HEADER_BYTES = 127;

export interface RecordHeader {
  magic: string;
  /** Body length. A bigint only for absurd values (beyond 2^53) that can never be satisfied. */
  length: number | bigint;
  /** Expected SHA-1 of the body, lower-case hex. */
  sha1: string;
}

const U64 = 1n << 64n;
const SP = 0x20;

function isCSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}
function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}
function isHex(c: number): boolean {
  return isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/**
 * Parse one header line (`line` excludes the "\n"). Returns null when the line is not a header
 * (the caller then reports a parse error). Any magic is returned; the caller checks it.
 */
export function parseHeaderLine(line: Uint8Array): RecordHeader | null {
  const n = line.length;
  // "OVSDB "
  if (n < 6 || line[0] !== 0x4f || line[1] !== 0x56 || line[2] !== 0x53 || line[3] !== 0x44 || line[4] !== 0x42 || line[5] !== SP) {
    return null;
  }
  let i = 6;
  while (i < n && line[i] !== SP) i++;
  if (i === 6 || i >= n) return null;
  // The usual magic without allocating.
  const magic = i === 10 && line[6] === 0x4a && line[7] === 0x53 && line[8] === 0x4f && line[9] === 0x4e ? MAGIC_STANDALONE : latin1(line, 6, i);
  i++;

  // Length, strtoull-style.
  while (i < n && isCSpace(line[i]!)) i++;
  let negative = false;
  if (line[i] === 0x2b || line[i] === 0x2d) {
    negative = line[i] === 0x2d;
    i++;
  }
  const digitsStart = i;
  while (i < n && isDigit(line[i]!)) i++;
  if (i === digitsStart || line[i] !== SP) return null;
  if (!negative && i - digitsStart <= 15) {
    // Fast path: fits a double exactly.
    let v = 0;
    for (let j = digitsStart; j < i; j++) v = v * 10 + (line[j]! - 0x30);
    if (v === 0) return null;
    return finishHeader(line, i + 1, magic, v);
  }
  let value = BigInt(latin1(line, digitsStart, i));
  if (value >= U64 - 1n) return null; // ULLONG_MAX is strtoull's overflow answer
  if (negative) value = (U64 - value) % U64;
  if (value === 0n) return null;
  return finishHeader(line, i + 1, magic, value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value);
}

// The SHA-1 field: exactly 40 hex digits, then the end of the line.
function finishHeader(line: Uint8Array, i: number, magic: string, length: number | bigint): RecordHeader | null {
  const n = line.length;
  if (n - i !== 40) return null;
  let lower = true;
  for (let j = i; j < n; j++) {
    const c = line[j]!;
    if (!isHex(c)) return null;
    if (c >= 0x41 && c <= 0x46) lower = false;
  }
  const hex = latin1(line, i, n);
  return { magic, length, sha1: lower ? hex : hex.toLowerCase() };
}

/**
 * The header line as the reference prints it in `parse error ... in header line "<line>"`: it is cut
 * after the magic word when the line starts with "OVSDB ", and at a NUL byte.
 */
export function displayHeaderLine(line: Uint8Array): string {
  let end = line.indexOf(0);
  if (end < 0) end = line.length;
  if (end >= 6 && latin1(line, 0, 6) === 'OVSDB ') {
    const sp = line.indexOf(SP, 6);
    if (sp >= 0 && sp < end) end = sp;
  }
  return Buffer.from(line.buffer, line.byteOffset, end).toString('utf8');
}

function latin1(b: Uint8Array, start: number, end: number): string {
  return Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('latin1');
}
