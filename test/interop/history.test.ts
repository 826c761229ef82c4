// Transaction history of standalone databases (README, documented differences): kept by default, so a
// monitor_cond_since client that reconnects gets only what it missed; --standalone-history=off restores
// the reference's "no history" (always found: false, all-zero last-txn-id), as upstream ovsdb-monitor.at
// "monitor-cond-since non-cluster" expects.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { TempDir, Server, startServer, RawClient, maskUuids, run, OUR_SERVER } from './lib/harness.ts';
import fs from 'node:fs';

const ZERO = '00000000-0000-0000-0000-000000000000';
const SCHEMA_JSON = {
  name: 'ordinals',
  tables: { ordinals: { columns: { number: { type: 'integer' }, name: { type: 'string' } } } },
};

let tmp: TempDir;
const servers: Server[] = [];
const clients: RawClient[] = [];
let schemaFile: string;

beforeAll(() => {
  tmp = new TempDir();
  schemaFile = tmp.file('ordinals.ovsschema');
  fs.writeFileSync(schemaFile, JSON.stringify(SCHEMA_JSON));
});

afterAll(async () => {
  for (const c of clients) c.close();
  await Promise.all(servers.map((s) => s.stop()));
  tmp?.cleanup();
});

async function start(impl: 'ours' | 'real', name: string, args: string[] = []): Promise<Server> {
  const s = await startServer(impl, tmp, [schemaFile], { name, args });
  servers.push(s);
  return s;
}

async function connect(s: Server): Promise<RawClient> {
  const c = await RawClient.connect(s.sock);
  clients.push(c);
  return c;
}

const insert = (number: number, name: string) => ({ op: 'insert', table: 'ordinals', row: { number, name } });
const where = [['name', '==', 'one'], ['name', '==', 'ten']];

/** The upstream scenario: three rows, a conditional monitor_cond_since, two more rows; every message. */
async function scenario(s: Server, lastId: string): Promise<string[]> {
  const w = await connect(s);
  expect((await w.call('transact', ['ordinals', insert(0, 'zero'), insert(1, 'one'), insert(2, 'two')], 't1')).error).toBeNull();
  const m = await connect(s);
  await m.call('monitor_cond_since', ['ordinals', 'm', { ordinals: [{ where, columns: ['name', 'number'] }] }, lastId], 'm');
  await w.call('transact', ['ordinals', insert(10, 'ten'), insert(11, 'eleven')], 't2');
  await m.call('echo', [], 'sync');
  // Row uuids masked; the all-zero id stays visible.
  return m.messages.map((x) => maskUuids(JSON.stringify(x).replaceAll(ZERO, 'ZERO')).replaceAll('ZERO', ZERO));
}

describe('standalone transaction history', () => {
  it('--standalone-history=off answers monitor_cond_since exactly as the reference (zero and non-zero last id)', async () => {
    for (const lastId of [ZERO, '11111111-1111-1111-1111-111111111111']) {
      const tag = lastId.slice(0, 1);
      const real = await scenario(await start('real', `real-h${tag}`), lastId);
      const ours = await scenario(await start('ours', `ours-h${tag}`, ['--standalone-history=off']), lastId);
      expect(ours).toEqual(real);
      expect(real[0]).toBe(`{"id":"m","result":[false,"${ZERO}",{"ordinals":{"<0>":{"initial":{"name":"one","number":1}}}}],"error":null}`);
      expect(real[1]).toBe(`{"id":null,"method":"update3","params":["m","${ZERO}",{"ordinals":{"<0>":{"insert":{"name":"ten","number":10}}}}]}`);
    }
  });

  it('by default a reconnecting client resumes: found, with only the changes it missed', async () => {
    const s = await start('ours', 'ours-hist');
    const w = await connect(s);
    await w.call('transact', ['ordinals', insert(1, 'one')], 1);
    const m = await connect(s);
    const first = (await m.call('monitor_cond_since', ['ordinals', 'm', { ordinals: [{ columns: ['name'] }] }, ZERO], 'm')).result as [boolean, string, unknown];
    expect(first[0]).toBe(false);
    expect(first[1]).not.toBe(ZERO);
    m.close();
    await w.call('transact', ['ordinals', insert(10, 'ten')], 2);
    const again = await connect(s);
    const r = (await again.call('monitor_cond_since', ['ordinals', 'm', { ordinals: [{ columns: ['name'] }] }, first[1]], 'm')).result;
    expect(maskUuids(JSON.stringify(r))).toBe('[true,"<0>",{"ordinals":{"<1>":{"insert":{"name":"ten"}}}}]');
  });

  it('--help documents the option', async () => {
    const r = await run(OUR_SERVER, ['--help']);
    expect(r.stdout).toContain('--standalone-history=on|off');
  });
});
