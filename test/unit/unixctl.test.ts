import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JsonRpcClient, JsonRpcRemoteError, type RpcLog } from '../../server/jsonrpc.ts';
import { formatCommandList, UnixctlError, UnixctlServer } from '../../server/unixctl.ts';

describe('UnixctlServer', () => {
  let dir: string;
  let sock: string;
  let server: UnixctlServer;
  let logs: string[];
  const log: RpcLog = (m, l, t) => logs.push(`${m}|${l}|${t}`);

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unixctl-test-'));
    sock = path.join(dir, 'ctl');
    logs = [];
    server = new UnixctlServer({ log });
    server.register('ovsdb-server/compact', '', 0, 1, () => '');
    server.register('ovsdb-server/tlog-set', 'DB:TABLE on|off', 2, 2, () => '');
    server.register('memory/show', '', 0, 0, () => new Promise((r) => setTimeout(() => r('atoms:14 cells:20'), 20)));
    server.register('fail', null, 0, 0, () => {
      throw new UnixctlError('no such remote');
    });
    server.register('vlogish', null, 0, 0, () => ({ ok: false, text: 'bad spec' }));
    server.register('empty', null, 0, 0, () => '');
    await server.listen(sock);
  });
  afterEach(async () => {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function call(method: string, params: (string | number)[]): Promise<{ ok: boolean; text: string }> {
    const c = await JsonRpcClient.connect(`unix:${sock}`);
    try {
      return { ok: true, text: (await c.request(method, params)) as string };
    } catch (e) {
      return { ok: false, text: (e as JsonRpcRemoteError).error as string };
    } finally {
      c.close();
    }
  }

  it('lists commands in the §6.3 format', async () => {
    expect(await call('list-commands', [])).toEqual({
      ok: true,
      text:
        'The available commands are:\n' +
        '  list-commands           \n' +
        '  memory/show             \n' +
        '  ovsdb-server/compact    \n' +
        '  ovsdb-server/tlog-set   DB:TABLE on|off\n' +
        '  version                 \n',
    });
    expect(formatCommandList([{ name: 'ovsdb-server/set-active-ovsdb-server', usage: '', minArgs: 0, maxArgs: 0, handler: () => '' }])).toBe(
      'The available commands are:\n  ovsdb-server/set-active-ovsdb-server \n',
    );
  });

  it('answers version, deferred replies, newline rules', async () => {
    expect(await call('version', [])).toEqual({ ok: true, text: 'ovsdb-server (Open vSwitch) 3.1.0\n' });
    expect(await call('memory/show', [])).toEqual({ ok: true, text: 'atoms:14 cells:20\n' });
    expect(await call('empty', [])).toEqual({ ok: true, text: '' });
    expect(await call('fail', [])).toEqual({ ok: false, text: 'no such remote\n' });
    expect(await call('vlogish', [])).toEqual({ ok: false, text: 'bad spec\n' });
  });

  it('validates commands with the exact texts', async () => {
    expect(await call('nope', [1])).toEqual({
      ok: false,
      text: '"nope" is not a valid command (use "list-commands" to see a list of valid commands)\n',
    });
    expect(await call('ovsdb-server/compact', ['a', 'b'])).toEqual({
      ok: false,
      text: '"ovsdb-server/compact" command takes at most 1 arguments\n',
    });
    expect(await call('ovsdb-server/tlog-set', ['a'])).toEqual({
      ok: false,
      text: '"ovsdb-server/tlog-set" command requires at least 2 arguments\n',
    });
    expect(await call('ovsdb-server/tlog-set', [1, 2])).toEqual({
      ok: false,
      text: '"ovsdb-server/tlog-set" command has non-string argument\n',
    });
    // echo is not special on unixctl (it is not a jsonrpc session)
    expect((await call('echo', [])).text).toBe('"echo" is not a valid command (use "list-commands" to see a list of valid commands)\n');
  });

  it('processes one request at a time, in order, with exact reply bytes', async () => {
    const got = await new Promise<string>((resolve) => {
      const s = net.connect(sock);
      let buf = '';
      s.on('data', (d) => {
        buf += d.toString();
        if (buf.split('"error"').length === 3) {
          s.destroy();
          resolve(buf);
        }
      });
      s.write('{"id":0,"method":"memory/show","params":[]}{"id":[2],"method":"nope","params":[]}');
    });
    expect(got).toBe(
      '{"id":0,"result":"atoms:14 cells:20\\n","error":null}' +
        '{"id":[2],"error":"\\"nope\\" is not a valid command (use \\"list-commands\\" to see a list of valid commands)\\n"}',
    );
  });

  it('closes the connection on notifications and replies', async () => {
    for (const text of ['{"method":"version","params":[]}', '{"result":"x","id":"echo"}']) {
      const got = await new Promise<string>((resolve) => {
        const s = net.connect(sock);
        let buf = '';
        s.on('data', (d) => (buf += d.toString()));
        s.on('close', () => resolve(buf));
        s.write(text + '{"id":1,"method":"version","params":[]}');
      });
      expect(got).toBe('');
    }
    expect(logs.filter((l) => l.startsWith('unixctl|'))).toEqual([
      expect.stringMatching(/^unixctl\|WARN\|unix#\d+: received unexpected notification message$/),
      expect.stringMatching(/^unixctl\|WARN\|unix#\d+: received unexpected reply message$/),
    ]);
  });

  it('replaces a stale socket file and removes it on close', async () => {
    const other = new UnixctlServer();
    const p = path.join(dir, 'stale');
    fs.writeFileSync(p, '');
    await other.listen(p);
    expect(fs.statSync(p).isSocket()).toBe(true);
    await other.close();
    expect(fs.existsSync(p)).toBe(false);
  });

  it('listens on paths longer than sockaddr_un allows', async () => {
    const deep = path.join(dir, 'd'.repeat(60), 'e'.repeat(60));
    fs.mkdirSync(deep, { recursive: true });
    const other = new UnixctlServer({ programName: 'ovsdb-ts' });
    await other.listen(path.join(deep, 'ctl'));
    const c = await JsonRpcClient.connect(`unix:${path.join(deep, 'ctl')}`);
    expect(await c.request('version', [])).toBe('ovsdb-ts (Open vSwitch) 3.1.0\n');
    c.close();
    await other.close();
  });
});
