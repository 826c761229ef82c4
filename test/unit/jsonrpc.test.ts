import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Duplex } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseJson, type JsonValue } from '../../schema/json.ts';
import {
  classifyMessage,
  describeMessage,
  encodeErrorReply,
  encodeNotification,
  encodeNotificationRaw,
  encodeReply,
  encodeRequest,
  JsonFramingError,
  JsonRpcClient,
  JsonRpcConnection,
  JsonRpcRemoteError,
  JsonStreamSplitter,
  parseConnectionMethod,
  WRITE_SLICE_CHARS,
  type JsonRpcMessage,
  type RpcLog,
} from '../../server/jsonrpc.ts';
import { LARGE_MESSAGE_CHARS, setLargeMessageHook } from '../../server/traffic.ts';

function split(chunks: (string | Buffer)[], max?: number): { texts: string[]; careful: boolean[]; error?: string } {
  const s = new JsonStreamSplitter(max);
  const texts: string[] = [];
  const careful: boolean[] = [];
  try {
    for (const c of chunks) {
      s.push(typeof c === 'string' ? Buffer.from(c) : c, (t, k) => {
        texts.push(t);
        careful.push(k);
      });
    }
  } catch (e) {
    expect(e).toBeInstanceOf(JsonFramingError);
    return { texts, careful, error: (e as Error).message };
  }
  return { texts, careful };
}

describe('JsonStreamSplitter', () => {
  const stream =
    ' {"id":1,"method":"echo","params":["a\\"}]{[","\\\\",12345678901234567890]}\n\t[1e5]' +
    '{"s":"é😀\\u00e9"}  {"a":{"b":[[],{}]}}\r\n';
  const expected = [
    '{"id":1,"method":"echo","params":["a\\"}]{[","\\\\",12345678901234567890]}',
    '[1e5]',
    '{"s":"é😀\\u00e9"}',
    '{"a":{"b":[[],{}]}}',
  ];

  it('splits several messages in one chunk, whitespace between them', () => {
    const r = split([stream]);
    expect(r.error).toBeUndefined();
    expect(r.texts).toEqual(expected);
    expect(r.careful).toEqual([true, true, false, false]);
  });

  it('gives the same result when the stream is cut at every byte boundary', () => {
    const bytes = Buffer.from(stream);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const r = split([bytes.subarray(0, cut), bytes.subarray(cut)]);
      expect(r.texts, `cut at ${cut}`).toEqual(expected);
      expect(r.careful).toEqual([true, true, false, false]);
    }
  });

  it('handles one byte per chunk', () => {
    const bytes = Buffer.from(stream);
    const r = split([...bytes].map((b) => Buffer.from([b])));
    expect(r.texts).toEqual(expected);
  });

  it('keeps escape state across chunk boundaries', () => {
    expect(split(['{"a":"x\\', '"', '}"}']).texts).toEqual(['{"a":"x\\"}"}']);
    expect(split(['{"a":"x\\\\', '"}']).texts).toEqual(['{"a":"x\\\\"}']);
  });

  it('rejects a top level that is not an object or array, after delivering earlier messages', () => {
    const r = split(['{"a":1} "abc"']);
    expect(r.texts).toEqual(['{"a":1}']);
    expect(r.error).toMatch(/: syntax error at beginning of input$/);
    expect(split(['  5 ']).error).toBe('line 0, column 3, byte 3: syntax error at beginning of input');
    expect(split(['hello ']).error).toBe("line 0, column 5, byte 5: invalid keyword 'hello'");
  });

  it('enforces the nesting limit of 1000', () => {
    expect(split(['['.repeat(1000) + ']'.repeat(1000)]).error).toBeUndefined();
    expect(split(['['.repeat(1001)]).error).toMatch(/input exceeds maximum nesting depth 1000$/);
  });

  it('rejects invalid UTF-8', () => {
    const bad = Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    expect(split([bad]).error).toBe('invalid UTF-8 sequence');
    const r = split([Buffer.from('{"a":1}{"b":"'), Buffer.from([0xff]), Buffer.from('"}')]);
    expect(r.texts).toEqual(['{"a":1}']);
    expect(r.error).toBe('invalid UTF-8 sequence');
  });

  it('rejects invalid UTF-8 split over chunks, as soon as it arrives', () => {
    // An incomplete 3-byte character, then ASCII in the chunk that ends the message.
    expect(split([Buffer.from('{"a":"'), Buffer.from([0xe2, 0x82]), Buffer.from('x"}')]).error).toBe('invalid UTF-8 sequence');
    // A stray continuation byte in a message whose end has not arrived yet.
    const r = split([Buffer.from('{"a":1}{"b":"'), Buffer.from([0x80]), Buffer.from('abc')]);
    expect(r).toEqual({ texts: ['{"a":1}'], careful: [false], error: 'invalid UTF-8 sequence' });
    // A 4-byte character cut after each of its bytes is fine.
    const ok = Buffer.from('{"e":"😀"}');
    const at = ok.indexOf(0xf0);
    const pieces = [ok.subarray(0, at + 1), ok.subarray(at + 1, at + 2), ok.subarray(at + 2, at + 3), ok.subarray(at + 3)];
    expect(split(pieces).texts).toEqual(['{"e":"😀"}']);
  });

  it('rejects oversized messages, complete or partial', () => {
    expect(split(['{"a":"0123456789"}'], 10).error).toBe('message exceeds maximum size of 10 bytes');
    expect(split(['{"a":"01234', '56789'], 10).error).toBe('message exceeds maximum size of 10 bytes');
    expect(split(['{"a":1}{"b":2}'], 10).texts).toEqual(['{"a":1}', '{"b":2}']);
  });

  it('parses exact big integers from split text', () => {
    const r = split(['{"id":1,"method":"x","params":[9223372036854775807, -922337203', '6854775808]}']);
    const v = parseJson(r.texts[0]!, r.careful[0]) as { params: JsonValue[] };
    expect(v.params).toEqual([9223372036854775807n, -9223372036854775808n]);
  });
});

