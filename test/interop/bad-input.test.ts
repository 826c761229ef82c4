// Bad input over raw sockets, sent byte for byte to the real ovsdb-server and to ours: the replies (or the
// closing of that one session) must match, other sessions must not notice, and no committed data is lost.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { TempDir, Server, startServer, SCHEMA, IMPLS, RawClient, maskUuids, sortedJson, waitFor, type Impl } from './lib/harness.ts';

let tmp: TempDir;
const srv = {} as Record<Impl, Server>;
/** One long-lived session per server that must survive everything the other sessions do. */
const bystander = {} as Record<Impl, RawClient>;

beforeAll(async () => {
  tmp = new TempDir();
  await Promise.all(IMPLS.map(async (impl) => (srv[impl] = await startServer(impl, tmp, [SCHEMA.vswitch]))));
  for (const impl of IMPLS) {
    bystander[impl] = await RawClient.connect(srv[impl].sock);
    // Open_vSwitch is a root table: the row stays (an unreferenced Bridge would be garbage-collected).
    const r = await bystander[impl].call('transact', ['Open_vSwitch', { op: 'insert', table: 'Open_vSwitch', row: { external_ids: ['map', [['keep', 'me']]] } }], 'keep');
    expect(maskUuids(JSON.stringify(r))).toBe('{"id":"keep","result":[{"uuid":["uuid","<0>"]}],"error":null}');
    // Its monitor must keep working too.
    const m = await bystander[impl].call('monitor', ['Open_vSwitch', 'mon', { Bridge: { columns: ['name'] } }], 'mon');
    expect(m.error).toBeNull();
  }
});

afterAll(async () => {
  for (const impl of IMPLS) bystander[impl]?.close();
  await Promise.all(IMPLS.map((impl) => srv[impl]?.stop()));
  tmp?.cleanup();
});

interface Seen {
  replies: string[];
  closed: boolean;
}

/**
 * Send `bytes` on a fresh session, then an echo probe. The session either answers the probe (it lives on)
 * or is closed. Returns what came back, in order, with UUIDs masked.
 */
async function probe(impl: Impl, bytes: string | Buffer): Promise<Seen> {
  const c = await RawClient.connect(srv[impl].sock);
  try {
    c.send(bytes);
    c.send('{"method":"echo","params":["probe"],"id":"probe"}');
    await waitFor(() => c.closed || c.messages.some((m) => (m as { id?: unknown }).id === 'probe'), `${impl}: probe answered or session closed`);
    return { replies: c.messages.map((m) => maskUuids(sortedJson(m))), closed: c.closed };
  } finally {
    c.close();
  }
}

/** Same bytes to both servers: same outcome. */
async function same(bytes: string | Buffer): Promise<Seen> {
  const [ours, real] = await Promise.all(IMPLS.map((i) => probe(i, bytes)));
  expect(ours, String(bytes).slice(0, 200)).toEqual(real);
  return ours;
}

const PROBE_REPLY = '{"error":null,"id":"probe","result":["probe"]}';
const CLOSED: Seen = { replies: [], closed: true };

describe('framing and JSON-RPC validation (the session closes, with no reply)', () => {
  const cases: Array<[string, string | Buffer]> = [
    ['malformed JSON', '{"method":"echo","params":[],"id":1]'],
    ['a bare string', '"abc" '],
    ['a number', '5 '],
    ['an array', '[1,2]'],
    ['an unexpected member', '{"method":"list_dbs","params":[],"id":1,"foo":1}'],
    ['a jsonrpc member', '{"jsonrpc":"2.0","method":"list_dbs","params":[],"id":1}'],
    ['params null', '{"method":"list_dbs","params":null,"id":1}'],
    ['params missing', '{"method":"list_dbs","id":1}'],
    ['params an object', '{"method":"list_dbs","params":{},"id":1}'],
    ['method not a string', '{"method":1,"params":[],"id":1}'],
    ['a stray reply', '{"result":1,"id":5}'],
    ['result and error together', '{"result":1,"error":"x","id":1}'],
    ['a raw control character in a string', '{"method":"echo","params":["a\u0001b"],"id":1}'],
    ['an escaped NUL', '{"method":"echo","params":["a\\u0000b"],"id":1}'],
    ['a leading zero', '{"method":"echo","params":[01],"id":1}'],
    ['nesting 1000 deep', `{"method":"echo","params":${'['.repeat(1000)}${']'.repeat(1000)},"id":1}`],
    ['a lone escaped high surrogate', '{"method":"echo","params":["\\ud800"],"id":1}'],
    ['a high surrogate escape not followed by a low one', '{"method":"echo","params":["\\ud83dx"],"id":1}'],
    ['escaped surrogates in the wrong order', '{"method":"echo","params":["\\udc00\\ud800"],"id":1}'],
    ['a subnormal real', '{"method":"echo","params":[5e-324],"id":1}'],
    ['a real beyond the double range', '{"method":"echo","params":[1e400],"id":1}'],
  ];
  for (const [name, bytes] of cases) {
    it(name, async () => {
      expect(await same(bytes)).toEqual(CLOSED);
    });
  }
});

