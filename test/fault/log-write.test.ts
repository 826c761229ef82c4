// Write-path faults: failed appends leave no partial record, compaction is atomic at every step.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LogError, RecordLog, encodeRecord, type LogFs } from '../../storage/log.ts';
import { EX_SCHEMA_TEXT, insertText, rmDir, tmpDir, uuidN } from '../unit/log-util.ts';

let dir: string;
let file: string;
beforeEach(() => {
  dir = tmpDir('logwrite');
  file = path.join(dir, 'db');
});
afterEach(() => rmDir(dir));

const errno = (code: string): Error => Object.assign(new Error(code), { code });

function caught(f: () => unknown): LogError {
  try {
    f();
  } catch (err) {
    if (err instanceof LogError) return err;
    throw err;
  }
  throw new Error('expected a LogError');
}

describe('append faults', () => {
  it('cuts off a partial write and throws the OVSDB I/O error', () => {
    let failNext = false;
    let calls = 0;
    const fsx: Partial<LogFs> = {
      writeSync: (fd, buf, off, len, pos) => {
        if (!failNext) return fs.writeSync(fd, buf, off, len, pos);
        if (calls++ === 0) return fs.writeSync(fd, buf, off, Math.floor(len / 2), pos); // short write
        throw errno('ENOSPC');
      },
    };
    const log = RecordLog.create(file, EX_SCHEMA_TEXT, { fs: fsx });
    log.append(insertText(uuidN(1), 'one'));
    const size = fs.statSync(file).size;
    failNext = true;
    const e = caught(() => log.append(insertText(uuidN(2), 'two')));
    expect(e.toJson()).toEqual({ error: 'I/O error', details: `${file}: write failed`, 'io-error': 'No space left on device' });
    expect(e.render()).toBe(`I/O error: ${file}: write failed (No space left on device)`);
    expect(fs.statSync(file).size).toBe(size);
    failNext = false;
    log.append(insertText(uuidN(3), 'three'));
    log.close();
    expect(RecordLog.open(file).readAll().map((r) => Object.keys(r.json.T ?? {})[0])).toEqual([undefined, uuidN(1), uuidN(3)]);
  });

  it('retries the cut before the next append when ftruncate fails too', () => {
    let fail = false;
    const fsx: Partial<LogFs> = {
      writeSync: (fd, buf, off, len, pos) => {
        if (!fail) return fs.writeSync(fd, buf, off, len, pos);
        fs.writeSync(fd, buf, off, 10, pos);
        throw errno('EIO');
      },
      ftruncateSync: (fd, len) => {
        if (fail) throw errno('EIO');
        fs.ftruncateSync(fd, len);
      },
    };
    const log = RecordLog.create(file, EX_SCHEMA_TEXT, { fs: fsx });
    const size = fs.statSync(file).size;
    fail = true;
    expect(caught(() => log.append('{"a":1}')).render()).toBe(`I/O error: ${file}: write failed (Input/output error)`);
    expect(fs.statSync(file).size).toBe(size + 10); // garbage left behind for now
    fail = false;
    log.append('{"b":2}');
    log.close();
    expect(fs.readFileSync(file).subarray(size).equals(encodeRecord('{"b":2}'))).toBe(true);
  });

  it('reports fdatasync failures', async () => {
    const fsx: Partial<LogFs> = {
      fdatasyncSync: () => { throw errno('EIO'); },
      fdatasync: (_fd, cb) => cb(Object.assign(errno('EIO'), { errno: -5, syscall: 'fdatasync' })),
    };
    const log = RecordLog.create(file, EX_SCHEMA_TEXT, { fs: fsx });
    expect(caught(() => log.sync()).render()).toBe(`I/O error: ${file}: fdatasync failed (Input/output error)`);
    await expect(log.syncAsync()).rejects.toMatchObject({ tag: 'I/O error', ioError: 'Input/output error' });
    log.close();
  });

  it('removes a half-created file', () => {
    const e = caught(() => RecordLog.create(file, EX_SCHEMA_TEXT, { fs: { fsyncSync: () => { throw errno('EIO'); } } }));
    expect(e.render()).toBe(`I/O error: ${file}: write failed (Input/output error)`);
    expect(fs.existsSync(file)).toBe(false);
  });
});

