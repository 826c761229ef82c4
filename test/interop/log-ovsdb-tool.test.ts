// The real ovsdb-tool reads our files, we read its files, and both agree on every error message.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LogError, RecordLog, encodeRecord } from '../../storage/log.ts';
import {
  EX_SCHEMA_TEXT,
  HEADER_CASES,
  frame,
  insertText,
  lineRecordOffsets,
  rmDir,
  tmpDir,
  uuidN,
  writeLog,
} from '../unit/log-util.ts';

const TOOL = '/usr/bin/ovsdb-tool';
const haveTool = fs.existsSync(TOOL);
const ENV = { ...process.env, TZ: 'UTC' };
const EX_SCHEMA_SOURCE =
  '{"name": "Ex", "version": "1.0.0", "tables": {"T": {"columns": {"name": {"type": "string"},\n "tags": {"type": {"key": "string", "min": 0, "max": "unlimited"}}}, "isRoot": true}}}\n';

function tool(...args: string[]): string {
  return execFileSync(TOOL, args, { env: ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}
function toolResult(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(TOOL, args, { env: ENV, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
function selectNames(db: string): string[] {
  const out = JSON.parse(tool('query', db, '["Ex",{"op":"select","table":"T","where":[],"columns":["name"]}]')) as [{ rows: { name: string }[] }];
  return out[0].rows.map((r) => r.name).sort();
}
function utcStamp(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

let dir: string;
beforeEach(() => {
  dir = tmpDir('logtool');
});
afterEach(() => rmDir(dir));

describe.skipIf(!haveTool)('real ovsdb-tool reads our files', () => {
  it('show-log, db-name, db-version and query', () => {
    const db = path.join(dir, 'ours.db');
    const log = RecordLog.create(db, EX_SCHEMA_TEXT);
    const d1 = 1795294734820;
    log.append(JSON.stringify({ _date: d1, _is_diff: true, T: { [uuidN(1)]: { name: 'one', tags: ['set', ['a', 'b']] } }, _comment: 'first' }));
    log.append(insertText(uuidN(2), 'two', d1 + 8));
    log.sync();
    log.close();
    expect(tool('db-name', db)).toBe('Ex\n');
    expect(tool('db-version', db)).toBe('1.0.0\n');
    expect(tool('show-log', db)).toBe(
      `record 0: "Ex" schema, version="1.0.0", cksum=""\n\nrecord 1: ${utcStamp(d1)} "first"\nrecord 2: ${utcStamp(d1 + 8)}\n`,
    );
    expect(selectNames(db)).toEqual(['one', 'two']);
    // same permissions as a file ovsdb-tool creates
    const theirs = path.join(dir, 'theirs.db');
    fs.writeFileSync(path.join(dir, 'ex.ovsschema'), EX_SCHEMA_SOURCE);
    tool('create', theirs, path.join(dir, 'ex.ovsschema'));
    expect(fs.statSync(db).mode & 0o777).toBe(fs.statSync(theirs).mode & 0o777);
  });

  it('after we drop a torn tail and append, and after replaceWith', () => {
    const db = path.join(dir, 'torn.db');
    const data = writeLog(db, [EX_SCHEMA_TEXT, insertText(uuidN(1), 'one'), insertText(uuidN(2), 'two')]);
    fs.truncateSync(db, data.length - 20);
    expect(toolResult('show-log', db).status).toBe(1); // ovsdb-tool itself refuses a torn file
    const log = RecordLog.open(db, { writable: true });
    log.readAll();
    log.append(insertText(uuidN(3), 'three'));
    expect(selectNames(db)).toEqual(['one', 'three']);
    log.replaceWith([EX_SCHEMA_TEXT, JSON.stringify({ _date: 1795294734900, _comment: 'compacting database online', _is_diff: true, T: { [uuidN(3)]: { name: 'three' } } })]);
    log.append(insertText(uuidN(4), 'four'));
    log.close();
    expect(selectNames(db)).toEqual(['four', 'three']);
    expect(tool('show-log', db).split('\n')[2]).toBe(`record 1: ${utcStamp(1795294734900)} "compacting database online"`);
  });
});

describe.skipIf(!haveTool)('we read files ovsdb-tool writes', () => {
  it('create + transact, record by record with byte-exact offsets, then both keep appending', () => {
    const db = path.join(dir, 'ex.db');
    const schema = path.join(dir, 'ex.ovsschema');
    fs.writeFileSync(schema, EX_SCHEMA_SOURCE);
    tool('create', db, schema);
    tool('transact', db, '["Ex",{"op":"insert","table":"T","row":{"name":"one","tags":["set",["a","b"]]}},{"op":"comment","comment":"first"}]');
    tool('transact', db, '["Ex",{"op":"update","table":"T","where":[],"row":{"tags":["set",["b","c"]]}}]');
    tool('transact', db, '["Ex",{"op":"insert","table":"T","row":{"name":"n\u00e9"}}]');
    const data = fs.readFileSync(db);
    const log = RecordLog.open(db, { writable: true });
    const recs = log.readAll();
    expect(recs.map(({ offset, length }) => ({ offset, length }))).toEqual(lineRecordOffsets(data));
    for (const r of recs) {
      const bytes = data.subarray(r.offset, r.offset + r.length);
      const body = bytes.subarray(bytes.indexOf(0x0a) + 1, bytes.length - 1).toString('utf8');
      expect(encodeRecord(body).equals(bytes)).toBe(true); // our writer frames their text identically
      expect(r.json).toEqual(JSON.parse(body));
    }
    expect(recs[0]!.json).toEqual(JSON.parse(EX_SCHEMA_TEXT));
    expect(recs[1]!.json._comment).toBe('first');

    log.append(insertText(uuidN(7), 'ours'));
    log.close();
    tool('transact', db, '["Ex",{"op":"insert","table":"T","row":{"name":"theirs"}}]');
    expect(selectNames(db)).toEqual(['n\u00e9', 'one', 'ours', 'theirs']);
    const all = RecordLog.open(db).readAll();
    expect(all).toHaveLength(recs.length + 2);
    expect(all.map(({ offset, length }) => ({ offset, length }))).toEqual(lineRecordOffsets(fs.readFileSync(db)));
  });
});

describe.skipIf(!haveTool)('error messages match ovsdb-tool', () => {
  function ours(db: string): string {
    let log: RecordLog;
    try {
      log = RecordLog.open(db, { policy: 'reference' });
    } catch (err) {
      if (err instanceof LogError) return err.render();
      throw err;
    }
    try {
      log.readAll();
    } catch (err) {
      if (err instanceof LogError) return err.render();
      throw err;
    } finally {
      log.close();
    }
    if (!log.recovery) throw new Error('no error');
    return log.recovery.error.render();
  }
  function theirs(db: string): string {
    const r = toolResult('show-log', db);
    expect(r.status).toBe(1);
    return r.stderr.split('\n')[0]!.replace(/^ovsdb-tool: /, '');
  }

  it('for every measured header line', () => {
    const db = path.join(dir, 'h.db');
    for (const c of HEADER_CASES) {
      writeLog(db, [EX_SCHEMA_TEXT, insertText(uuidN(1), 'one')]);
      fs.appendFileSync(db, c.tail, 'latin1');
      expect(ours(db), JSON.stringify(c.tail)).toBe(theirs(db));
    }
  });

  it('for damaged bodies and first records', () => {
    const db = path.join(dir, 'b.db');
    const good = frame(`${EX_SCHEMA_TEXT}\n`);
    const after = frame(`${insertText(uuidN(9), 'after')}\n`);
    // (a bare scalar is "not valid JSON" to the reference's parser, "not a JSON object" to ours)
    const bodies = [
      frame('[]\n'),
      frame('[1,{"a":2}]\n'),
      frame('{]\n'),
      frame('{} {}\n'),
      frame('[1,\n2,]'),
      frame('\n'),
      frame('{"a":1e400}'),
      Buffer.from('OVSDB JSON 3 aa86d2fbfd2df6b5c6a3e4ab84f5e3fa2ec41fca\n{}\n'),
    ];
    for (const bad of bodies) {
      fs.writeFileSync(db, Buffer.concat([good, bad, after]));
      expect(ours(db)).toBe(theirs(db));
    }
    const data = Buffer.concat([good, after, after]);
    for (const i of [good.length + 3, good.length + 20, good.length + 60, good.length + 100]) {
      const b = Buffer.from(data);
      b[i]! ^= 0x01;
      fs.writeFileSync(db, b);
      expect(ours(db), `byte ${i}`).toBe(theirs(db));
    }
    for (const content of ['', 'garbage\n', `OVSDB JSON 100 a0d7068d84f4fba7e7195594110ba1c6a5beec8e`]) {
      fs.writeFileSync(db, content);
      expect(ours(db)).toBe(theirs(db));
    }
  });
});
