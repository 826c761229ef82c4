// The clustered file format (raft.md §1.2–1.7): parsing and writing records byte for byte as the C server
// does, and replaying them with the C server's rules and error texts.
import { describe, expect, it } from 'vitest';
import { parseJson, stringifySorted, type JsonValue } from '../../schema/json.ts';
import { MAGIC_CLUSTERED } from '../../storage/log-header.ts';
import { encodeRecordAs } from '../../storage/log.ts';
import { clusterSchema } from '../../raft/cluster-schema.ts';
import {
  createClusterHeader,
  headerText,
  parseHeader,
  parseRecord,
  recordText,
  replayLog,
  snapshotFileTexts,
  termRecordText,
} from '../../raft/log.ts';
import type { MemberHeader } from '../../raft/types.ts';

/** A single-member cluster written by the C ovsdb-server 3.1 (4 transactions, an election-timer change, a restart). */
const S1_RECORDS: string[] = [
  "{\"prev_eid\":\"1c75c70a-9783-476c-847a-34ea5d826d5e\",\"cluster_id\":\"5a5d6d14-e6af-4ffe-831b-813b233d8be4\",\"name\":\"Ex\",\"prev_term\":1,\"prev_data\":[{\"name\":\"Ex\",\"tables\":{\"T\":{\"columns\":{\"e\":{\"type\":\"string\"},\"n\":{\"type\":\"integer\"},\"name\":{\"type\":\"string\"}},\"isRoot\":true},\"U\":{\"columns\":{\"x\":{\"type\":\"string\"},\"y\":{\"type\":\"integer\"}}}},\"version\":\"1.0.0\"},{}],\"prev_servers\":{\"650d0745-aa59-49a6-b1bb-f66a8eeec626\":\"unix:s1.raft\"},\"server_id\":\"650d0745-aa59-49a6-b1bb-f66a8eeec626\",\"prev_index\":1,\"local_address\":\"unix:s1.raft\"}",
  "{\"vote\":\"650d0745-aa59-49a6-b1bb-f66a8eeec626\",\"term\":1}",
  "{\"leader\":\"650d0745-aa59-49a6-b1bb-f66a8eeec626\",\"term\":1}",
  "{\"term\":1,\"index\":2}",
  "{\"commit_index\":2}",
  "{\"eid\":\"a7b658e9-e0ab-4b04-a361-4e3f97e96432\",\"data\":[null,{\"T\":{\"2a2f0b51-da4d-4f87-b2c0-c9e428052fbd\":{\"n\":1,\"name\":\"one\"}},\"_comment\":\"first\",\"_date\":1796217570145,\"_is_diff\":true}],\"term\":1,\"index\":3}",
  "{\"commit_index\":3}",
  "{\"eid\":\"7231b318-06eb-4599-a389-2b5afd2f910e\",\"data\":[null,{\"T\":{\"2a2f0b51-da4d-4f87-b2c0-c9e428052fbd\":{\"e\":\"eph\",\"n\":2}},\"_date\":1796217570157,\"_is_diff\":true}],\"term\":1,\"index\":4}",
  "{\"commit_index\":4}",
  "{\"eid\":\"e5991694-9a51-476e-b6e6-4fe5305ab217\",\"data\":[null,{\"T\":{\"8911ecdb-5c23-4cd7-a18d-b363dc94c6b5\":{\"n\":3,\"name\":\"two\"}},\"_date\":1796217570187,\"_is_diff\":true}],\"term\":1,\"index\":5}",
  "{\"commit_index\":5}",
  "{\"eid\":\"7826fc7f-7c8d-4552-9313-0ae702022af1\",\"data\":[null,{\"T\":{\"8911ecdb-5c23-4cd7-a18d-b363dc94c6b5\":null},\"_date\":1796217570201,\"_is_diff\":true}],\"term\":1,\"index\":6}",
  "{\"commit_index\":6}",
  "{\"election_timer\":1800,\"term\":1,\"index\":7}",
  "{\"commit_index\":7}",
  "{\"vote\":\"650d0745-aa59-49a6-b1bb-f66a8eeec626\",\"term\":2}",
  "{\"leader\":\"650d0745-aa59-49a6-b1bb-f66a8eeec626\",\"term\":2}",
  "{\"term\":2,\"index\":8}",
  "{\"commit_index\":8}",
];

const SID1 = '650d0745-aa59-49a6-b1bb-f66a8eeec626';

