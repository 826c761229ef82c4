// Crash leftovers and corruption in the record log: torn tails are recovered, damage in the middle
// is reported with its offset (strict) or handled like ovsdb-server 3.1 (reference).
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LogError, RecordLog, encodeRecord, type LogRecovery } from '../../storage/log.ts';
import { EX_SCHEMA_TEXT, insertText, lineRecordOffsets, rmDir, tmpDir, uuidN, writeLog } from '../unit/log-util.ts';

let dir: string;
let file: string;
beforeEach(() => {
  dir = tmpDir('logfault');
  file = path.join(dir, 'db');
});
afterEach(() => rmDir(dir));

const TEXTS = [EX_SCHEMA_TEXT, ...[1, 2, 3, 4].map((i) => insertText(uuidN(i), `row-${i}`))];
const NEW = insertText(uuidN(100), 'new');

function names(log: RecordLog): string[] {
  return log.readAll().map((r) => JSON.stringify(r.json));
}

describe('torn tail', () => {
  it('drops a tail cut at every byte of the last record and cuts it off before the next append', () => {
    const data = writeLog(file, TEXTS);
    const offs = lineRecordOffsets(data);
    const last = offs[offs.length - 1]!;
    const good = data.subarray(0, last.offset);
    for (let cut = last.offset + 1; cut < data.length; cut++) {
      fs.writeFileSync(file, data.subarray(0, cut));
      const seen: LogRecovery[] = [];
      const log = RecordLog.open(file, { writable: true, onRecovery: (r) => seen.push(r) });
      expect(names(log)).toEqual(TEXTS.slice(0, -1).map((t) => JSON.stringify(JSON.parse(t))));
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({ kind: 'torn-tail', offset: last.offset, discardedBytes: cut - last.offset });
      expect(log.stats().size).toBe(last.offset);
      log.append(NEW);
      log.close();
      expect(fs.readFileSync(file).equals(Buffer.concat([good, encodeRecord(NEW)]))).toBe(true);
    }
  });

  it('a read-only open drops the torn tail without changing the file', () => {
    const data = writeLog(file, TEXTS);
    fs.writeFileSync(file, data.subarray(0, data.length - 7));
    const log = RecordLog.open(file);
    expect(log.readAll()).toHaveLength(TEXTS.length - 1);
    log.close();
    expect(fs.statSync(file).size).toBe(data.length - 7);
  });

  it('treats zero-filled blocks and a bad hash on the last record as torn', () => {
    const data = writeLog(file, TEXTS);
    const offs = lineRecordOffsets(data);
    const last = offs[offs.length - 1]!;
    const variants = [
      Buffer.concat([data, Buffer.alloc(4096)]), // size grew, data never landed
      Buffer.concat([data.subarray(0, last.offset + 60), Buffer.alloc(last.length - 60)]), // body zeroed
      (() => { const b = Buffer.from(data); b[data.length - 5] ^= 0x01; return b; })(), // bad hash, last record
    ];
    const expectedRecords = [TEXTS.length, TEXTS.length - 1, TEXTS.length - 1];
    variants.forEach((v, i) => {
      fs.writeFileSync(file, v);
      const log = RecordLog.open(file, { writable: true });
      expect(log.readAll()).toHaveLength(expectedRecords[i]!);
      expect(log.recovery?.kind).toBe('torn-tail');
      log.append(NEW);
      log.close();
      expect(RecordLog.open(file).readAll()).toHaveLength(expectedRecords[i]! + 1);
    });
  });

  it('never recovers a damaged schema record', () => {
    const data = writeLog(file, TEXTS.slice(0, 1));
    fs.writeFileSync(file, data.subarray(0, data.length - 1));
    const log = RecordLog.open(file, { writable: true, policy: 'reference' });
    expect(() => log.readAll()).toThrow(LogError);
    expect(() => log.append(NEW)).toThrow(/failed to load/);
  });
});

describe('corruption in the middle', () => {
  it('reports a flipped byte anywhere in a middle record with that record\'s offset', () => {
    const data = writeLog(file, TEXTS);
    const offs = lineRecordOffsets(data);
    const bad = offs[2]!;
    for (let i = bad.offset; i < bad.offset + bad.length; i++) {
      const b = Buffer.from(data);
      b[i]! ^= 0x01;
      fs.writeFileSync(file, b);
      const log = RecordLog.open(file, { writable: true });
      let err: unknown;
      try {
        log.readAll();
      } catch (e) {
        err = e;
      }
      expect(err, `byte ${i}`).toBeInstanceOf(LogError);
      expect((err as LogError).offset).toBe(bad.offset);
      // header damage names the header's offset, body damage the body's
      const msg = (err as LogError).message;
      if (msg.includes('in header line')) expect(msg).toContain(`parse error at offset ${bad.offset} in header line`);
      else expect(msg).toContain(`starting at offset ${bad.offset + 56} `);
      expect(log.recovery).toMatchObject({ kind: 'corrupt', offset: bad.offset, nextValidOffset: offs[3]!.offset });
      expect(() => log.append(NEW)).toThrow();
      log.close();
      expect(fs.readFileSync(file).equals(b)).toBe(true); // strict never writes
    }
  });

  it('a length pointing past the end of the file is corruption when valid records follow', () => {
    const data = writeLog(file, TEXTS);
    const offs = lineRecordOffsets(data);
    const bad = offs[1]!;
    const hdr = data.subarray(bad.offset, bad.offset + 56).toString();
    const len = hdr.split(' ')[2]!;
    const b = Buffer.from(data.toString('latin1').replace(hdr, hdr.replace(` ${len} `, ` ${'9'.repeat(len.length)} `)), 'latin1');
    fs.writeFileSync(file, b);
    const log = RecordLog.open(file);
    expect(() => log.readAll()).toThrow(`I/O error: ${file}: error reading 999 bytes starting at offset ${bad.offset + 56} (End of file)`);
    expect(log.recovery?.kind).toBe('corrupt');
  });

  it('reference policy uses the records before the damage and truncates on the next write', () => {
    const data = writeLog(file, TEXTS);
    const offs = lineRecordOffsets(data);
    const b = Buffer.from(data);
    b[offs[2]!.offset + 70]! ^= 0x01;
    fs.writeFileSync(file, b);
    const seen: LogRecovery[] = [];
    const log = RecordLog.open(file, { writable: true, policy: 'reference', onRecovery: (r) => seen.push(r) });
    expect(log.readAll()).toHaveLength(2);
    expect(seen[0]).toMatchObject({ kind: 'corrupt', offset: offs[2]!.offset, discardedBytes: data.length - offs[2]!.offset });
    expect(seen[0]!.error.render()).toMatch(
      new RegExp(`^syntax error: ${file}: ${offs[2]!.length - 56} bytes starting at offset ${offs[2]!.offset + 56} have SHA-1 hash [0-9a-f]{40} but should have hash [0-9a-f]{40}$`),
    );
    log.append(NEW);
    log.close();
    expect(fs.readFileSync(file).equals(Buffer.concat([data.subarray(0, offs[2]!.offset), encodeRecord(NEW)]))).toBe(true);
  });
});
