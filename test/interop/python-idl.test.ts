// The Python IDL (python3-openvswitch's ovs.db.idl, as used by OpenStack Neutron and friends) against our
// server: initial read, a commit, and a second client seeing that commit. Same script on the real server.
import path from 'node:path';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { TempDir, Server, startServer, SCHEMA, IMPLS, LineFollower, run, REPO, type Impl } from './lib/harness.ts';

const SCRIPT = path.join(REPO, 'test/interop/py/idl_client.py');
const PYTHON = '/usr/bin/python3';

let tmp: TempDir;
const srv = {} as Record<Impl, Server>;

beforeAll(async () => {
  tmp = new TempDir();
  await Promise.all(IMPLS.map(async (impl) => (srv[impl] = await startServer(impl, tmp, [SCHEMA.vswitch]))));
  for (const impl of IMPLS) expect((await srv[impl].vsctl('init')).code).toBe(0);
});

afterAll(async () => {
  await Promise.all(IMPLS.map((impl) => srv[impl]?.stop()));
  tmp?.cleanup();
});

const idl = (impl: Impl, ...args: string[]) => run(PYTHON, [SCRIPT, srv[impl].remote, SCHEMA.vswitch, ...args], { env: tmp.env, timeoutMs: 30_000 });

describe('Python ovs.db.idl', () => {
  it('reads, commits, and a second IDL sees the other client’s change', async () => {
    for (const impl of IMPLS) {
      expect(await idl(impl, 'read'), impl).toMatchObject({ code: 0, stdout: '[]\n' });
      const watcher = new LineFollower(tmp, PYTHON, [SCRIPT, srv[impl].remote, SCHEMA.vswitch, 'watch', 'br-py']);
      expect(await watcher.waitLines(1)).toEqual(['ready']);
      expect(await idl(impl, 'commit', 'br-py'), impl).toMatchObject({ code: 0, stdout: 'success\n["br-py"]\n' });
      expect(await watcher.waitLines(2)).toEqual(['ready', 'seen br-py {"by": "python"}']);
      expect((await watcher.exited).code).toBe(0);
      // The commit is visible to the C tools too, and to a fresh IDL.
      expect((await srv[impl].vsctl('get', 'Bridge', 'br-py', 'external_ids:by')).stdout).toBe('python\n');
      expect(await idl(impl, 'read')).toMatchObject({ code: 0, stdout: '["br-py"]\n' });
    }
  });

  it('a change made with ovs-vsctl reaches a running IDL', async () => {
    for (const impl of IMPLS) {
      const watcher = new LineFollower(tmp, PYTHON, [SCRIPT, srv[impl].remote, SCHEMA.vswitch, 'watch', 'br-c']);
      await watcher.waitLines(1);
      expect((await srv[impl].vsctl('add-br', 'br-c', '--', 'set', 'Bridge', 'br-c', 'external_ids:by=vsctl')).code).toBe(0);
      expect(await watcher.waitLines(2)).toEqual(['ready', 'seen br-c {"by": "vsctl"}']);
    }
  });
});
