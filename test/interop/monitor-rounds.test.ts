// Monitor updates in output rounds (README, documented differences): the commits made before a monitoring
// session's round reach it as one merged update, and a session's own pending update precedes its reply.
import path from 'node:path';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { TempDir, Server, startServer, SCHEMA, RawClient, maskUuids, waitFor, run, REPO } from './lib/harness.ts';

let tmp: TempDir;
let srv: Server;
const clients: RawClient[] = [];

beforeAll(async () => {
  tmp = new TempDir();
  srv = await startServer('ours', tmp, [SCHEMA.nb]);
});

afterAll(async () => {
  for (const c of clients) c.close();
  await srv?.stop();
  tmp?.cleanup();
});

async function client(): Promise<RawClient> {
  const c = await RawClient.connect(srv.sock);
  clients.push(c);
  return c;
}

const insert = (name: string) => ({ op: 'insert', table: 'Logical_Switch', row: { name } });
const updates = (c: RawClient) => c.messages.filter((m) => (m as { method?: string }).method === 'update2');

describe('monitor update rounds', () => {
  it('two commits of one read reach a watcher as one update carrying both rows', async () => {
    const watcher = await client();
    const w = await watcher.call('monitor_cond', ['OVN_Northbound', 'w', { Logical_Switch: [{ columns: ['name'] }] }], 'm');
    expect(w).toEqual({ id: 'm', result: {}, error: null });
    const writer = await client();
    // Both transactions in one write: the server commits both while reading this one chunk.
    writer.send(
      JSON.stringify({ id: 1, method: 'transact', params: ['OVN_Northbound', insert('sw-a')] }) +
        JSON.stringify({ id: 2, method: 'transact', params: ['OVN_Northbound', insert('sw-b')] }),
    );
    await writer.reply(1);
    await writer.reply(2);
    await waitFor(() => updates(watcher).length > 0, 'the watcher update');
    // A reply carries any update still pending before it: after this one, nothing more can come.
    await watcher.call('list_dbs', [], 'l');
    // One update with both rows (in the reference's row order, i.e. by uuid: which comes first varies).
    const got = updates(watcher) as { params: [string, { Logical_Switch: Record<string, unknown> }] }[];
    expect(got).toHaveLength(1);
    expect(got[0]!.params[0]).toBe('w');
    expect(Object.keys(got[0]!.params[1])).toEqual(['Logical_Switch']);
    const rows = Object.entries(got[0]!.params[1].Logical_Switch);
    expect(rows.map(([uuid]) => uuid)).toEqual(rows.map(([uuid]) => uuid).sort());
    expect(rows.map(([, r]) => JSON.stringify(r)).sort()).toEqual(['{"insert":{"name":"sw-a"}}', '{"insert":{"name":"sw-b"}}']);
  });

  it("every monitor's update of a commit is written before the writer's reply (pacing on, 40 watchers)", async () => {
    // The upstream IDL tracking tests (ovsdb-idl.at 2341 2342 2369-2372) read their IDL's socket right
    // after a reply on another connection. The reference writes the reply first and the updates in its
    // next main-loop pass (the same check against it reports "late at 0"); ours never lets the reply
    // overtake them.
    const script = path.join(REPO, 'test/interop/py/update_before_reply.py');
    const r = await run('/usr/bin/python3', [script, srv.sock, 'OVN_Northbound', 'Logical_Switch', 'name', '200', '40'], { env: tmp.env, timeoutMs: 60_000 });
    expect(r).toMatchObject({ code: 0, stdout: 'on time 200\n' });
  });

  it("a session's own update precedes the reply to its transaction", async () => {
    const c = await client();
    await c.call('monitor_cond', ['OVN_Northbound', 'own', { Logical_Switch: [{ columns: ['name'] }] }], 'm');
    const before = c.messages.length;
    const r = await c.call('transact', ['OVN_Northbound', insert('sw-own')], 't');
    expect(maskUuids(JSON.stringify(r))).toBe('{"id":"t","result":[{"uuid":["uuid","<0>"]}],"error":null}');
    const order = c.messages.slice(before).map((m) => ((m as { method?: string }).method ?? `reply ${(m as { id: unknown }).id}`));
    expect(order).toEqual(['update2', 'reply t']);
  });
});