describe('invalid UTF-8', () => {
  it('ours closes that session (the real 3.1 server passes the bytes through); others are unaffected', async () => {
    const bytes = Buffer.concat([Buffer.from('{"method":"echo","params":["'), Buffer.from([0xff, 0xfe]), Buffer.from('"],"id":1}')]);
    expect(await probe('ours', bytes)).toEqual(CLOSED);
  });
});

describe('requests the server answers (the session lives on)', () => {
  const cases: Array<[string, string]> = [
    ['unknown method', '{"method":"nope","params":[],"id":1}'],
    ['cancel sent as a request', '{"method":"cancel","params":[1],"id":2}'],
    ['odd ids are echoed verbatim', '{"method":"echo","params":[],"id":{"a":[1,false]}}{"method":"get_schema","params":["Nope"],"id":1.5}'],
    ['a notification is ignored, even transact', '{"method":"transact","params":["Open_vSwitch",{"op":"insert","table":"Bridge","row":{"name":"ghost"}}],"id":null}'],
    ['an echo reply to our probe is swallowed', '{"result":[],"id":"echo"}'],
    ['two messages in one write, whitespace between', ' {"method":"echo","params":[1],"id":1}\n\t {"method":"echo","params":[2],"id":2} '],
    ['nesting 998 deep', `{"method":"echo","params":${'['.repeat(998)}${']'.repeat(998)},"id":1}`],
    ['integers beyond int64 and reals', '{"method":"echo","params":[9223372036854775807,-9223372036854775808,1e300,0.1,2.0,-0],"id":1}'],
    ['a real too small even for a subnormal is 0', '{"method":"echo","params":[1e-400,-1e-330],"id":1}'],
    ['an escaped surrogate pair', '{"method":"echo","params":["\\ud83d\\ude00"],"id":1}'],
  ];
  for (const [name, bytes] of cases) {
    it(name, async () => {
      const seen = await same(bytes);
      expect(seen.closed).toBe(false);
      expect(seen.replies.at(-1)).toBe(PROBE_REPLY);
    });
  }

  it('the ignored transact notification inserted nothing', async () => {
    for (const impl of IMPLS) {
      const r = await (await RawClient.connect(srv[impl].sock)).call('transact', ['Open_vSwitch', { op: 'select', table: 'Bridge', where: [['name', '==', 'ghost']] }]);
      expect(r.result).toEqual([{ rows: [] }]);
    }
  });
});