describe('classifyMessage (texts as the real server logs them)', () => {
  const c = (t: string): JsonRpcMessage | string => classifyMessage(parseJson(t));
  it('classifies valid messages', () => {
    expect(c('{"method":"echo","params":[],"id":0}')).toEqual({ type: 'request', method: 'echo', params: [], id: 0 });
    expect(c('{"method":"cancel","params":[1],"id":null}')).toEqual({ type: 'notification', method: 'cancel', params: [1] });
    expect(c('{"result":1,"error":null,"id":"x"}')).toEqual({ type: 'reply', result: 1, id: 'x' });
    expect(c('{"error":"e","result":null,"id":[1]}')).toEqual({ type: 'error', error: 'e', id: [1] });
  });
  it('reports invalid ones', () => {
    expect(c('[1,2]')).toBe('message is not a JSON object');
    expect(c('{"params":1,"foo":1}')).toBe('message has unexpected member "foo"');
    expect(c('{"method":1,"foo":1}')).toBe('method is not a JSON string');
    expect(c('{"method":null,"params":[],"id":1}')).toBe('method is not a JSON string');
    expect(c('{"params":1,"method":"x","id":1}')).toBe('"params" must be JSON array');
    expect(c('{"method":"list_dbs","id":0}')).toBe('request must have "params"');
    expect(c('{"method":"list_dbs","params":null,"id":0}')).toBe('request must have "params"');
    expect(c('{"id":1}')).toBe('request must have "method"');
    expect(c('{"method":"x"}')).toBe('notification must have "params"');
    expect(c('{"params":[]}')).toBe('notification must have "method"');
    expect(c('{"result":1}')).toBe('reply must have "id"');
    expect(c('{"result":1,"id":1,"method":"x"}')).toBe('reply must not have "method"');
    expect(c('{"result":1,"error":"x","id":1}')).toBe('reply must not have "error"');
    expect(c('{"error":"x"}')).toBe('error must have "id"');
    expect(c('{"error":"x","id":1,"params":[]}')).toBe('error must not have "params"');
  });
});

describe('emission', () => {
  it('produces exactly the OVS member sets', () => {
    expect(encodeReply(1, { a: [1n] })).toBe('{"id":1,"result":{"a":[1]},"error":null}');
    expect(encodeErrorReply('x', 'unknown method')).toBe('{"id":"x","error":"unknown method"}');
    expect(encodeNotification('update', [null, {}])).toBe('{"id":null,"method":"update","params":[null,{}]}');
    expect(encodeNotificationRaw('update2', '["m",{}]')).toBe('{"id":null,"method":"update2","params":["m",{}]}');
    expect(encodeRequest('echo', [], 'echo')).toBe('{"id":"echo","method":"echo","params":[]}');
  });
});