/** Records quoted in raft.md §1.7 and §1.10, with their lengths and SHA-1s as the C programs wrote them. */
const QUOTED: [text: string, header: string][] = [
  [
    '{"prev_eid":"f047e018-d12f-4bc3-bd74-3f987c9797cc","cluster_id":"64d870fe-f75e-4a9b-9b3f-c1129145e465","name":"Ex","prev_term":1,"prev_data":[{"name":"Ex","tables":{"T":{"columns":{"e":{"type":"string"},"n":{"type":"integer"},"name":{"type":"string"}}}},"version":"1.0.0"},{}],"prev_servers":{"54ece372-3ff4-4be9-8c01-13c0596566b6":"tcp:127.0.0.1:16641"},"server_id":"54ece372-3ff4-4be9-8c01-13c0596566b6","prev_index":1,"local_address":"tcp:127.0.0.1:16641"}',
    'OVSDB CLUSTER 460 08a2e4c938d33f4212f8c92f6d693b26f2d256b3',
  ],
  ['{"election_timer":2000,"term":1,"index":2}', 'OVSDB CLUSTER 43 cc99dc7313b28fda7e94e23ef5484d8be8252566'],
  [
    '{"name":"Ex","remote_addresses":["tcp:127.0.0.1:16641"],"server_id":"430c084e-5ea5-4336-b323-1b2d73aa3f33","local_address":"tcp:127.0.0.1:16642"}',
    'OVSDB CLUSTER 146 7176c9d06a7c45351726fc8c70c99d5d563580c0',
  ],
  [
    '{"prev_eid":"1d978e50-1160-4a3a-89e0-02943f1173f4","cluster_id":"98288a79-fc97-4462-b87c-ae781f265b00","name":"Ex","prev_term":1,"prev_data":[{"name":"Ex","tables":{"T":{"columns":{"extra":{"type":{"key":"integer","min":0}},"n":{"type":"integer"},"name":{"type":"string"}}}},"version":"1.1.0"},{"T":{"4c5e3428-f3ea-4406-bab8-66175b3e56ea":{"n":1,"name":"one"},"cd698c51-0d6b-4f65-acdf-909da0909a19":{"n":5,"name":"viarelay"}},"_comment":"compacting database online","_date":1796197214244,"_is_diff":true}],"prev_election_timer":1000,"prev_servers":{"41db1bd8-13ff-4c03-b7f6-3c0905e08ded":"unix:s2.raft","28956b41-73eb-4237-9274-dab8bd42fc7b":"unix:s1.raft","ec90cedb-4f86-4885-ad62-52e8e07b7121":"unix:s3.raft"},"server_id":"28956b41-73eb-4237-9274-dab8bd42fc7b","prev_index":7,"local_address":"unix:s1.raft"}',
    'OVSDB CLUSTER 810 1e5afd2ece5162d7e3b20a7f3f3dcffa79278f39',
  ],
  ['{"vote":"28956b41-73eb-4237-9274-dab8bd42fc7b","term":1}', 'OVSDB CLUSTER 57 c166090aeba9770d6fc5331c8649aeaca54713f4'],
  [
    '{"prev_eid":"12f7e44c-389f-4d4d-b87f-a63b41b0902c","cluster_id":"8a58248c-a749-4f1b-bc4d-47ecfdfdc9f1","name":"Ex","prev_term":1,"prev_data":[{"name":"Ex","tables":{"T":{"columns":{"e":{"type":"string"},"n":{"type":"integer"},"name":{"type":"string"}}}},"version":"1.0.0"},{}],"prev_election_timer":1000,"prev_servers":{"9ea044bd-f0cf-4543-8146-37e9d2fbed13":"tcp:127.0.0.1:16641"},"server_id":"430c084e-5ea5-4336-b323-1b2d73aa3f33","prev_index":1,"local_address":"tcp:127.0.0.1:16642"}',
    'OVSDB CLUSTER 487 33ca85ff6b674ab63d12ddcb674a68ee22c29ed3',
  ],
  ['{"servers":{"9ea044bd-f0cf-4543-8146-37e9d2fbed13":"tcp:127.0.0.1:16641","430c084e-5ea5-4336-b323-1b2d73aa3f33":"tcp:127.0.0.1:16642"},"term":1,"index":5}', 'OVSDB CLUSTER 155 aa92f6ff120ba66dd1428c47bc332bf133771e1c'],
  ['{"comment":"transferring leadership to 430c because this server is shutting down","note":"transfer leadership"}', 'OVSDB CLUSTER 112 b1b42f700345123ae01cb83096e779f87c038e99'],
  ['{"term":2}', 'OVSDB CLUSTER 11 db343f7def6f60db6b1f08de5739a4c39e9b8bc7'],
  ['{"leader":"430c084e-5ea5-4336-b323-1b2d73aa3f33","term":2}', 'OVSDB CLUSTER 59 e6b80632ebf6e17648080b9460a15868d30b90a1'],
  [
    '{"eid":"2454dca1-44df-47d1-9926-40276cdd9902","data":[null,{"T":{"ff7492b1-52c5-48ac-bb30-4771f223b127":{"n":1,"name":"one"}},"_comment":"first","_date":1796197055017,"_is_diff":true}],"term":1,"index":3}',
    'OVSDB CLUSTER 205 370532637cb8709b7cd0f933f368d5adf5ced430',
  ],
];

