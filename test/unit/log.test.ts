import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LogError, RecordLog, encodeRecord, type LogRecovery } from '../../storage/log.ts';
import { displayHeaderLine, parseHeaderLine } from '../../storage/log-header.ts';
import { OvsdbError } from '../../schema/error.ts';
import {
  EX_SCHEMA_TEXT,
  HEADER_CASES,
  expandCase,
  frame,
  insertText,
  lineRecordOffsets,
  rmDir,
  tmpDir,
  uuidN,
  writeLog,
} from './log-util.ts';

let dir: string;
beforeEach(() => {
  dir = tmpDir('log');
});
afterEach(() => rmDir(dir));

function caught(f: () => unknown): LogError {
  try {
    f();
  } catch (err) {
    if (err instanceof LogError) return err;
    throw err;
  }
  throw new Error('expected a LogError');
}

describe('record framing', () => {
  it('encodes the reference example byte for byte (§7.2)', () => {
    const rec = encodeRecord(EX_SCHEMA_TEXT);
    expect(rec.toString('utf8')).toBe(`OVSDB JSON 145 ae5525bdd9062ab963935e60488bc1af428cad12\n${EX_SCHEMA_TEXT}\n`);
    const r2 =
      '{"_date":1795294734828,"T":{"0954ba8c-fb34-4e4e-811c-cab759c77b3c":{"tags":["set",["a","c"]]}},"_is_diff":true}';
    expect(encodeRecord(r2).subarray(0, 56).toString()).toBe('OVSDB JSON 112 f021f992965708f055be5ce9c966e508a7a318a3\n');
  });

  it('counts UTF-8 bytes, not UTF-16 units', () => {
    const text = '{"s":"h\u00e9\u{1F600}"}';
    expect(encodeRecord(text).equals(frame(`${text}\n`))).toBe(true);
  });

  it('parses header lines like the reference', () => {
    const h = parseHeaderLine(Buffer.from('OVSDB JSON 145 AE5525BDD9062AB963935E60488BC1AF428CAD12'));
    expect(h).toEqual({ magic: 'JSON', length: 145, sha1: 'ae5525bdd9062ab963935e60488bc1af428cad12' });
    expect(parseHeaderLine(Buffer.from('OVSDB CLUSTER 5 ae5525bdd9062ab963935e60488bc1af428cad12'))?.magic).toBe('CLUSTER');
    expect(parseHeaderLine(Buffer.from('OVSDB JSON 0 ae5525bdd9062ab963935e60488bc1af428cad12'))).toBeNull();
    expect(displayHeaderLine(Buffer.from('OVSDB JSON 1 2'))).toBe('OVSDB JSON');
    expect(displayHeaderLine(Buffer.from('x\0yz'))).toBe('x');
  });
});