describe('parseConnectionMethod', () => {
  it('parses the §1.2.1 forms', () => {
    expect(parseConnectionMethod('punix:/tmp/x.sock')).toEqual({ type: 'punix', path: '/tmp/x.sock' });
    // A relative socket is in the run directory, as the reference resolves it.
    expect(parseConnectionMethod('unix:rel.sock', '/run/x')).toEqual({ type: 'unix', path: '/run/x/rel.sock' });
    expect(parseConnectionMethod('punix:sub/db.sock', '/run/x')).toEqual({ type: 'punix', path: '/run/x/sub/db.sock' });
    expect(parseConnectionMethod('unix:rel.sock', '/run/x')).toEqual(parseConnectionMethod('unix:/run/x/rel.sock'));
    expect(parseConnectionMethod('ptcp:0:127.0.0.1')).toEqual({ type: 'ptcp', port: 0, host: '127.0.0.1' });
    expect(parseConnectionMethod('ptcp:6641')).toEqual({ type: 'ptcp', port: 6641, host: '0.0.0.0' });
    expect(parseConnectionMethod('ptcp:')).toEqual({ type: 'ptcp', port: 6640, host: '0.0.0.0' });
    expect(parseConnectionMethod('ptcp:6640:[::1]')).toEqual({ type: 'ptcp', port: 6640, host: '::1' });
    expect(parseConnectionMethod('pssl:6643')).toEqual({ type: 'pssl', port: 6643, host: '0.0.0.0' });
    expect(parseConnectionMethod('tcp:127.0.0.1:6641')).toEqual({ type: 'tcp', host: '127.0.0.1', port: 6641 });
    expect(parseConnectionMethod('tcp:[::1]:6641')).toEqual({ type: 'tcp', host: '::1', port: 6641 });
    expect(parseConnectionMethod('tcp:[::1]')).toEqual({ type: 'tcp', host: '::1', port: 6640 });
    expect(parseConnectionMethod('ssl:db.example:6644')).toEqual({ type: 'ssl', host: 'db.example', port: 6644 });
    expect(() => parseConnectionMethod('bogus:xyz')).toThrow();
    expect(() => parseConnectionMethod('tcp:1.2.3.4:99999')).toThrow();
    expect(() => parseConnectionMethod('tcp::6640')).toThrow();
  });
});

