import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it, expect, beforeEach, afterAll } from 'vitest';
import {
  getLogger, listModules, parseVlogSpec, setVlogLevels, resetVlog, setConsoleFd, setLogFile, closeLogFile,
  vlogListText, vlogListPatternText, vlogCommands,
} from '../../cli/vlog.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vlog-test-'));
afterAll(() => {
  closeLogFile();
  fs.rmSync(dir, { recursive: true, force: true });
});

// Console output goes to a file we can read back; syslog is turned off for tests.
const consoleFile = path.join(dir, 'console');
const consoleFd = fs.openSync(consoleFile, 'a+'); // O_APPEND: writes follow truncation

beforeEach(() => {
  resetVlog();
  setVlogLevels('syslog:off');
  setConsoleFd(consoleFd);
  fs.ftruncateSync(consoleFd, 0);
});

function consoleLines(): string[] {
  return fs.readFileSync(consoleFile, 'utf8').split('\n').filter(Boolean);
}

const FILE_LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\|(\d{5})\|([a-z_]+)\|([A-Z]+)\|(.*)$/;
const CONSOLE_LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\|(\d{5})\|([a-z_]+)\|([A-Z]+)\|(.*)$/;

describe('spec parsing (vlog/set, -v)', () => {
  it.each([
    ['nosuchmodule', 'no destination, level, or module "nosuchmodule"'],
    ['jsonrpc:nowhere', 'no destination, level, or module "nowhere"'],
    ['off:err', 'cannot specify multiple levels'],
    ['console:file', 'cannot specify multiple destinations'],
    ['jsonrpc:vlog', 'cannot specify multiple modules'],
    ['warning', 'no destination, level, or module "warning"'],
    ['PATTERN:foo:%m', 'unknown destination "foo"'],
    ['FACILITY:bogus', 'invalid facility'],
  ])('%s -> %s', (spec, err) => {
    expect(parseVlogSpec(spec)).toBe(err);
  });

  it('accepts words separated by spaces, commas and colons, in any case and order, ANY anywhere', () => {
    for (const s of ['jsonrpc:file:dbg', 'JSONRPC FILE DBG', 'dbg,file,jsonrpc', 'jsonrpc::file,,dbg', 'any:jsonrpc:file:dbg']) {
      expect(parseVlogSpec(s)).toEqual({ kind: 'levels', module: 'jsonrpc', destination: 'file', level: 5 });
    }
    expect(parseVlogSpec('')).toEqual({ kind: 'levels', module: null, destination: null, level: 5 });
    expect(parseVlogSpec('console:off')).toEqual({ kind: 'levels', module: null, destination: 'console', level: 0 });
    expect(parseVlogSpec('FACILITY:local0')).toEqual({ kind: 'facility', facility: 16 });
  });

  it('knows every module of the real server', () => {
    const mods = listModules();
    for (const m of ['jsonrpc', 'ovsdb_server', 'reconnect', 'socket_util', 'lockfile', 'vlog', 'unixctl', 'replication']) {
      expect(mods).toContain(m);
    }
  });
});

describe('vlog/list and vlog/list-pattern text', () => {
  it('matches the real server layout', () => {
    setVlogLevels('console:off');
    setVlogLevels('syslog:emer');
    setVlogLevels('file:dbg');
    setVlogLevels('jsonrpc:warn');
    setVlogLevels('vlog:console:err');
    const lines = vlogListText().split('\n');
    expect(lines.slice(0, 2)).toEqual([
      '                 console    syslog    file',
      '                 -------    ------    ------',
    ]);
    expect(lines).toContain('backtrace          OFF       EMER        DBG');
    expect(lines).toContain('jsonrpc           WARN       WARN       WARN');
    expect(lines).toContain('ovsdb_jsonrpc_server   OFF       EMER        DBG');
    expect(lines).toContain('vlog               ERR       EMER        DBG');
    expect(lines).toContain('dpif_lookup_autovalidator   OFF       EMER        DBG');
  });

  it('list-pattern', () => {
    expect(vlogListPatternText()).toBe(
      '         prefix                            format\n' +
        '         ------                            ------\n' +
        'SYSLOG   <%B> %D{%h %e %T} %E %A:          ovs|%05N|%c%T|%p|%m\n' +
        'CONSOLE  none                              %D{%Y-%m-%dT%H:%M:%SZ}|%05N|%c%T|%p|%m\n' +
        'FILE     none                              %D{%Y-%m-%dT%H:%M:%S.###Z}|%05N|%c%T|%p|%m\n',
    );
  });
});