function reframe(text: string): string {
  return encodeRecordAs(text, MAGIC_CLUSTERED).toString('utf8').split('\n')[0]!;
}

describe('records as the C server writes them', () => {
  // A header without prev_election_timer (only create-cluster writes one) is read as 1000 ms, and written
  // back with it, as the C server does when it rewrites the file.
  const withTimer = (text: string) => (text.includes('prev_election_timer') || !text.includes('prev_index') ? text : text.replace('"prev_data":', '"prev_election_timer":1000,"prev_data":'));
  const reorder = (text: string) => headerText(parseHeader(parseJson(text)));

  it('every quoted record parses and is rewritten byte for byte (same length and SHA-1)', () => {
    for (const [text, header] of QUOTED) {
      expect(reframe(text)).toBe(header);
      const json = parseJson(text);
      const isHeader = text.includes('"server_id"');
      const again = isHeader ? headerText(parseHeader(json)) : recordText(parseRecord(json));
      expect(again).toBe(isHeader ? reorder(withTimer(text)) : text);
      if (isHeader && text.includes('prev_election_timer')) expect(again).toBe(text);
    }
  });

  it('a whole file from ovsdb-server round-trips', () => {
    const h = headerText(parseHeader(parseJson(S1_RECORDS[0]!)));
    expect(h).toBe(S1_RECORDS[0]!.replace('"prev_data":', '"prev_election_timer":1000,"prev_data":').replace(/^(.*)$/, (t) => reorder(t)));
    for (const text of S1_RECORDS.slice(1)) expect(recordText(parseRecord(parseJson(text)))).toBe(text);
  });

  it('create-cluster header: no prev_election_timer, cluster_id always, data with sorted members', () => {
    const h = createClusterHeader({
      sid: '54ece372-3ff4-4be9-8c01-13c0596566b6',
      cid: '64d870fe-f75e-4a9b-9b3f-c1129145e465',
      eid: 'f047e018-d12f-4bc3-bd74-3f987c9797cc',
      name: 'Ex',
      localAddress: 'tcp:127.0.0.1:16641',
      data: [{ name: 'Ex', version: '1.0.0', tables: { T: { columns: { name: { type: 'string' }, n: { type: 'integer' }, e: { type: 'string' } } } } }, {}],
    });
    expect(headerText(h)).toBe(QUOTED[0]![0]);
  });

  it('term and vote records, and the files a snapshot writes (§1.7)', () => {
    expect(termRecordText(3, null)).toBe('{"term":3}');
    expect(termRecordText(1, '28956b41-73eb-4237-9274-dab8bd42fc7b')).toBe(QUOTED[4]![0]);
    const header = parseHeader(parseJson(QUOTED[3]![0])) as MemberHeader;
    expect(snapshotFileTexts({ header, entries: [], term: 1, vote: '28956b41-73eb-4237-9274-dab8bd42fc7b', commitIndex: 7 })).toEqual([QUOTED[3]![0], QUOTED[4]![0]]);
    const texts = snapshotFileTexts({ header, entries: [{ term: 1 }, { term: 2, electionTimer: 1500 }], term: 2, vote: null, commitIndex: 8 });
    expect(texts.slice(1)).toEqual(['{"term":1,"index":8}', '{"election_timer":1500,"term":2,"index":9}', '{"term":2}', '{"commit_index":8}']);
  });
});

const A = 'aaaaaaaa-0000-4000-8000-000000000001';
const B = 'bbbbbbbb-0000-4000-8000-000000000002';
const CID = 'cccccccc-0000-4000-8000-000000000003';
const EID = 'eeeeeeee-0000-4000-8000-000000000004';
const SCHEMA = { name: 'Ex', version: '1.0.0', tables: { T: { columns: { name: { type: 'string' } } } } };
const HEADER = headerText(createClusterHeader({ sid: A, cid: CID, eid: EID, name: 'Ex', localAddress: 'unix:a', data: [SCHEMA, {}] }));

