// Our unixctl server driven by the real ovs-appctl, and our appctl client compared with it.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAppctl } from '../../cli/appctl.ts';
import { UnixctlServer } from '../../server/unixctl.ts';

const OVS_APPCTL = '/usr/bin/ovs-appctl';
const haveAppctl = fs.existsSync(OVS_APPCTL);

describe.skipIf(!haveAppctl)('unixctl server with the real ovs-appctl', () => {
  let dir: string;
  let sock: string;
  let server: UnixctlServer;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'appctl-interop-'));
    sock = path.join(dir, 'ovsdb-server.ctl');
    server = new UnixctlServer();
    server.register('ovsdb-server/compact', '', 0, 1, () => '');
    server.register('ovsdb-server/remove-remote', 'REMOTE', 1, 1, () => ({ ok: false, text: 'no such remote' }));
    server.register('ovsdb-server/list-dbs', '', 0, 0, async () => 'OVN_Northbound\n_Server\n');
    await server.listen(sock);
  });
  afterAll(async () => {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  // spawnSync would block the event loop our server runs on, so run the real tool asynchronously.
  function real(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      import('node:child_process').then(({ execFile }) => {
        execFile(OVS_APPCTL, args, { timeout: 20_000 }, (err, stdout, stderr) => {
          const status = err ? ((err as { code?: number }).code ?? null) : 0;
          resolve({ status: typeof status === 'number' ? status : null, stdout, stderr });
        });
      });
    });
  }

  async function ours(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    const status = await runAppctl(args, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) });
    return { status, stdout, stderr };
  }

  it('list-commands', async () => {
    const r = await real('-t', sock, 'list-commands');
    expect(r).toEqual({
      status: 0,
      stdout:
        'The available commands are:\n' +
        '  list-commands           \n' +
        '  ovsdb-server/compact    \n' +
        '  ovsdb-server/list-dbs   \n' +
        '  ovsdb-server/remove-remote REMOTE\n' +
        '  version                 \n',
      stderr: '',
    });
    expect(await ours('-t', sock, 'list-commands')).toEqual(r);
  });

  it('version and deferred replies', async () => {
    const r = await real('-t', sock, 'version');
    expect(r).toEqual({ status: 0, stdout: 'ovsdb-server (Open vSwitch) 3.1.0\n', stderr: '' });
    expect(await ours('-t', sock, 'version')).toEqual(r);
    const l = await real('--target=' + sock, 'ovsdb-server/list-dbs');
    expect(l).toEqual({ status: 0, stdout: 'OVN_Northbound\n_Server\n', stderr: '' });
  });

  it('error replies: unknown command, argument counts, handler errors (exit 2)', async () => {
    const cases: [string[], string][] = [
      [['nope'], '"nope" is not a valid command (use "list-commands" to see a list of valid commands)\n'],
      [['ovsdb-server/compact', 'a', 'b'], '"ovsdb-server/compact" command takes at most 1 arguments\n'],
      [['ovsdb-server/remove-remote'], '"ovsdb-server/remove-remote" command requires at least 1 arguments\n'],
      [['ovsdb-server/remove-remote', 'x'], 'no such remote\n'],
    ];
    for (const [args, text] of cases) {
      const r = await real('-t', sock, ...args);
      expect(r).toEqual({ status: 2, stdout: '', stderr: `${text}ovs-appctl: ${sock}: server returned an error\n` });
      expect(await ours('-t', sock, ...args)).toEqual(r);
    }
  });

  it('transport errors (exit 1) match', async () => {
    const missing = path.join(dir, 'missing.ctl');
    const r = await real('-t', missing, 'version');
    const o = await ours('-t', missing, 'version');
    const strip = (s: string) => s.replace(/^\S+Z\|/gm, 'DATE|');
    expect(r.status).toBe(1);
    expect(o.status).toBe(1);
    expect(strip(o.stderr)).toBe(strip(r.stderr));
    expect(strip(o.stderr)).toBe(
      `DATE|00001|unixctl|WARN|failed to connect to ${missing}\novs-appctl: cannot connect to "${missing}" (No such file or directory)\n`,
    );
  });

  it('usage errors match', async () => {
    for (const args of [[], ['-x'], ['--foo'], ['-t'], ['-T', '0', 'version']]) {
      const r = spawnSync(OVS_APPCTL, args, { encoding: 'utf8', argv0: 'ovs-appctl' });
      expect(await ours(...args), args.join(' ')).toEqual({ status: r.status, stdout: r.stdout, stderr: r.stderr });
    }
  });
});
