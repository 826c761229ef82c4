// The Raft RPC codec against the messages captured between C members (raft.md §2.4–2.7) and the C
// receiver's error texts (checked live against ovsdb-server 3.1: a bad message is logged `<peer>: <error>`).
import { describe, expect, it } from 'vitest';
import { parseJson, stringifySorted, type JsonObject, type JsonValue } from '../../schema/json.ts';
import { decode, decodeJsonRpc, encode, encodeText, entryText, type DecodeResult } from '../../raft/rpc.ts';
import { uint64FromJson, uint64ToJson } from '../../raft/parse.ts';
import type { RaftMessage } from '../../raft/types.ts';

const L = 'fd7321fc-d3b8-40d1-a959-bf9c26de64e0';
const J = 'c5b32d33-7e0f-4429-bea8-f3254518b518';
const C = 'd559d053-e495-44f6-adee-d2cd001e08e0';
const E1 = 'e95849b9-3c2c-4f3a-9c6e-0c7f3b1f8a01';
const R1 = 'b6c74d22-02e7-40ff-8fc9-1d1037a87834';

/** Notifications as C members sent them (raft.md §2.6.4–2.6.7, elided uuids filled in). */
const CAPTURED: string[] = [
  `{"id":null,"method":"add_server_request","params":[{"from":"${J}","address":"tcp:127.0.0.1:16742"}]}`,
  `{"id":null,"method":"append_request","params":[{"log":[],"comment":"initialize new server","prev_log_term":1,"to":"${J}","leader_commit":3,"from":"${L}","cluster":"${C}","term":1,"prev_log_index":3}]}`,
  `{"id":null,"method":"append_reply","params":[{"comment":"mismatch past end of log","prev_log_term":1,"to":"${L}","log_end":1,"from":"${J}","result":"inconsistency","n_entries":0,"cluster":"${C}","term":1,"prev_log_index":3}]}`,
  `{"id":null,"method":"install_snapshot_request","params":[{"last_servers":{"${L}":"tcp:127.0.0.1:16741"},"election_timer":1000,"last_term":1,"data":[{"name":"Ex","tables":{"T":{"columns":{"n":{"type":"integer"},"name":{"type":"string"}}}},"version":"1.0.0"},{}],"to":"${J}","from":"${L}","last_eid":"8fab7bd0-ff9e-455c-87c4-798ca28e74ac","last_index":1,"cluster":"${C}","term":1}]}`,
  `{"id":null,"method":"install_snapshot_reply","params":[{"from":"${J}","last_term":1,"last_index":1,"term":1,"cluster":"${C}","to":"${L}"}]}`,
  `{"id":null,"method":"append_request","params":[{"log":[{"term":1},{"eid":"${E1}","term":1,"data":[null,{"T":{"c8e9f4c1-6d0e-4c59-9d9e-4b1a1b2c3d4e":{"n":1,"name":"one"}},"_date":1796197109408,"_is_diff":true}]}],"comment":"snapshot installed","prev_log_term":1,"to":"${J}","leader_commit":3,"from":"${L}","cluster":"${C}","term":1,"prev_log_index":1}]}`,
  `{"id":null,"method":"append_reply","params":[{"comment":"log updated","prev_log_term":1,"to":"${L}","log_end":4,"from":"${J}","result":"OK","n_entries":2,"cluster":"${C}","term":1,"prev_log_index":1}]}`,
  `{"id":null,"method":"append_request","params":[{"log":[{"servers":{"${L}":"tcp:127.0.0.1:16741","${J}":"tcp:127.0.0.1:16742"},"term":1}],"comment":"execute command","prev_log_term":1,"to":"${J}","leader_commit":3,"from":"${L}","cluster":"${C}","term":1,"prev_log_index":3}]}`,
  `{"id":null,"method":"add_server_reply","params":[{"from":"${L}","remote_addresses":["tcp:127.0.0.1:16742"],"comment":"in progress","success":false,"cluster":"${C}","to":"${J}"}]}`,
  `{"id":null,"method":"add_server_reply","params":[{"from":"${L}","remote_addresses":["tcp:127.0.0.1:16742"],"comment":"completed","success":true,"cluster":"${C}","to":"${J}"}]}`,
  `{"id":null,"method":"append_request","params":[{"log":[],"comment":"heartbeat","prev_log_term":1,"to":"${J}","leader_commit":4,"from":"${L}","cluster":"${C}","term":1,"prev_log_index":4}]}`,
  `{"id":null,"method":"append_reply","params":[{"comment":"heartbeat","prev_log_term":1,"to":"${L}","log_end":6,"from":"${J}","result":"OK","n_entries":0,"cluster":"${C}","term":1,"prev_log_index":5}]}`,
  `{"id":null,"method":"execute_command_request","params":[{"from":"${J}","prereq":"${E1}","result":"${R1}","data":[null,{"_date":1796197110454,"T":{"8156c588-1111-4222-8333-944455556666":{"name":"two","n":2}},"_is_diff":true}],"cluster":"${C}","to":"${L}"}]}`,
  `{"id":null,"method":"execute_command_reply","params":[{"from":"${L}","commit_index":5,"status":"success","result":"${R1}","cluster":"${C}","to":"${J}"}]}`,
];