describe('create, append, read', () => {
  it('round-trips records with exact offsets and stats', () => {
    const file = path.join(dir, 'a.db');
    const log = RecordLog.create(file, EX_SCHEMA_TEXT);
    const texts = [insertText(uuidN(1), 'one'), insertText(uuidN(2), 'two \u00e9')];
    const appended = texts.map((t) => log.append(t));
    log.sync();
    expect(log.stats()).toEqual({ records: 3, recordsSinceOpen: 3, size: fs.statSync(file).size, baseSize: 201 });
    log.close();

    const data = fs.readFileSync(file);
    const expected = lineRecordOffsets(data);
    expect(appended).toEqual(expected.slice(1));

    const r = RecordLog.open(file);
    const recs = r.readAll();
    expect(recs.map(({ offset, length }) => ({ offset, length }))).toEqual(expected);
    expect(recs.map((x) => JSON.stringify(x.json))).toEqual([EX_SCHEMA_TEXT, ...texts]);
    expect(r.recovery).toBeNull();
    expect(r.stats()).toEqual({ records: 3, recordsSinceOpen: 3, size: data.length, baseSize: data.length });
    r.close();
  });

  it('creates the file with mode 0660 & ~umask and refuses an existing one', () => {
    const file = path.join(dir, 'b.db');
    RecordLog.create(file, EX_SCHEMA_TEXT).close();
    const umask = process.umask();
    expect(fs.statSync(file).mode & 0o777).toBe(0o660 & ~umask);
    const e = caught(() => RecordLog.create(file, EX_SCHEMA_TEXT));
    expect(e.render()).toBe(`I/O error: ${file}: create failed (File exists)`);
    expect(e.toJson()).toEqual({ error: 'I/O error', details: `${file}: create failed`, 'io-error': 'File exists' });
    expect(e).toBeInstanceOf(OvsdbError);
  });

  it('reports open failures and unknown formats like the reference', () => {
    const missing = path.join(dir, 'nope.db');
    expect(caught(() => RecordLog.open(missing)).render()).toBe(`I/O error: ${missing}: open failed (No such file or directory)`);
    const empty = path.join(dir, 'empty.db');
    fs.writeFileSync(empty, '');
    expect(caught(() => RecordLog.open(empty)).render()).toBe(`ovsdb error: ${empty}: cannot identify file type`);
    const junk = path.join(dir, 'junk.db');
    for (const content of ['garbage\n', 'OVSDB JSON 5 abc\n', 'OVSDB JSON 100 a0d7068d84f4fba7e7195594110ba1c6a5beec8e']) {
      fs.writeFileSync(junk, content);
      expect(caught(() => RecordLog.open(junk)).render()).toBe(`ovsdb error: ${junk}: unexpected file format`);
    }
  });

  it('refuses clustered databases clearly', () => {
    const file = path.join(dir, 'c.db');
    fs.writeFileSync(file, frame('{"cluster_id":"x"}\n', 'CLUSTER'));
    const e = caught(() => RecordLog.open(file));
    expect(e.tag).toBe('ovsdb error');
    expect(e.details).toMatch(new RegExp(`^${file}: clustered databases are not supported`));
  });

  it('accepts pretty-printed bodies with trailing whitespace and no final newline', () => {
    const file = path.join(dir, 'p.db');
    fs.writeFileSync(file, Buffer.concat([frame(`${EX_SCHEMA_TEXT}\n`), frame(' {\n "_date": 1,\n "_comment": "x"\n}\n\t \n'), frame('{}')]));
    const recs = RecordLog.open(file).readAll();
    expect(recs.map((r) => r.json)).toEqual([JSON.parse(EX_SCHEMA_TEXT), { _date: 1, _comment: 'x' }, {}]);
  });

  it('reports the error texts of §7.1 for damaged records in the middle', () => {
    const file = path.join(dir, 'm.db');
    const good = frame(`${EX_SCHEMA_TEXT}\n`);
    const after = frame(`${insertText(uuidN(9), 'after')}\n`);
    const o = good.length;
    const cases: [Buffer, string][] = [
      [frame('[]\n'), `syntax error: ${file}: 3 bytes starting at offset ${o + 54} are not a JSON object`],
      [frame('{]\n'), `syntax error: ${file}: 3 bytes starting at offset ${o + 54} are not valid JSON (line 0, column 1, byte 1: syntax error parsing object expecting string)`],
      [frame('{} {}\n'), `syntax error: ${file}: 6 bytes starting at offset ${o + 54} are not valid JSON (line 0, column 3, byte 3: trailing garbage at end of input)`],
      [frame(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d, 0x0a])), `syntax error: ${file}: 8 bytes starting at offset ${o + 54} are not valid JSON (invalid UTF-8 sequence)`],
      [
        Buffer.from(`OVSDB JSON 3 aa86d2fbfd2df6b5c6a3e4ab84f5e3fa2ec41fca\n{}\n`),
        `syntax error: ${file}: 3 bytes starting at offset ${o + 54} have SHA-1 hash 5f36b2ea290645ee34d943220a14b54ee5ea5be5 but should have hash aa86d2fbfd2df6b5c6a3e4ab84f5e3fa2ec41fca`,
      ],
      [Buffer.from('garbage\n'), `syntax error: ${file}: parse error at offset ${o} in header line "garbage"`],
    ];
    for (const [bad, msg] of cases) {
      fs.writeFileSync(file, Buffer.concat([good, bad, after]));
      // strict: thrown, with the offset of the bad record
      const strict = RecordLog.open(file, { writable: true });
      const e = caught(() => strict.readAll());
      expect(e.render().startsWith(msg)).toBe(true);
      expect(e.offset).toBe(o);
      expect(strict.recovery).toMatchObject({ kind: 'corrupt', offset: o, nextValidOffset: o + bad.length });
      expect(() => strict.append('{}')).toThrow(/failed to load/);
      strict.close();
      // reference: the records before it are used
      const seen: LogRecovery[] = [];
      const ref = RecordLog.open(file, { policy: 'reference', onRecovery: (r) => seen.push(r) });
      expect(ref.readAll()).toHaveLength(1);
      expect(seen).toHaveLength(1);
      expect(seen[0]!.error.render().startsWith(msg)).toBe(true);
      ref.close();
    }
  });

  it('reports every measured header-line error exactly (tail position)', () => {
    const file = path.join(dir, 'h.db');
    for (const c of HEADER_CASES) {
      const base = writeLog(file, [EX_SCHEMA_TEXT, insertText(uuidN(1), 'one')]);
      fs.appendFileSync(file, c.tail, 'latin1');
      const log = RecordLog.open(file);
      expect(log.readAll()).toHaveLength(2);
      expect(log.recovery?.kind).toBe('torn-tail');
      expect(log.recovery?.error.render()).toBe(expandCase(c.error, file, base.length, c.tail));
      log.close();
    }
  });

  it('reads records bigger than the read window', () => {
    const file = path.join(dir, 'big.db');
    const log = RecordLog.create(file, EX_SCHEMA_TEXT);
    const big = JSON.stringify({ _date: 1, T: { [uuidN(1)]: { name: 'x'.repeat(3 << 20) } } });
    log.append(insertText(uuidN(2), 'small'));
    log.append(big);
    log.append(insertText(uuidN(3), 'small2'));
    log.close();
    const recs = RecordLog.open(file).readAll();
    expect(recs.map((r) => JSON.stringify(r.json))).toEqual([EX_SCHEMA_TEXT, insertText(uuidN(2), 'small'), big, insertText(uuidN(3), 'small2')]);
    expect(recs.map(({ offset, length }) => ({ offset, length }))).toEqual(lineRecordOffsets(fs.readFileSync(file)));
  });

  it('writes a huge record (sliced, multi-byte characters on the slice edges) exactly as encodeRecord frames it', () => {
    const file = path.join(dir, 'huge.db');
    const log = RecordLog.create(file, EX_SCHEMA_TEXT);
    // The name starts 64 characters into the record: the first 😀's high surrogate is the slice's last unit.
    const name = 'é'.repeat((1 << 20) - 65) + '😀' + '€x'.repeat(1 << 21) + '😀'.repeat(1 << 20);
    const huge = JSON.stringify({ _date: 1, T: { [uuidN(1)]: { name } } });
    expect(huge.indexOf('😀')).toBe((1 << 20) - 1);
    expect(huge.length).toBeGreaterThan(4 << 20);
    const { offset, length } = log.append(huge);
    log.append(insertText(uuidN(2), 'after'));
    log.close();
    const bytes = fs.readFileSync(file);
    const expected = encodeRecord(huge);
    expect(length).toBe(expected.length);
    expect(bytes.subarray(offset, offset + length).equals(expected)).toBe(true);
    const recs = RecordLog.open(file).readAll();
    expect((recs[1]!.json as { T: Record<string, { name: string }> }).T[uuidN(1)]!.name === name).toBe(true);
    expect(JSON.stringify(recs[2]!.json)).toBe(insertText(uuidN(2), 'after'));
  });

  it('appendMany writes what append writes, record by record', () => {
    const a = path.join(dir, 'a.db');
    const b = path.join(dir, 'b.db');
    const texts = [insertText(uuidN(1), 'one'), insertText(uuidN(2), 'h\u00e9\u{1F600}'), '{}', insertText(uuidN(3), 'x'.repeat(70000))];
    const la = RecordLog.create(a, EX_SCHEMA_TEXT);
    for (const t of texts) la.append(t);
    la.close();
    const lb = RecordLog.create(b, EX_SCHEMA_TEXT);
    expect(lb.appendMany(texts.slice(0, 3))).toEqual({ offset: encodeRecord(EX_SCHEMA_TEXT).length, length: texts.slice(0, 3).reduce((n, t) => n + encodeRecord(t).length, 0) });
    lb.appendMany(texts.slice(3));
    expect(lb.stats().records).toBe(5);
    lb.close();
    expect(fs.readFileSync(b).equals(fs.readFileSync(a))).toBe(true);
  });

  it('recordsAsync reads what records() reads, a large record over several turns, with the same errors', async () => {
    const file = path.join(dir, 'async.db');
    const big = JSON.stringify({ _date: 1, T: Object.fromEntries(Array.from({ length: 20000 }, (_, i) => [uuidN(i + 10), { name: `n\u00e9${i}`, k: [i, 'x'] }])) });
    const texts = [EX_SCHEMA_TEXT, insertText(uuidN(1), 'one'), big, insertText(uuidN(2), 'two')];
    writeLog(file, texts);
    let turns = 0;
    const slicer = { due: () => true, yield: () => (turns++, Promise.resolve()) };
    const readAsync = async (log: RecordLog) => {
      const out = [];
      for await (const r of log.recordsAsync(slicer)) out.push(r);
      return out;
    };
    const want = RecordLog.open(file).readAll();
    const got = await readAsync(RecordLog.open(file));
    expect(got.map((r) => [r.offset, r.length, JSON.stringify(r.json)])).toEqual(want.map((r) => [r.offset, r.length, JSON.stringify(r.json)]));
    expect(turns).toBeGreaterThan(10);
    // A bad hash, bad JSON and a torn tail in the large record: the errors records() reports.
    const bytes = fs.readFileSync(file);
    const at = want[2]!.offset;
    const bodyAt = bytes.indexOf(0x0a, at) + 1;
    for (const damage of [
      (b: Buffer) => (b[bodyAt + 100] = 0x41),
      (b: Buffer) => b.subarray(0, want[3]!.offset - 10),
    ]) {
      const b = Buffer.from(bytes);
      const r = damage(b);
      fs.writeFileSync(file, r instanceof Buffer ? r : b);
      for (const policy of ['strict', 'reference'] as const) {
        const seen: string[] = [];
        const expectOf = async (read: (l: RecordLog) => Promise<unknown> | unknown) => {
          const log = RecordLog.open(file, { policy, onRecovery: (x) => seen.push(x.error.render()) });
          try {
            const recs = (await read(log)) as unknown[];
            return `${recs.length} ${seen.pop()}`;
          } catch (e) {
            return (e as LogError).render();
          } finally {
            log.close();
          }
        };
        expect(await expectOf(readAsync)).toBe(await expectOf((l) => l.readAll()));
      }
    }
    // Not JSON, although the hash matches.
    const texts2 = [EX_SCHEMA_TEXT, big.slice(0, -1) + ']'];
    writeLog(file, texts2);
    const e = await readAsync(RecordLog.open(file)).catch((x: LogError) => x.render());
    expect(e).toBe(caught(() => RecordLog.open(file).readAll()).render());
  });

  it('replaceWithAsync writes a huge record as replaceWith does', async () => {
    const a = path.join(dir, 'ra.db');
    const b = path.join(dir, 'rb.db');
    const huge = JSON.stringify({ _date: 1, T: { [uuidN(1)]: { name: '\u00e9'.repeat(3 << 20) + '\u{1F600}'.repeat(1 << 20) } } });
    const recs = [EX_SCHEMA_TEXT, huge, insertText(uuidN(2), 'after')];
    const la = RecordLog.create(a, EX_SCHEMA_TEXT);
    la.replaceWith(recs);
    la.close();
    const lb = RecordLog.create(b, EX_SCHEMA_TEXT);
    await lb.replaceWithAsync(recs);
    lb.append(insertText(uuidN(3), 'more'));
    lb.close();
    const want = Buffer.concat([fs.readFileSync(a), encodeRecord(insertText(uuidN(3), 'more'))]);
    expect(fs.readFileSync(b).equals(want)).toBe(true);
  });

  it('parses int64 exactly by default and accepts an injected JSON parser', () => {
    const file = path.join(dir, 'j.db');
    writeLog(file, [EX_SCHEMA_TEXT, '{"n":9223372036854775807}']);
    expect(RecordLog.open(file).readAll()[1]!.json).toEqual({ n: 9223372036854775807n }); // default: exact int64
    const recs = RecordLog.open(file, {
      parseJson: (t) => JSON.parse(t, (k, v) => (k === 'n' ? 1n : v)),
    }).readAll();
    expect(recs[1]!.json).toEqual({ n: 1n });
    const e = caught(() =>
      RecordLog.open(file, {
        policy: 'strict',
        parseJson: () => {
          throw new Error('line 0, column 1, byte 1: nope');
        },
      }).readAll(),
    );
    expect(e.render()).toBe(`syntax error: ${file}: 145 bytes starting at offset 56 are not valid JSON (line 0, column 1, byte 1: nope)`);
  });
});