function header(extra: Record<string, JsonValue>, drop: string[] = []): JsonValue {
  const h = JSON.parse(HEADER) as Record<string, JsonValue>;
  for (const d of drop) delete h[d];
  return { ...h, ...extra };
}

function parseErr(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return (e as { render(): string }).render();
  }
  return 'no error';
}

describe('record 0', () => {
  it('member and joining headers', () => {
    const m = parseHeader(parseJson(HEADER));
    expect(m).toMatchObject({ kind: 'member', sid: A, cid: CID, name: 'Ex', localAddress: 'unix:a', snapshot: { index: 1, term: 1, eid: EID, electionTimer: 1000 } });
    const j = parseHeader(parseJson(QUOTED[2]![0]));
    expect(j).toEqual({ kind: 'joining', sid: '430c084e-5ea5-4336-b323-1b2d73aa3f33', name: 'Ex', localAddress: 'tcp:127.0.0.1:16642', remoteAddresses: ['tcp:127.0.0.1:16641'] });
    // The local address is dropped from the remotes; a joining header may carry the cid.
    const j2 = parseHeader({ server_id: B, name: 'Ex', local_address: 'unix:b', remote_addresses: ['unix:a', 'unix:b'], cluster_id: CID });
    expect(j2).toMatchObject({ kind: 'joining', remoteAddresses: ['unix:a'], cid: CID });
    // A member header without prev_index has an empty snapshot.
    const bare = parseHeader(header({}, ['prev_index', 'prev_term', 'prev_data', 'prev_eid']));
    expect(bare).toMatchObject({ kind: 'member', snapshot: { index: 0, term: 0, data: null } });
  });

  it('errors', () => {
    const syn = (j: JsonValue, rest: string) => `syntax "${stringifySorted(j)}": syntax error: Parsing raft header failed: ${rest}`;
    let j = header({}, ['server_id']);
    expect(parseErr(() => parseHeader(j))).toBe(syn(j, "Required 'server_id' member is missing."));
    j = header({}, ['cluster_id']);
    expect(parseErr(() => parseHeader(j))).toBe(syn(j, "Required 'cluster_id' member is missing."));
    j = header({}, ['prev_data']);
    expect(parseErr(() => parseHeader(j))).toBe(syn(j, "Required 'prev_data' member is missing."));
    j = header({ prev_index: 0 });
    expect(parseErr(() => parseHeader(j))).toMatch(/Member 'prev_\w+' and 2 other members are present but not allowed here\.$/);
    j = header({ remote: 1 });
    expect(parseErr(() => parseHeader(j))).toBe(syn(j, "Member 'remote' is present but not allowed here."));
    j = header({ prev_servers: {} });
    expect(parseErr(() => parseHeader(j))).toBe('syntax "{}": syntax error: must have at least one server');
    j = { server_id: B, name: 'Ex', local_address: 'unix:b', remote_addresses: ['unix:b'] };
    expect(parseErr(() => parseHeader(j))).toBe(syn(j, 'at least one remote address (other than the local address) is required'));
    j = { server_id: B, name: 'Ex', local_address: 'unix:b', remote_addresses: [] };
    expect(parseErr(() => parseHeader(j))).toBe('syntax "[]": syntax error: at least one remote address is required');
    j = { server_id: B, name: 'Ex', local_address: 'unix:b', remote_addresses: ['x:1'] };
    expect(parseErr(() => parseHeader(j))).toBe('ovsdb error: x:1: expected "tcp" or "ssl" address');
    expect(parseErr(() => parseHeader([1]))).toBe('syntax error: Parsing raft header failed: Object expected.');
    j = header({ server_id: 'nope' });
    expect(parseErr(() => parseHeader(j))).toBe(syn(j, 'server_id is not a valid UUID'));
  });
});