function decodeText(text: string, ctx?: { cid: string | null; sid: string }): DecodeResult {
  const msg = parseJson(text) as JsonObject;
  return decode(msg.method as string, msg.params as JsonValue[], ctx);
}

function ok(r: DecodeResult): RaftMessage {
  if (!r.ok) throw new Error(r.error);
  return r.message;
}

describe('captured C messages', () => {
  for (const text of CAPTURED) {
    const method = (JSON.parse(text) as { method: string }).method;
    it(`${method}: decode → encode gives the same bytes`, () => {
      const m = ok(decodeText(text));
      expect(m.type).toBe(method);
      expect(encodeText(m)).toBe(text);
      // encode() (objects) has the same members and values.
      const e = encode(m);
      expect(e.method).toBe(method);
      expect(stringifySorted(e.params)).toBe(stringifySorted((JSON.parse(text) as { params: JsonValue }).params));
    });
  }

  it('maps wire names to the shared types', () => {
    const ar = ok(decodeText(CAPTURED[5]!));
    expect(ar).toEqual({
      type: 'append_request',
      cluster: C,
      to: J,
      from: L,
      comment: 'snapshot installed',
      term: 1,
      prevLogIndex: 1,
      prevLogTerm: 1,
      leaderCommit: 3,
      log: [{ term: 1 }, { term: 1, eid: E1, data: [null, { T: { 'c8e9f4c1-6d0e-4c59-9d9e-4b1a1b2c3d4e': { n: 1, name: 'one' } }, _date: 1796197109408, _is_diff: true }] }],
    });
    const cfg = ok(decodeText(CAPTURED[7]!));
    expect(cfg.type === 'append_request' && [...cfg.log[0]!.servers!]).toEqual([
      [L, 'tcp:127.0.0.1:16741'],
      [J, 'tcp:127.0.0.1:16742'],
    ]);
    const isr = ok(decodeText(CAPTURED[3]!));
    expect(isr.type === 'install_snapshot_request' && { t: isr.electionTimer, i: isr.lastIndex, s: [...isr.lastServers.keys()] }).toEqual({ t: 1000, i: 1, s: [L] });
    const asr = ok(decodeText(CAPTURED[0]!));
    expect(asr).toEqual({ type: 'add_server_request', from: J, address: 'tcp:127.0.0.1:16742' });
    const ecr = ok(decodeText(CAPTURED[13]!));
    expect(ecr).toEqual({ type: 'execute_command_reply', from: L, to: J, cluster: C, commitIndex: 5, status: 'success', result: R1 });
  });

  it('entry data goes out with sorted members, as C keeps it serialized', () => {
    const text = entryText({ term: 2, eid: E1, data: [null, { _is_diff: true, _date: 5, T: { [R1]: { name: 'x', n: 1 } } }] });
    expect(text).toBe(`{"eid":"${E1}","term":2,"data":[null,{"T":{"${R1}":{"n":1,"name":"x"}},"_date":5,"_is_diff":true}]}`);
    expect(entryText({ term: 3, electionTimer: 2000 })).toBe('{"election_timer":2000,"term":3}');
  });
});

