// The per-message size limit (ours only: the reference has none). An oversized message closes that one
// session with a log line; other sessions and committed data are untouched; a message under the limit works.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, SCHEMA, startServer, TempDir, waitFor, type Server } from './lib/harness.ts';

const LIMIT = 64 * 1024;
let tmp: TempDir;
let srv: Server;

beforeAll(async () => {
  tmp = new TempDir();
  process.env['OVSDB_TS_MAX_MESSAGE_SIZE'] = String(LIMIT);
  try {
    srv = await startServer('ours', tmp, [SCHEMA.vswitch]);
  } finally {
    delete process.env['OVSDB_TS_MAX_MESSAGE_SIZE'];
  }
});

afterAll(async () => {
  await srv?.stop();
  tmp?.cleanup();
});

const echo = (n: number, id: string) => `{"method":"echo","params":["${'x'.repeat(n)}"],"id":"${id}"}`;

describe('OVSDB_TS_MAX_MESSAGE_SIZE', () => {
  it('closes only the session that sent an oversized message', async () => {
    const bystander = await RawClient.connect(srv.sock);
    const keep = await bystander.call('transact', ['Open_vSwitch', { op: 'insert', table: 'Open_vSwitch', row: {} }], 'k');
    expect(keep.error).toBeNull();

    const small = await RawClient.connect(srv.sock);
    const r = await small.call('echo', ['y'.repeat(LIMIT - 100)], 'ok');
    expect(r.result).toEqual(['y'.repeat(LIMIT - 100)]);
    small.close();

    const big = await RawClient.connect(srv.sock);
    big.send(echo(LIMIT + 10, 'big'));
    await waitFor(() => big.closed, 'oversized session closed');
    expect(big.messages).toEqual([]);

    const after = await bystander.call('transact', ['Open_vSwitch', { op: 'select', table: 'Open_vSwitch', where: [], columns: [] }], 's');
    expect(after.result).toEqual([{ rows: [{}] }]);
    bystander.close();
    await waitFor(() => fs.readFileSync(srv.log, 'utf8').includes(`message exceeds maximum size of ${LIMIT} bytes`), 'log line');
  });
});