describe('records 1..n: classified in the order of §1.3', () => {
  const cls = (j: JsonValue) => parseRecord(j).type;
  it('note, commit index, leader, vote, entry, term', () => {
    expect(cls({ note: 'left', comment: 'x' })).toBe('note');
    expect(cls({ commit_index: 3 })).toBe('commit_index');
    expect(cls({ commit_index: 0, term: 2 })).toBe('term'); // zero is "absent"
    expect(cls({ term: 2, leader: A })).toBe('leader');
    expect(cls({ term: 2, vote: A })).toBe('vote');
    expect(cls({ term: 2, index: 3 })).toBe('entry');
    expect(cls({ term: 2, index: 0 })).toBe('term');
    expect(cls({ term: 2 })).toBe('term');
    expect(parseRecord({ term: 2, index: 3, data: [null, {}], eid: EID, servers: { [A]: 'unix:a' }, election_timer: 2000, comment: 'c' })).toEqual({
      type: 'entry',
      term: 2,
      index: 3,
      comment: 'c',
      entry: { term: 2, data: [null, {}], eid: EID, servers: new Map([[A, 'unix:a']]), electionTimer: 2000 },
    });
  });

  it('errors', () => {
    const syn = (j: JsonValue, rest: string) => `syntax "${stringifySorted(j)}": syntax error: Parsing raft log record failed: ${rest}`;
    const cases: [JsonValue, string][] = [
      [{ note: 'left', term: 2 }, "Member 'term' is present but not allowed here."],
      [{ commit_index: 2, term: 2 }, "Member 'term' is present but not allowed here."],
      [{ index: 2 }, "Required 'term' member is missing."],
      [{ term: 1, leader: '00000000-0000-0000-0000-000000000000' }, 'record says leader is all-zeros SID'],
      [{ term: 1, vote: '00000000-0000-0000-0000-000000000000' }, 'record votes for all-zeros SID'],
      [{ term: 1, leader: A, vote: A }, "Member 'vote' is present but not allowed here."],
      [{ term: 1, vote: 'x' }, 'vote is not a valid UUID'],
      [{ term: 1, index: 2, data: [null, {}] }, "Required 'eid' member is missing."],
      [{ term: 1, index: 2, eid: EID }, "Member 'eid' is present but not allowed here."],
      [{ term: 1, index: 2, data: 'x', eid: EID }, "Type mismatch for member 'data'."],
      [{ term: 1, data: [null, {}], eid: EID }, "Member 'eid' and 1 other member are present but not allowed here."],
      [{ term: -1.5 }, "Type mismatch for member 'term'."],
      [{ term: 1, bogus: true }, "Member 'bogus' is present but not allowed here."],
      [{ comment: 5, term: 1 }, "Type mismatch for member 'comment'."],
    ];
    for (const [j, rest] of cases) expect(parseErr(() => parseRecord(j))).toBe(syn(j, rest));
    expect(parseErr(() => parseRecord({ term: 1, index: 2, servers: { [A]: 'tcp:x' } }))).toBe('ovsdb error: tcp:x: syntax error in address');
  });
});