describe('messages without captures', () => {
  const env = { cluster: C, to: L, from: J };
  const msgs: RaftMessage[] = [
    { type: 'hello_request', cluster: C, from: J, address: 'tcp:127.0.0.1:16742' },
    { type: 'hello_request', ...env, address: 'unix:s2.raft' },
    { type: 'vote_request', ...env, term: 3, lastLogIndex: 7, lastLogTerm: 2 },
    { type: 'vote_request', ...env, term: 3, lastLogIndex: 7, lastLogTerm: 2, leadershipTransfer: true },
    { type: 'vote_reply', ...env, term: 3, vote: J },
    { type: 'add_server_reply', ...env, success: false, comment: 'not leader' },
    { type: 'remove_server_request', ...env, serverId: J, comment: 'via unixctl' },
    { type: 'remove_server_reply', ...env, success: true, comment: 'completed' },
    { type: 'remove_server_reply', ...env, success: true, targetServer: R1, comment: 'completed' },
    { type: 'become_leader', ...env, term: 4, comment: 'this server is shutting down' },
    { type: 'execute_command_reply', ...env, result: R1, status: 'operation still in progress' },
  ];
  for (const m of msgs) {
    it(`${m.type} round-trips`, () => {
      const text = encodeText(m);
      expect(ok(decodeText(text))).toEqual(m);
      expect(encodeText(ok(decodeText(text)))).toBe(text);
    });
  }

  it('writes exactly the optional members C writes', () => {
    const p = (m: RaftMessage) => Object.keys(encode(m).params[0]).sort();
    expect(p({ type: 'add_server_request', from: J, address: 'a' })).toEqual(['address', 'from']);
    expect(p({ type: 'add_server_reply', ...env, success: true, remoteAddresses: [] })).toEqual(['cluster', 'from', 'success', 'to']);
    expect(p({ type: 'execute_command_reply', ...env, result: R1, status: 'success', commitIndex: 0 })).toEqual(['cluster', 'from', 'result', 'status', 'to']);
    expect(p({ type: 'vote_request', ...env, term: 1, lastLogIndex: 1, lastLogTerm: 1 })).not.toContain('leadership_transfer');
    expect(p({ type: 'remove_server_reply', ...env, success: true, targetServer: '00000000-0000-0000-0000-000000000000' })).toEqual(['cluster', 'from', 'success', 'to']);
  });

  it('leadership_transfer false means no transfer', () => {
    const m = ok(decode('vote_request', [{ ...env, term: 1, last_log_index: 1, last_log_term: 1, leadership_transfer: false }]));
    expect(m).toEqual({ type: 'vote_request', ...env, term: 1, lastLogIndex: 1, lastLogTerm: 1 });
  });
});

describe('uint64', () => {
  it('values ≥ 2^63 travel as negative int64', () => {
    expect(uint64ToJson(5)).toBe(5);
    expect(uint64ToJson(2 ** 63)).toBe(-(2n ** 63n));
    expect(uint64FromJson(-1)).toBe(2 ** 64);
    expect(uint64FromJson(-(2n ** 63n))).toBe(2 ** 63);
    const m = ok(decode('become_leader', [{ cluster: C, to: L, from: J, term: -(2n ** 63n) }]));
    expect(m.type === 'become_leader' && m.term).toBe(2 ** 63);
    expect(encodeText(m)).toContain('"term":-9223372036854775808');
  });
});

