// Shared helpers for the record-log tests (not a test file itself).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';

/** The tiny schema of reference §7.2, as record 0 holds it. */
export const EX_SCHEMA_TEXT =
  '{"name":"Ex","version":"1.0.0","tables":{"T":{"columns":{"name":{"type":"string"},"tags":{"type":{"max":"unlimited","min":0,"key":"string"}}}}}}';

export function tmpDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `ovsdb-ts-${tag}-`));
}

export function rmDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** One insert transaction record for table T, as the database layer would write it. */
export function insertText(uuid: string, name: string, date = 1795294734820): string {
  return JSON.stringify({ _date: date, _is_diff: true, T: { [uuid]: { name } } });
}

export function uuidN(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

/** Header + body bytes written independently of storage/log.ts, for cross-checking. */
export function frame(body: string | Buffer, magic = 'JSON'): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const sha = createHash('sha1').update(b).digest('hex');
  return Buffer.concat([Buffer.from(`OVSDB ${magic} ${b.length} ${sha}\n`, 'latin1'), b]);
}

/** A log file built from record bodies (each gets "\n" appended), written independently of log.ts. */
export function writeLog(file: string, texts: string[]): Buffer {
  const data = Buffer.concat(texts.map((t) => frame(`${t}\n`)));
  fs.writeFileSync(file, data);
  return data;
}

/** Offsets of records in a well-formed file written one line of header + one line of body each. */
export function lineRecordOffsets(data: Buffer): { offset: number; length: number }[] {
  const out: { offset: number; length: number }[] = [];
  let pos = 0;
  while (pos < data.length) {
    const nl1 = data.indexOf(0x0a, pos);
    const nl2 = data.indexOf(0x0a, nl1 + 1);
    out.push({ offset: pos, length: nl2 + 1 - pos });
    pos = nl2 + 1;
  }
  return out;
}

const SHA = 'a0d7068d84f4fba7e7195594110ba1c6a5beec8e';
const Z72 = '0'.repeat(72);

/**
 * Bad or body-less headers appended after good records, with the error ovsdb-tool 3.1 printed for
 * each (measured; `$F` = file name, `$O` = offset of the header). `null` = the header parsed.
 */
export const HEADER_CASES: { tail: string; error: string }[] = [
  { tail: `OVSDB JSON 100 ${SHA}`, error: 'syntax error: $F: parse error at offset $O in header line "OVSDB JSON"' },
  { tail: `OVSDB JSON 100 ${SHA}\n`, error: 'I/O error: $F: error reading 100 bytes starting at offset $B (End of file)' },
  { tail: `OVSDB JSON 100 ${SHA.slice(0, 39)}\n`, error: 'syntax error: $F: parse error at offset $O in header line "OVSDB JSON"' },
  { tail: `OVSDB JSON 100 ${SHA}X\n`, error: 'syntax error: $F: parse error at offset $O in header line "OVSDB JSON"' },
  { tail: `OVSDB JSON 100 ${SHA.toUpperCase()}\n`, error: 'I/O error: $F: error reading 100 bytes starting at offset $B (End of file)' },
  { tail: `OVSDB JSON 10x ${SHA}\n`, error: 'syntax error: $F: parse error at offset $O in header line "OVSDB JSON"' },
  { tail: `OVSDB JSON -100 ${SHA}\n`, error: 'I/O error: $F: error reading 18446744073709551516 bytes starting at offset $B (End of file)' },
  { tail: `OVSDB JSON 0 ${SHA}\n`, error: 'syntax error: $F: parse error at offset $O in header line "OVSDB JSON"' },
  { tail: `OVSDB  JSON 100 ${SHA}\n`, error: 'syntax error: $F: parse error at offset $O in header line "OVSDB "' },
  { tail: `OVSDB CLUSTER 100 ${SHA}\n`, error: 'syntax error: $F: parse error at offset $O in header line "OVSDB CLUSTER"' },
  { tail: `OVSDB FOO 100 ${SHA}\n`, error: 'syntax error: $F: parse error at offset $O in header line "OVSDB FOO"' },
  { tail: `XVSDB JSON 100 ${SHA}\n`, error: `syntax error: $F: parse error at offset $O in header line "XVSDB JSON 100 ${SHA}"` },
  { tail: `OVSDB JSON +100 ${SHA}\n`, error: 'I/O error: $F: error reading 100 bytes starting at offset $B (End of file)' },
  { tail: `OVSDB JSON 0100 ${SHA}\n`, error: 'I/O error: $F: error reading 100 bytes starting at offset $B (End of file)' },
  { tail: `OVSDB JSON  100 ${SHA}\n`, error: 'I/O error: $F: error reading 100 bytes starting at offset $B (End of file)' },
  { tail: `OVSDB JSON 100 ${SHA} \n`, error: 'syntax error: $F: parse error at offset $O in header line "OVSDB JSON"' },
  { tail: `OVSDB JSON 100  ${SHA}\n`, error: 'syntax error: $F: parse error at offset $O in header line "OVSDB JSON"' },
  { tail: `OVSDB JSON 100 ${SHA}\r\n`, error: 'syntax error: $F: parse error at offset $O in header line "OVSDB JSON"' },
  { tail: 'OVSDB JSON\n', error: 'syntax error: $F: parse error at offset $O in header line "OVSDB JSON"' },
  { tail: 'OVSDB JSON \n', error: 'syntax error: $F: parse error at offset $O in header line "OVSDB JSON"' },
  { tail: 'OVSDB JSON 100\n', error: 'syntax error: $F: parse error at offset $O in header line "OVSDB JSON"' },
  { tail: 'OVSDB\n', error: 'syntax error: $F: parse error at offset $O in header line "OVSDB"' },
  { tail: 'OVSDB \n', error: 'syntax error: $F: parse error at offset $O in header line "OVSDB "' },
  { tail: 'garbage\n', error: 'syntax error: $F: parse error at offset $O in header line "garbage"' },
  { tail: '\n', error: 'syntax error: $F: parse error at offset $O in header line ""' },
  { tail: `OVSDB JSON 1.0 ${SHA}\n`, error: 'syntax error: $F: parse error at offset $O in header line "OVSDB JSON"' },
  { tail: `OVSDB JSON 0x10 ${SHA}\n`, error: 'syntax error: $F: parse error at offset $O in header line "OVSDB JSON"' },
  { tail: `OVSDB JSON 99999999999999999999999 ${SHA}\n`, error: 'syntax error: $F: parse error at offset $O in header line "OVSDB JSON"' },
  { tail: `OVSDB JSON 18446744073709551615 ${SHA}\n`, error: 'syntax error: $F: parse error at offset $O in header line "OVSDB JSON"' },
  { tail: `OVSDB JSON 18446744073709551614 ${SHA}\n`, error: 'I/O error: $F: error reading 18446744073709551614 bytes starting at offset $B (End of file)' },
  // 127 bytes with the newline is the longest header accepted; 128 is refused.
  { tail: `OVSDB JSON ${Z72.slice(2)}100 ${SHA}\n`, error: 'I/O error: $F: error reading 100 bytes starting at offset $B (End of file)' },
  { tail: `OVSDB JSON ${Z72}100 ${SHA}\n`, error: 'syntax error: $F: parse error at offset $O in header line "OVSDB JSON"' },
];

export function expandCase(error: string, file: string, offset: number, tail: string): string {
  const nl = tail.indexOf('\n');
  return error.replaceAll('$F', file).replaceAll('$O', String(offset)).replaceAll('$B', String(offset + nl + 1));
}