describe('JsonRpcConnection over a unix socket', () => {
  let dir: string;
  let server: net.Server;
  let conns: JsonRpcConnection[];
  let logs: string[];
  let sockPath: string;
  const log: RpcLog = (m, l, t) => logs.push(`${m}|${l}|${t}`);

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jsonrpc-test-'));
    sockPath = path.join(dir, 's.sock');
    conns = [];
    logs = [];
  });
  afterEach(async () => {
    for (const c of conns) c.abort('test end');
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function listen(onConn: (c: JsonRpcConnection) => void, probeInterval = 0, chunkedParseChars = 0): Promise<void> {
    server = net.createServer((s) => {
      const c = new JsonRpcConnection(s, { name: 'unix#0', log, probeInterval, chunkedParseChars });
      conns.push(c);
      onConn(c);
    });
    await new Promise<void>((r) => server.listen(sockPath, () => r()));
  }

  // Raw client: write text, collect everything until the server closes (or `until` matches).
  function raw(text: string, until?: (got: string) => boolean): Promise<string> {
    return new Promise((resolve) => {
      const s = net.connect(sockPath);
      let got = '';
      s.on('data', (d) => {
        got += d.toString();
        if (until?.(got)) {
          s.destroy();
          resolve(got);
        }
      });
      s.on('close', () => resolve(got));
      s.on('error', () => {});
      s.write(text);
    });
  }

  it('answers echo itself, passes other requests on, emits exact replies', async () => {
    const seen: JsonRpcMessage[] = [];
    await listen((c) =>
      c.on('message', (m) => {
        seen.push(m);
        if (m.type === 'request') c.replyError(m.id, 'unknown method');
      }),
    );
    const got = await raw(
      '{"id":[1],"method":"echo","params":[9223372036854775807,"x"]}  {"id":2,"method":"list_dbs","params":[]}' +
        '{"id":"echo","result":[],"error":null}',
      (g) => g.includes('unknown method'),
    );
    expect(got).toBe(
      '{"id":[1],"result":[9223372036854775807,"x"],"error":null}{"id":2,"error":"unknown method"}',
    );
    expect(seen).toEqual([{ type: 'request', method: 'list_dbs', params: [], id: 2 }]);
  });

  it('queued messages leave before a later reply, and alone on flush()', async () => {
    let other: JsonRpcConnection | null = null;
    await listen((c) => {
      if (other === null) {
        other = c;
        return;
      }
      c.on('message', (m) => {
        if (m.type !== 'request') return;
        // A commit by this peer: the other peer's update is queued and flushed; ours are queued, then the reply.
        other!.queue('{"id":null,"method":"update","params":["o",{}]}');
        other!.flush();
        c.queue('{"id":null,"method":"update","params":["a",{}]}');
        c.queue('{"id":null,"method":"update","params":["b",{}]}');
        c.reply(m.id, {});
      });
    });
    const first = new Promise<string>((resolve) => {
      const s = net.connect(sockPath);
      s.on('data', (d) => {
        s.destroy();
        resolve(d.toString());
      });
    });
    await new Promise((r) => setTimeout(r, 50));
    const got = await raw('{"id":1,"method":"transact","params":[]}', (g) => g.includes('"result"'));
    expect(got).toBe(
      '{"id":null,"method":"update","params":["a",{}]}{"id":null,"method":"update","params":["b",{}]}' +
        '{"id":1,"result":{},"error":null}',
    );
    expect(await first).toBe('{"id":null,"method":"update","params":["o",{}]}');
  });

  it('parses a large message over several turns; the messages after it keep their order', async () => {
    const seen: JsonValue[] = [];
    await listen(
      (c) =>
        c.on('message', (m) => {
          if (m.type !== 'notification') return;
          seen.push(m.params[0]!);
          if (m.method === 'last') c.notify('done', []);
        }),
      0,
      1 << 20,
    );
    const rows = Object.fromEntries(Array.from({ length: 40000 }, (_, i) => [`r${i}`, { n: i, s: 'x\u00e9' }]));
    const big = JSON.stringify({ id: null, method: 'big', params: [rows] });
    expect(big.length).toBeGreaterThan(1 << 20);
    const small = (k: number) => `{"id":null,"method":"${k === 2 ? 'last' : 'small'}","params":[${k}]}`;
    // The big message, then two small ones in the same write; then a second big one and its follower.
    const got = await raw(small(0) + big + small(1) + big + small(2), (g) => g.includes('done'));
    expect(got).toBe('{"id":null,"method":"done","params":[]}');
    expect(seen.map((v) => (typeof v === 'number' ? v : Object.keys(v as object).length))).toEqual([0, 40000, 1, 40000, 2]);
    expect(seen[1]).toEqual(rows);
  });

  it('a malformed large message is the same protocol error as a small one', async () => {
    await listen(() => {}, 0, 1 << 20);
    const bad = JSON.stringify({ id: null, method: 'big', params: [Array.from({ length: 200000 }, (_, i) => i)] }).replace('199999', '1999x9');
    expect(await raw(bad)).toBe('');
    let want = '';
    try {
      parseJson(bad);
    } catch (e) {
      want = (e as Error).message;
    }
    expect(logs).toEqual([`jsonrpc|WARN|unix#0: error parsing stream: ${want}`, 'reconnect|WARN|unix#0: connection dropped (Protocol error)']);
  });

  it('closes only the bad connection, logging like OVS', async () => {
    await listen(() => {});
    expect(await raw('{"method":"echo","id":0,"params":[],"foo":1}')).toBe('');
    expect(logs).toEqual([
      'jsonrpc|WARN|unix#0: received bad JSON-RPC message: message has unexpected member "foo"',
      'reconnect|WARN|unix#0: connection dropped (Protocol error)',
    ]);
    logs = [];
    expect(await raw('{"id":1,"method":"echo","params":[]} {"id":2,"method":"echo","params":["a\\u0000b"]}')).toBe(
      '{"id":1,"result":[],"error":null}',
    );
    expect(logs[0]).toMatch(/^jsonrpc\|WARN\|unix#0: error parsing stream: line 0, column \d+, byte \d+: null bytes not supported in quoted strings$/);
    logs = [];
    expect(await raw('"abc"')).toBe('');
    expect(logs[0]).toMatch(/error parsing stream: .*syntax error at beginning of input$/);
  });

  it('sends an inactivity probe after P ms of silence and drops the peer after another P', async () => {
    const closed = new Promise<string>((resolve) =>
      listen((c) => c.on('close', (reason) => resolve(reason)), 1000),
    );
    const got = await raw('');
    expect(got).toBe('{"id":"echo","method":"echo","params":[]}');
    expect(await closed).toBe('inactivity probe timeout');
    // The time since the probe went out (%.3g, as the reference): 1 s, a little more when the loop is late.
    expect(logs.some((l) => /^reconnect\|ERR\|unix#0: no response to inactivity probe after 1(\.\d\d?)? seconds, disconnecting$/.test(l))).toBe(true);
  });

  it('keeps a peer that answers the probe', async () => {
    await listen(() => {}, 1000);
    const probes = await new Promise<number>((resolve) => {
      const s = net.connect(sockPath);
      let n = 0;
      s.on('data', (d) => {
        for (const _ of d.toString().matchAll(/"method":"echo"/g)) n++;
        s.write('{"id":"echo","result":[],"error":null}');
        if (n === 2) {
          s.destroy();
          resolve(n);
        }
      });
    });
    expect(probes).toBe(2);
    expect(logs.filter((l) => l.includes('no response'))).toEqual([]);
  });

  it('pauses reading while output is backlogged and reports drain', async () => {
    let conn!: JsonRpcConnection;
    await listen((c) => (conn = c));
    const client = net.connect(sockPath);
    await new Promise((r) => client.once('connect', r));
    while (!conn) await new Promise((r) => setTimeout(r, 5));
    client.pause(); // do not read: the server's output backs up
    const big = JSON.stringify('x'.repeat(1 << 20));
    let writes = 0;
    while (conn.sendRaw(`{"id":null,"method":"n","params":[${big}]}`)) writes++;
    expect(conn.hasBacklog()).toBe(true);
    expect(conn.socket.isPaused()).toBe(true);
    const drained = new Promise<void>((r) => conn.once('drain', () => r()));
    client.resume();
    await drained;
    expect(conn.hasBacklog()).toBe(false);
    expect(conn.socket.isPaused()).toBe(false);
    client.destroy();
    expect(writes).toBeGreaterThanOrEqual(0);
  });

  it('writes long output a slice at a time, byte for byte and in order (surrogate pairs kept whole)', async () => {
    let conn!: JsonRpcConnection;
    await listen((c) => (conn = c));
    const client = net.connect(sockPath);
    await new Promise((r) => client.once('connect', r));
    while (!conn) await new Promise((r) => setTimeout(r, 5));
    const chunks: Buffer[] = [];
    client.on('data', (d: Buffer) => chunks.push(d));
    client.pause();
    // A reply whose result straddles slice boundaries, with a surrogate pair exactly on the first one and
    // multi-byte characters around the others; then small messages queued behind it.
    const inner = WRITE_SLICE_CHARS - 2; // the result text starts with a quote
    const result = '"' + 'a'.repeat(inner) + '😀' + 'é€'.repeat(WRITE_SLICE_CHARS) + 'z"';
    conn.replyRaw(7, result);
    expect(conn.hasBacklog()).toBe(true);
    conn.sendRaw('{"id":null,"method":"after","params":[1]}');
    conn.queue('{"id":null,"method":"after","params":[2]}');
    conn.flush();
    const expected = '{"id":7,"result":' + result + ',"error":null}' +
      '{"id":null,"method":"after","params":[1]}{"id":null,"method":"after","params":[2]}';
    const drained = new Promise<void>((r) => conn.once('drain', () => r()));
    client.resume();
    await drained;
    while (Buffer.concat(chunks).length < Buffer.byteLength(expected)) await new Promise((r) => setTimeout(r, 5));
    expect(Buffer.concat(chunks).toString('utf8') === expected).toBe(true);
    expect(conn.hasBacklog()).toBe(false);
    client.destroy();
  });

  it('close() during a sliced write still sends all of it; a large message is reported once written', async () => {
    const accepted: JsonRpcConnection[] = [];
    const reported: number[] = [];
    setLargeMessageHook((n) => reported.push(n));
    try {
      await listen((c) => accepted.push(c));
      const receive = (): Promise<string> =>
        new Promise((resolve) => {
          const s = net.connect(sockPath);
          const parts: Buffer[] = [];
          s.on('data', (d: Buffer) => parts.push(d));
          s.on('end', () => {
            s.destroy();
            resolve(Buffer.concat(parts).toString('latin1'));
          });
        });
      const message = `{"id":null,"method":"big","params":[${JSON.stringify('q'.repeat(LARGE_MESSAGE_CHARS))}]}`;

      const first = receive();
      while (accepted.length < 1) await new Promise((r) => setTimeout(r, 5));
      accepted[0]!.sendRaw(message);
      accepted[0]!.close(); // the rest goes out in one go before the end
      expect((await first) === message).toBe(true);
      expect(reported).toEqual([]); // reported only by a sliced write that finishes by itself

      const second = receive();
      while (accepted.length < 2) await new Promise((r) => setTimeout(r, 5));
      accepted[1]!.sendRaw(message);
      while (reported.length === 0) await new Promise((r) => setTimeout(r, 5));
      expect(reported).toEqual([message.length]);
      accepted[1]!.close();
      expect((await second) === message).toBe(true);
    } finally {
      setLargeMessageHook(null);
    }
  });

  it('JsonRpcClient: request/reply, error replies, notifications, echo answered', async () => {
    await listen((c) =>
      c.on('message', (m) => {
        if (m.type !== 'request') return;
        if (m.method === 'fail') c.replyError(m.id, { error: 'bad', details: 'no' });
        else if (m.method === 'probe-me') {
          c.request('echo', ['ping'], 'echo-from-server');
          c.reply(m.id, 'ok');
        }
        else {
          c.notify('note', [m.method]);
          c.reply(m.id, m.params);
        }
      }),
    );
    const client = await JsonRpcClient.connect(`unix:${sockPath}`);
    const notes: JsonValue[][] = [];
    client.on('notification', (method, params) => notes.push([method, ...params]));
    expect(await client.request('hello', [1, 9223372036854775807n])).toEqual([1, 9223372036854775807n]);
    expect(notes).toEqual([['note', 'hello']]);
    const err = await client.request('fail', []).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JsonRpcRemoteError);
    expect((err as JsonRpcRemoteError).error).toEqual({ error: 'bad', details: 'no' });
    // The server's echo request is answered by the client connection.
    const echoReply = new Promise<JsonRpcMessage>((r) =>
      conns[0]!.on('message', (m) => {
        if (m.type === 'reply') r(m);
      }),
    );
    await client.request('probe-me', []);
    expect(await echoReply).toEqual({ type: 'reply', result: ['ping'], id: 'echo-from-server' });
    client.close();
  });

  it('JsonRpcClient.connect rejects with the socket error code', async () => {
    const e = await JsonRpcClient.connect(`unix:${path.join(dir, 'none.sock')}`).catch((x: unknown) => x);
    expect((e as NodeJS.ErrnoException).code).toBe('ENOENT');
  });
});

describe('debug lines (-vjsonrpc:dbg)', () => {
  it('describeMessage: the reference shapes; error replies we send show as "reply"', () => {
    const msg = (text: string) => classifyMessage(parseJson(text)) as JsonRpcMessage;
    const j = (v: JsonValue) => JSON.stringify(v);
    expect(describeMessage(msg('{"id":0,"method":"transact","params":["db",{"op":"select"}]}'), j)).toBe(
      'request, method="transact", params=["db",{"op":"select"}], id=0',
    );
    expect(describeMessage(msg('{"id":"x","result":[],"error":null}'), j)).toBe('reply, result=[], id="x"');
    expect(describeMessage(msg('{"id":null,"method":"update2","params":["m",{}]}'), j)).toBe('notification, method="update2", params=["m",{}]');
    expect(describeMessage(msg('{"id":1,"error":"unknown method"}'), j)).toBe('error, error="unknown method", id=1');
    expect(describeMessage(msg('{"id":1,"error":"unknown method"}'), j, true)).toBe('reply, error="unknown method", id=1');
  });

  it('a connection logs what it receives (re-serialized in hash order) and sends, only while DBG is on', () => {
    const lines: string[] = [];
    let on = false;
    const log: RpcLog = (module, level, m) => lines.push(`${module}|${level}|${m}`);
    log.debugOn = (module) => on && module === 'jsonrpc';
    const [a, b] = socketPair();
    const conn = new JsonRpcConnection(a, { name: 'unix#9', log });
    conn.notify('x', [1]);
    on = true;
    conn.notify('y', [{ b: 1, a: 2 }]);
    expect(lines).toEqual(['jsonrpc|DBG|unix#9: send notification, method="y", params=[{"b":1,"a":2}]']);
    a.destroy();
    b.destroy();
  });
});

/** Two ends of an in-process stream pair (enough for a connection that only writes). */
function socketPair(): [net.Socket, net.Socket] {
  const mk = () => new Duplex({ read() {}, write(_c, _e, cb) { cb(); } }) as unknown as net.Socket;
  return [mk(), mk()];
}