describe('errors, as the C receiver logs them', () => {
  const err = (r: DecodeResult) => (r.ok ? 'ok' : r.error);
  const base = { cluster: C, to: L, from: J };
  const append = { ...base, term: 1, prev_log_index: 1, prev_log_term: 1, leader_commit: 1, log: [] as JsonValue[] };

  it('envelope (§2.1)', () => {
    expect(err(decodeJsonRpc({ type: 'request' }))).toBe('ovsdb error: expecting notify RPC but received request');
    expect(err(decodeJsonRpc({ type: 'reply' }))).toBe('ovsdb error: expecting notify RPC but received reply');
    expect(err(decode('bogus', [{}]))).toBe('ovsdb error: unknown method bogus');
    expect(err(decode('vote_reply', [{}, {}]))).toBe('ovsdb error: vote_reply RPC has 2 parameters (expected 1)');
    expect(err(decode('vote_reply', []))).toBe('ovsdb error: vote_reply RPC has 0 parameters (expected 1)');
    expect(err(decode('vote_reply', [5]))).toBe('syntax error: Parsing raft vote_reply RPC failed: Object expected.');
  });

  it('stray members: exactly the listed members are accepted', () => {
    const one = { ...append, x: 1 };
    expect(err(decode('append_request', [one]))).toBe(`syntax "${esc(one)}": syntax error: Parsing raft append_request RPC failed: Member 'x' is present but not allowed here.`);
    const two = { ...append, x: 1, y: 2 };
    expect(err(decode('append_request', [two]))).toBe(
      `syntax "${esc(two)}": syntax error: Parsing raft append_request RPC failed: Member 'x' and 1 other member are present but not allowed here.`,
    );
    // `to` is not a member of add_server_request's body but is accepted as envelope; `index` never is.
    expect(err(decode('append_request', [{ ...append, log: [{ term: 1, index: 2 }] }]))).toBe(
      `syntax "{"index":2,"term":1}": syntax error: Parsing raft log entry failed: Member 'index' is present but not allowed here.`,
    );
  });

  it('required members, in the order the C parser looks for them', () => {
    const { cluster: _c, ...noCluster } = append;
    expect(err(decode('append_request', [noCluster]))).toMatch(/Parsing raft append_request RPC failed: Required 'cluster' member is missing\.$/);
    const { to: _t, ...noTo } = append;
    expect(err(decode('append_request', [noTo]))).toMatch(/Required 'to' member is missing\.$/);
    const { term: _x, ...noTerm } = append;
    expect(err(decode('append_request', [noTerm]))).toMatch(/Required 'term' member is missing\.$/);
    const { log: _l, ...noLog } = append;
    expect(err(decode('append_request', [noLog]))).toMatch(/Required 'log' member is missing\.$/);
    expect(err(decode('append_request', [{ ...append, from: undefined as never }].map((o) => JSON.parse(JSON.stringify(o)) as JsonValue)))).toMatch(
      /Required 'from' member is missing\.$/,
    );
    // cluster and to are optional only where the C parser makes them so.
    expect(err(decode('add_server_request', [{ from: J, address: 'unix:x' }]))).toBe('ok');
    expect(err(decode('hello_request', [{ cluster: C, from: J, address: 'unix:x' }]))).toBe('ok');
    expect(err(decode('hello_request', [{ from: J, address: 'unix:x' }]))).toMatch(/Required 'cluster' member is missing\.$/);
    expect(err(decode('vote_reply', [{ cluster: C, from: J, term: 1, vote: J }]))).toMatch(/Required 'to' member is missing\.$/);
  });

  it('types and values', () => {
    expect(err(decode('append_request', [{ ...append, term: '1' }]))).toMatch(/Type mismatch for member 'term'\.$/);
    expect(err(decode('append_request', [{ ...append, term: 1.5 }]))).toMatch(/Type mismatch for member 'term'\.$/);
    expect(err(decode('append_request', [{ ...append, log: {} }]))).toMatch(/Type mismatch for member 'log'\.$/);
    expect(err(decode('vote_reply', [{ ...base, term: 1, vote: 'x' }]))).toMatch(/Parsing raft vote_reply RPC failed: vote is not a valid UUID$/);
    expect(err(decode('vote_reply', [{ ...base, from: 'nope', term: 1, vote: J }]))).toMatch(/from is not a valid UUID$/);
    const reply = { ...base, term: 1, log_end: 1, prev_log_index: 1, prev_log_term: 1, n_entries: 0, result: 'meh' };
    expect(err(decode('append_reply', [reply]))).toBe(`syntax "${esc(reply)}": syntax error: Parsing raft append_reply RPC failed: unknown result "meh"`);
    expect(err(decode('execute_command_reply', [{ ...base, result: R1, status: 'fine' }]))).toMatch(/unknown status "fine"$/);
    expect(err(decode('execute_command_request', [{ ...base, data: 'x', prereq: E1, result: R1 }]))).toMatch(/Type mismatch for member 'data'\.$/);
    expect(err(decode('add_server_reply', [{ ...base, success: 'yes' }]))).toMatch(/Type mismatch for member 'success'\.$/);
  });

  it('log entries: data and eid together, valid servers', () => {
    expect(err(decode('append_request', [{ ...append, log: [{ term: 1, data: [null, null] }] }]))).toBe(
      'syntax "{"data":[null,null],"term":1}": syntax error: Parsing raft log entry failed: Required \'eid\' member is missing.',
    );
    expect(err(decode('append_request', [{ ...append, log: [{ term: 1, eid: E1 }] }]))).toMatch(/Parsing raft log entry failed: Member 'eid' is present but not allowed here\.$/);
    expect(err(decode('append_request', [{ ...append, log: [{ term: 1, data: 5, eid: E1 }] }]))).toMatch(/Type mismatch for member 'data'\.$/);
    expect(err(decode('append_request', [{ ...append, log: [{ term: 1, servers: {} }] }]))).toBe('syntax "{}": syntax error: must have at least one server');
    expect(err(decode('append_request', [{ ...append, log: [{ term: 1, servers: { x: 'unix:a' } }] }]))).toBe('syntax "{"x":"unix:a"}": syntax error: x is not a UUID');
    expect(err(decode('append_request', [{ ...append, log: [{ term: 1, servers: { [J]: 5 } }] }]))).toBe('syntax "5": syntax error: server address is not string');
    expect(err(decode('append_request', [{ ...append, log: [{ term: 'x' }] }]))).toMatch(/Parsing raft log entry failed: Type mismatch for member 'term'\.$/);
  });

  it('server maps and address lists', () => {
    const isr = { ...base, term: 1, last_index: 1, last_term: 1, last_eid: E1, election_timer: 1000, data: [], last_servers: { [J]: 'foo:1' } };
    expect(err(decode('install_snapshot_request', [isr]))).toBe('ovsdb error: foo:1: expected "tcp" or "ssl" address');
    expect(err(decode('install_snapshot_request', [{ ...isr, last_servers: { [J]: 'tcp:1.2.3.4' } }]))).toBe('ovsdb error: tcp:1.2.3.4: syntax error in address');
    const { last_servers: _s, ...noServers } = isr;
    expect(err(decode('install_snapshot_request', [noServers]))).toMatch(/Required 'last_servers' member is missing\.$/);
    expect(err(decode('add_server_reply', [{ ...base, success: true, remote_addresses: [] }]))).toBe('syntax "[]": syntax error: at least one remote address is required');
    expect(err(decode('add_server_reply', [{ ...base, success: true, remote_addresses: [5] }]))).toBe('syntax "5": syntax error: server address is not string');
  });

  it('cluster and destination checks, in the C order', () => {
    const ctx = { cid: C, sid: L };
    const wrong = { ...base, cluster: 'aaaa6d14-e6af-4ffe-831b-813b233d8be4', term: 1, vote: 'x' };
    expect(err(decode('vote_reply', [wrong], ctx))).toBe(`syntax "${esc(wrong)}": syntax error: Parsing raft vote_reply RPC failed: wrong cluster aaaa (expected d559)`);
    const misrouted = { ...base, to: 'bbbb0745-aa59-49a6-b1bb-f66a8eeec626', term: 1, vote: 'x' };
    expect(err(decode('vote_reply', [misrouted], ctx))).toMatch(/Parsing raft vote_reply RPC failed: misrouted message \(addressed to bbbb but we're fd73\)$/);
    // A joining server without --cid learns the cid from the first message carrying it.
    const learned = decode('append_request', [append], { cid: null, sid: L });
    expect(learned.ok && learned.learnedCid).toBe(C);
    expect(decode('append_request', [append], ctx)).toMatchObject({ ok: true });
    expect(decode('append_request', [append], ctx)).not.toHaveProperty('learnedCid');
  });
});

function esc(v: JsonValue): string {
  return stringifySorted(v);
}