describe('compaction atomicity', () => {
  const OLD = [EX_SCHEMA_TEXT, ...[1, 2, 3, 4, 5].map((i) => insertText(uuidN(i), `row-${i}`))];
  const NEW = [EX_SCHEMA_TEXT, JSON.stringify({ _date: 9, _comment: 'compacting database online', _is_diff: true, T: { [uuidN(5)]: { name: 'row-5' } } })];
  const oldBytes = Buffer.concat(OLD.map(encodeRecord));
  const newBytes = Buffer.concat(NEW.map(encodeRecord));

  function setup(fsx: Partial<LogFs>): RecordLog {
    const log = RecordLog.create(file, OLD[0]!, { fs: fsx });
    for (const t of OLD.slice(1)) log.append(t);
    return log;
  }

  it('the file is always the complete old or the complete new one', () => {
    const seen = new Set<string>();
    const check = (): void => {
      const now = fs.readFileSync(file);
      expect(now.equals(oldBytes) || now.equals(newBytes)).toBe(true);
      seen.add(now.equals(oldBytes) ? 'old' : 'new');
    };
    let armed = false;
    const wrap = <K extends keyof LogFs>(k: K): Partial<LogFs> => ({
      [k]: (...args: unknown[]) => {
        if (armed) check(); // a crash right before this call would leave exactly this on disk
        const r = (fs[k] as (...a: unknown[]) => unknown)(...args);
        if (armed) check();
        return r;
      },
    });
    const fsx: Partial<LogFs> = Object.assign(
      {},
      ...(['openSync', 'closeSync', 'writeSync', 'fdatasyncSync', 'fsyncSync', 'renameSync', 'unlinkSync'] as const).map(wrap),
    );
    const log = setup(fsx);
    armed = true;
    log.replaceWith(NEW);
    armed = false;
    expect([...seen].sort()).toEqual(['new', 'old']);
    expect(fs.readFileSync(file).equals(newBytes)).toBe(true);
    log.close();
  });

  for (const step of ['openSync', 'writeSync', 'fdatasyncSync', 'renameSync'] as const) {
    it(`a failure at ${step} keeps the old file in use`, () => {
      let armed = false;
      const fsx: Partial<LogFs> = {
        [step]: (...args: unknown[]) => {
          if (armed && (step !== 'openSync' || String(args[0]).endsWith('.tmp'))) throw errno('ENOSPC');
          return (fs[step] as (...a: unknown[]) => unknown)(...args);
        },
      };
      const log = setup(fsx);
      armed = true;
      const e = caught(() => log.replaceWith(NEW));
      armed = false;
      expect(e.tag).toBe('I/O error');
      expect(e.details.startsWith(`${fs.realpathSync(file)}.tmp: `)).toBe(true);
      expect(e.ioError).toBe('No space left on device');
      expect(fs.existsSync(`${file}.tmp`)).toBe(false);
      expect(fs.readFileSync(file).equals(oldBytes)).toBe(true);
      log.append('{"after":1}');
      log.close();
      expect(RecordLog.open(file).readAll()).toHaveLength(OLD.length + 1);
    });
  }

  it('overwrites a stale temp file left by a crash', () => {
    const log = setup({});
    fs.writeFileSync(`${file}.tmp`, 'stale junk that is longer than the new file'.repeat(100));
    log.replaceWith(NEW);
    log.close();
    expect(fs.readFileSync(file).equals(newBytes)).toBe(true);
    expect(fs.existsSync(`${file}.tmp`)).toBe(false);
  });
});