describe('replay (§1.3)', () => {
  const replay = (recs: JsonValue[], opts = {}) => replayLog([parseJson(HEADER), ...recs], opts);
  const replayErr = (recs: JsonValue[]) => parseErr(() => replay(recs));
  const entry = (term: number, index: number, extra: Record<string, JsonValue> = {}) => ({ term, index, ...extra });

  it('the file ovsdb-server wrote', () => {
    const s = replayLog(S1_RECORDS.map((t) => parseJson(t)));
    expect(s.header.sid).toBe(SID1);
    expect(s.snapshot.index).toBe(1);
    expect(s.entries.map((e) => e.term)).toEqual([1, 1, 1, 1, 1, 1, 2]);
    expect(s.entries[1]!.eid).toBe('a7b658e9-e0ab-4b04-a361-4e3f97e96432');
    expect([s.term, s.vote, s.commitIndex, s.left]).toEqual([2, SID1, 8, false]);
    expect(s.electionTimer).toBe(1800);
    expect([...s.servers!]).toEqual([[SID1, 'unix:s1.raft']]);
  });

  it('terms, votes, truncation, commit index, configuration, election timer', () => {
    const s = replay([
      { term: 1, vote: A },
      entry(1, 2),
      entry(1, 3, { data: [null, {}], eid: EID }),
      { commit_index: 2 },
      { term: 2 }, // a higher term clears the vote
      entry(2, 3, { servers: { [A]: 'unix:a', [B]: 'unix:b' } }), // truncates index 3
      entry(2, 4, { election_timer: 3000 }),
      { term: 2, leader: B },
      { commit_index: 3 },
    ]);
    expect(s.entries).toEqual([{ term: 1 }, { term: 2, servers: new Map([[A, 'unix:a'], [B, 'unix:b']]) }, { term: 2, electionTimer: 3000 }]);
    expect([s.term, s.vote, s.commitIndex]).toEqual([2, null, 3]);
    expect([...s.servers!.keys()]).toEqual([A, B]);
    expect(s.electionTimer).toBe(1000); // index 4 is not committed
    expect(replay([entry(1, 2, { election_timer: 3000 }), { commit_index: 2 }]).electionTimer).toBe(3000);
    // A vote repeated in the same term is fine; a vote record raises the term.
    expect(replay([{ term: 3, vote: B }, { term: 3, vote: B }])).toMatchObject({ term: 3, vote: B });
  });

  it('errors, wrapped with the record number and the database name', () => {
    const pre = (n: number) => `ovsdb error: error reading record ${n} from Ex log: `;
    expect(replayErr([entry(1, 3)])).toBe(pre(1) + 'record 1 with index 3 skips past expected index 2');
    expect(replayErr([entry(1, 2), entry(1, 3), { commit_index: 3 }, entry(1, 2)])).toBe(
      pre(4) + 'record 4 attempts to truncate log from 4 to 2 entries, but commit index is already 3',
    );
    expect(replayErr([entry(2, 2), entry(1, 3)])).toBe(pre(2) + "record 2 with index 3 term 1 precedes previous entry's term 2");
    expect(replayErr([{ term: 2 }, { term: 1, vote: A }])).toBe(pre(2) + 'record 2 votes for term 1 but current term is 2');
    // (sic) the earlier vote is named first.
    expect(replayErr([{ term: 1, vote: A }, { term: 1, vote: B }])).toBe(pre(2) + 'record 2 votes for aaaa in term 1 but a previous record for the same term voted for bbbb');
    expect(replayErr([entry(1, 2), entry(1, 3), { commit_index: 3 }, { commit_index: 2 }])).toBe(pre(4) + 'record 4 regresses commit index from 3 to 2');
    expect(replayErr([entry(1, 2), { commit_index: 3 }])).toBe(pre(2) + 'record 2 advances commit index to 3 but last log index is 2');
    expect(replayErr([{ comment: 'this server left the cluster', note: 'left' }])).toBe(
      pre(1) + 'record 1 indicates server has left the cluster; it cannot be added back (use "ovsdb-tool join-cluster" to add a new server)',
    );
    const bad = { term: 1, index: 2, x: 1 };
    expect(replayErr([bad])).toBe(`syntax "${stringifySorted(bad)}": syntax error: ${'error reading record 1 from Ex log: '}Parsing raft log record failed: Member 'x' is present but not allowed here.`);
    // The server must be in its configuration.
    expect(replayErr([entry(1, 2, { servers: { [B]: 'unix:b' } })])).toBe('ovsdb error: server does not belong to cluster');
    // Tools may read past a "left" note.
    expect(replay([{ note: 'left' }], { allowLeft: true }).left).toBe(true);
  });

  it('a joining file replays to an empty state (nothing after the header is read)', () => {
    const s = replayLog([parseJson(QUOTED[2]![0]), { term: 5 }]);
    expect(s).toMatchObject({ term: 0, vote: null, commitIndex: 0, entries: [], snapshot: { index: 0 } });
  });
});

describe('cluster-ready schemas (§1.5)', () => {
  it('turns ephemeral columns persistent and names the one ovsdb-tool names', () => {
    const src = parseJson(
      '{"name": "Ex", "version": "1.0.0", "tables": {"T": {"columns": {"name": {"type": "string"}, "n": {"type": "integer"}, "e": {"type": "string", "ephemeral": true}}, "isRoot": true}, "U": {"columns": {"x": {"type": "string", "ephemeral": true}, "y": {"type": "integer", "ephemeral": true}}}}}',
    );
    const cs = clusterSchema(src, 'ex.ovsschema');
    expect(cs.changed).toBe(3);
    expect(cs.warning).toBe(
      "ex.ovsschema: changed 3 columns in 'Ex' database from ephemeral to persistent, including 'e' column in 'T' table, because clusters do not support ephemeral columns",
    );
    expect(stringifySorted(cs.json)).toBe(
      '{"name":"Ex","tables":{"T":{"columns":{"e":{"type":"string"},"n":{"type":"integer"},"name":{"type":"string"}},"isRoot":true},"U":{"columns":{"x":{"type":"string"},"y":{"type":"integer"}}}},"version":"1.0.0"}',
    );
    expect(clusterSchema(SCHEMA, 'x').warning).toBeNull();
  });
});