describe('wrong parameter types at every method', () => {
  it('list_dbs ignores its params (the order is the server’s own: clients sort it)', async () => {
    for (const impl of IMPLS) {
      const c = await RawClient.connect(srv[impl].sock);
      const r = await c.call('list_dbs', [1, 2]);
      c.close();
      expect([...(r.result as string[])].sort()).toEqual(['Open_vSwitch', '_Server']);
    }
  });

  const DB = 'Open_vSwitch';
  const calls: Array<[string, unknown[]]> = [
    ['get_server_id', []],
    ['get_server_id', ['x']],
    ['echo', []],
    ['get_schema', []],
    ['get_schema', [1]],
    ['get_schema', ['Nope']],
    ['get_schema', [DB, 'extra']],
    ['transact', []],
    ['transact', [1]],
    ['transact', ['Nope', {}]],
    ['transact', [DB, 1]],
    ['transact', [DB, {}]],
    ['transact', [DB, { op: 1 }]],
    ['transact', [DB, { op: 'select', table: 'Bridge', where: {} }]],
    ['transact', [DB, { op: 'insert', table: 'Bridge', row: [] }]],
    ['transact', [DB, { op: 'select', table: 'Bridge', where: [['name', '==']] }]],
    ['transact', [DB, { op: 'mutate', table: 'Bridge', where: [], mutations: [['name', '+=', 1]] }]],
    ['transact', [DB, { op: 'wait', table: 'Bridge', where: [], until: '<', rows: [] }]],
    ['transact', [DB, { op: 'commit', durable: 'yes' }]],
    ['transact', [DB, { op: 'assert', lock: 5 }]],
    ['monitor', []],
    ['monitor_cond', [DB, null]],
    ['monitor_cond', [DB, null, {}, 1]],
    ['monitor', [DB, null, {}, 1]],
    ['monitor_cond_since', [DB]],
    ['monitor_cond_since', []],
    ['monitor', [DB, null, 5]],
    ['monitor', [DB, null, { Nope: {} }]],
    ['monitor', [DB, null, { Bridge: { columns: ['nope'] } }]],
    ['monitor', [DB, null, { Bridge: { select: { insert: 1 } } }]],
    ['monitor', [DB, null, { Bridge: [] }]],
    ['monitor_cond', [DB, null, { Bridge: { where: 1 } }]],
    ['monitor_cond', [DB, null, { Bridge: [{ where: [['name', '~', 'x']] }] }]],
    ['monitor_cond_since', [DB, null, { Bridge: {} }]],
    ['monitor_cond_since', [DB, null, { Bridge: {} }, 'not-a-uuid']],
    ['monitor_cond_since', [DB, null, { Bridge: {} }, 1]],
    ['monitor_cond_change', []],
    ['monitor_cond_change', ['nope', 'new', {}]],
    ['monitor_cond_change', [1, 2, 3]],
    ['monitor_cancel', []],
    ['monitor_cancel', ['nope']],
    ['lock', []],
    ['lock', [1]],
    ['lock', ['bad name']],
    ['lock', ['a', 'b']],
    ['steal', [{}]],
    ['unlock', ['never-locked']],
    ['unlock', []],
    ['set_db_change_aware', []],
    ['set_db_change_aware', [1]],
    ['set_db_change_aware', [true, false]],
    ['convert', []],
    ['convert', [DB]],
    ['convert', [DB, 1]],
    ['convert', [DB, { name: 'Other', tables: {} }]],
    ['convert', ['Nope', {}]],
  ];
  it('each answer (or close) matches the real server', async () => {
    const diffs: string[] = [];
    for (const [method, params] of calls) {
      const bytes = JSON.stringify({ method, params, id: 7 });
      const [ours, real] = await Promise.all(IMPLS.map((i) => probe(i, bytes)));
      if (JSON.stringify(ours) !== JSON.stringify(real)) diffs.push(`${bytes}\n  ours: ${JSON.stringify(ours)}\n  real: ${JSON.stringify(real)}`);
    }
    expect(diffs.join('\n')).toBe('');
  });

  it('monitor with too few params: the real 3.1 server reads past them (it may crash); ours answers and keeps the session', async () => {
    for (const params of [['Open_vSwitch'], ['Open_vSwitch', null]]) {
      const seen = await probe('ours', JSON.stringify({ method: 'monitor', params, id: 7 }));
      expect(seen).toEqual({
        replies: ['{"error":{"details":"monitor-requests must be object","error":"syntax error","syntax":"null"},"id":7}', PROBE_REPLY],
        closed: false,
      });
    }
  });

  it('lock errors: double lock on one session, unlock of a lock never taken', async () => {
    await same('{"method":"lock","params":["L"],"id":1}{"method":"lock","params":["L"],"id":2}{"method":"steal","params":["L"],"id":3}{"method":"unlock","params":["L"],"id":4}{"method":"unlock","params":["L"],"id":5}');
  });
});

describe('sizes', () => {
  it('an 8 MB message is accepted and echoed', async () => {
    const big = 'x'.repeat(8 << 20);
    for (const impl of IMPLS) {
      const c = await RawClient.connect(srv[impl].sock);
      try {
        const r = await c.call('echo', [big], 'big');
        expect((r.result as string[])[0].length).toBe(big.length);
      } finally {
        c.close();
      }
    }
  });

  it('ours: nesting 100000 deep closes only that session', async () => {
    expect(await probe('ours', `{"method":"echo","params":${'['.repeat(100_000)}${']'.repeat(100_000)},"id":1}`)).toEqual(CLOSED);
  });
});

describe('after all that', () => {
  it('the bystander session is still served, its monitor saw every real commit, nothing was lost', async () => {
    for (const impl of IMPLS) {
      const b = bystander[impl];
      expect(b.closed).toBe(false);
      const r = await b.call('transact', ['Open_vSwitch', { op: 'select', table: 'Open_vSwitch', where: [], columns: ['external_ids'] }], 'final');
      expect(r.result).toEqual([{ rows: [{ external_ids: ['map', [['keep', 'me']]] }] }]);
      // No update notification for anything that was not committed.
      expect(b.messages.filter((m) => (m as { method?: string }).method === 'update')).toEqual([]);
    }
  });
});
