// `-vjsonrpc:file:dbg` (and unixctl, reconnect): the DBG lines of JSON-RPC traffic, unixctl requests and
// session states, line for line against the real server for the same client session.
import fs from 'node:fs';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { TempDir, Server, startServer, SCHEMA, IMPLS, maskUuids, run, type Impl } from './lib/harness.ts';

const DEBUG = ['-vjsonrpc:file:dbg', '-vunixctl:file:dbg', '-vreconnect:file:dbg'];

let tmp: TempDir;
const srv = {} as Record<Impl, Server>;

beforeAll(async () => {
  tmp = new TempDir();
  await Promise.all(IMPLS.map(async (impl) => (srv[impl] = await startServer(impl, tmp, [SCHEMA.nb], { args: DEBUG }))));
});

afterAll(async () => {
  await Promise.all(IMPLS.map((impl) => srv[impl]?.stop()));
  tmp?.cleanup();
});

/** The DBG lines after the `|`-separated prefix (time, sequence number), uuids masked. */
function debugLines(s: Server): string[] {
  return fs
    .readFileSync(s.log, 'utf8')
    .split('\n')
    .filter((l) => /\|(jsonrpc|unixctl|reconnect)\|DBG\|/.test(l))
    .map((l) => maskUuids(l.split('|').slice(2).join('|')));
}

describe('debug logging of JSON-RPC traffic', () => {
  it('transact, a unixctl command and an unknown one log the reference’s lines', async () => {
    for (const impl of IMPLS) {
      const s = srv[impl];
      const txn = '["OVN_Northbound",{"op":"insert","table":"Logical_Switch","row":{"name":"dbg"}},{"op":"comment","comment":"c"}]';
      expect((await run('ovsdb-client', ['transact', s.remote, txn], { env: tmp.env })).code).toBe(0);
      expect((await s.appctl('ovsdb-server/list-dbs')).code).toBe(0);
      expect((await s.appctl('no-such-command')).code).toBe(2);
    }
    const ours = debugLines(srv.ours);
    const real = debugLines(srv.real);
    expect(ours).toEqual(real);
    expect(real).toContain(
      'jsonrpc|DBG|unix#0: received request, method="transact", params=["OVN_Northbound",{"table":"Logical_Switch","row":{"name":"dbg"},"op":"insert"},{"comment":"c","op":"comment"}], id=0',
    );
    expect(real).toContain('unixctl|DBG|received request ovsdb-server/list-dbs[], id=0');
    expect(real).toContain('reconnect|DBG|unix#0: entering ACTIVE');
  });
});