describe('write rules', () => {
  it('requires reading to the end before appending, and writable mode', () => {
    const file = path.join(dir, 'w.db');
    writeLog(file, [EX_SCHEMA_TEXT, insertText(uuidN(1), 'one')]);
    const ro = RecordLog.open(file);
    ro.readAll();
    expect(() => ro.append('{}')).toThrow(/read-only/);
    ro.close();
    const rw = RecordLog.open(file, { writable: true });
    expect(() => rw.append('{}')).toThrow(/read the log to the end/);
    for (const r of rw.records()) void r;
    rw.append('{}');
    rw.close();
    expect(RecordLog.open(file).readAll()).toHaveLength(3);
  });

  it('unreadLast drops the last record read and cuts it off on the next write', () => {
    const file = path.join(dir, 'u.db');
    const data = writeLog(file, [EX_SCHEMA_TEXT, insertText(uuidN(1), 'one'), insertText(uuidN(2), 'bad'), insertText(uuidN(3), 'lost')]);
    const offs = lineRecordOffsets(data);
    const log = RecordLog.open(file, { writable: true });
    const seen: number[] = [];
    for (const r of log.records()) {
      seen.push(r.offset);
      if (r.offset === offs[2]!.offset) log.unreadLast();
    }
    expect(seen).toEqual([0, offs[1]!.offset, offs[2]!.offset]);
    expect(log.stats()).toMatchObject({ records: 2, size: offs[2]!.offset });
    expect(fs.statSync(file).size).toBe(data.length); // not touched until a write
    log.append(insertText(uuidN(4), 'new'));
    log.close();
    const again = RecordLog.open(file).readAll();
    expect(again.map((r) => Object.keys(r.json.T ?? {})[0])).toEqual([undefined, uuidN(1), uuidN(4)]);
  });

  it('replaceWith swaps the file atomically and keeps appending to the new one', () => {
    const file = path.join(dir, 'r.db');
    const log = RecordLog.create(file, EX_SCHEMA_TEXT);
    for (let i = 0; i < 10; i++) log.append(insertText(uuidN(i), `row${i}`));
    const before = log.stats();
    const compacted = [EX_SCHEMA_TEXT, JSON.stringify({ _date: 5, _comment: 'compacting database online', _is_diff: true })];
    log.replaceWith(compacted);
    const expectedSize = compacted.reduce((n, t) => n + encodeRecord(t).length, 0);
    expect(log.stats()).toEqual({ records: 2, recordsSinceOpen: before.recordsSinceOpen + 2, size: expectedSize, baseSize: expectedSize });
    log.append(insertText(uuidN(99), 'after'));
    log.close();
    expect(fs.existsSync(`${file}.tmp`)).toBe(false);
    const recs = RecordLog.open(file).readAll();
    expect(recs.map((r) => JSON.stringify(r.json))).toEqual([...compacted, insertText(uuidN(99), 'after')]);
  });

  it('replaceWith follows a symlink and writes the temp file beside its target', () => {
    const realDir = path.join(dir, 'real');
    fs.mkdirSync(realDir);
    const target = path.join(realDir, 't.db');
    const link = path.join(dir, 'link.db');
    writeLog(target, [EX_SCHEMA_TEXT, insertText(uuidN(1), 'one')]);
    fs.symlinkSync(target, link);
    const renames: string[][] = [];
    const log = RecordLog.open(link, {
      writable: true,
      fs: { renameSync: (a, b) => (renames.push([a, b]), fs.renameSync(a, b)) },
    });
    log.readAll();
    log.replaceWith([EX_SCHEMA_TEXT]);
    log.append(insertText(uuidN(2), 'two'));
    log.close();
    expect(renames).toEqual([[`${target}.tmp`, target]]);
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(RecordLog.open(link).readAll()).toHaveLength(2);
  });
});