describe('logging', () => {
  it('writes OVS lines to console and file with per-destination levels', () => {
    const file = path.join(dir, 'a.log');
    expect(setLogFile(file)).toBe(null);
    const log = getLogger('ovsdb_server');
    setVlogLevels('ovsdb_server:file:dbg');
    log.info('hello');
    log.dbg('only in the file');
    setVlogLevels('ovsdb_server:console:warn');
    log.info('file only too');
    log.err('both');
    const fileLines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
    const f = fileLines.map((l) => FILE_LINE.exec(l)!.slice(1));
    expect(f.map((x) => x.slice(1))).toEqual([
      ['vlog', 'INFO', `opened log file ${file}`],
      ['ovsdb_server', 'INFO', 'hello'],
      ['ovsdb_server', 'DBG', 'only in the file'],
      ['ovsdb_server', 'INFO', 'file only too'],
      ['ovsdb_server', 'ERR', 'both'],
    ]);
    // One sequence number per message, shared by all destinations.
    const seqs = f.map((x) => Number(x[0]));
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBe(seqs[i - 1]! + 1);
    const c = consoleLines().map((l) => CONSOLE_LINE.exec(l)!.slice(1));
    expect(c.map((x) => x.slice(1))).toEqual([
      ['vlog', 'INFO', `opened log file ${file}`],
      ['ovsdb_server', 'INFO', 'hello'],
      ['ovsdb_server', 'ERR', 'both'],
    ]);
    expect(c.map((x) => x[0])).toEqual([f[0]![0], f[1]![0], f[4]![0]]);
    closeLogFile();
  });

  it('vlog/reopen follows logrotate; vlog/close stops the file; errors as OVS', () => {
    const cmd = (name: string) => vlogCommands.find((c) => c.name === name)!;
    closeLogFile();
    const file = path.join(dir, 'rot.log');
    setLogFile(file);
    const log = getLogger('ovsdb_server');
    log.info('before');
    fs.renameSync(file, `${file}.1`);
    expect(cmd('vlog/reopen').run([])).toEqual({ ok: true, text: '' });
    log.info('after');
    expect(fs.readFileSync(file, 'utf8')).toMatch(/\|ovsdb_server\|INFO\|after\n$/);
    expect(fs.readFileSync(file, 'utf8').split('\n').filter(Boolean)).toHaveLength(1);
    expect(fs.readFileSync(`${file}.1`, 'utf8')).toMatch(/opened log file .*\n.*\|before\n$/);
    expect(cmd('vlog/close').run([])).toEqual({ ok: true, text: '' });
    log.info('lost');
    expect(fs.readFileSync(file, 'utf8')).not.toContain('lost');
    expect(cmd('vlog/set').run(['x'])).toEqual({ ok: false, text: 'no destination, level, or module "x"' });
    expect(cmd('vlog/set').run(['ANY:info', 'a'])).toEqual({ ok: false, text: 'no destination, level, or module "a"' });
    expect(cmd('vlog/set').run([])).toEqual({ ok: true, text: '' });
  });

  it('reports an unopenable log file like the real server', () => {
    expect(setLogFile('/nonexistent-dir/x.log')).toBe(
      'failed to open /nonexistent-dir/x.log for logging: No such file or directory',
    );
    expect(consoleLines().at(-1)).toMatch(
      /\|vlog\|WARN\|failed to open \/nonexistent-dir\/x\.log for logging: No such file or directory$/,
    );
  });

  it('custom patterns via PATTERN:', () => {
    expect(setVlogLevels('PATTERN:console:%c:%p:%-6P|%m')).toBe(null);
    getLogger('reconnect').warn('x');
    expect(consoleLines().at(-1)).toBe(`reconnect:WARN:${String(process.pid).padEnd(6)}|x`);
  });

  it('getLogger registers new modules that follow earlier ANY settings', () => {
    setVlogLevels('ANY:console:err');
    const l = getLogger('ovsdb_ts_test_module');
    expect(listModules()).toContain('ovsdb_ts_test_module');
    expect(l.isEnabled('warn')).toBe(false);
    expect(l.isEnabled('err')).toBe(true);
  });
});
