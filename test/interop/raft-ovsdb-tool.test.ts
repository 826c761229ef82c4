// Clustered files with the real Debian ovsdb-tool and ovsdb-server 3.1 (raft.md §1):
// - `ovsdb-ts tool` and `ovsdb-tool` side by side on the same inputs: same stdout, stderr (log timestamps
//   aside), exit codes, and the same files (UUIDs and dates aside);
// - files the real tools and server write, read by raft/log.ts;
// - files raft/log.ts writes (entries, votes, commit indexes, a truncation), accepted by the real show-log,
//   check-cluster, db-* and cluster-to-standalone, and opened and continued by the real ovsdb-server.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTool } from '../../cli/tool.ts';
import { ClusterLog, createClusterHeader, replayLog } from '../../raft/log.ts';
import type { LogRecord, MemberHeader } from '../../raft/types.ts';
import { parseJson, type JsonValue } from '../../schema/json.ts';
import { FileStorage } from '../../storage/file.ts';
import { encodeRecordAs, RecordLog } from '../../storage/log.ts';
import { headerText, recordText } from '../../raft/log.ts';

const TOOL = '/usr/bin/ovsdb-tool';
const SERVER = '/usr/sbin/ovsdb-server';
const haveTool = fs.existsSync(TOOL);
const canUnshare = haveTool && spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true']).status === 0;
const ENV = { ...process.env, TZ: 'UTC' };

const EX_SCHEMA =
  '{"name": "Ex", "version": "1.0.0", "tables": {"T": {"columns": {"name": {"type": "string"}, "n": {"type": "integer"}, "e": {"type": "string", "ephemeral": true}}, "isRoot": true}, "U": {"columns": {"x": {"type": "string", "ephemeral": true}, "y": {"type": "integer", "ephemeral": true}}}}}\n';

let base: string;
let seq = 0;

/** A fresh directory holding a copy of the shared inputs. */
function freshDir(): string {
  const d = path.join(base, `case${++seq}`);
  fs.cpSync(path.join(base, 'in'), d, { recursive: true });
  return d;
}

interface Run {
  out: string;
  err: string;
  status: number | null;
}

function real(cwd: string, args: string[]): Run {
  const r = spawnSync(TOOL, args, { cwd, env: ENV, encoding: 'utf8' });
  return { out: r.stdout, err: r.stderr, status: r.status };
}

async function ours(cwd: string, args: string[]): Promise<Run> {
  let out = '';
  let err = '';
  const prev = process.cwd();
  process.chdir(cwd);
  try {
    const status = await runTool(args, { stdout: (t) => (out += t), stderr: (t) => (err += t) });
    return { out, err, status };
  } finally {
    process.chdir(prev);
  }
}

const UUID_RE = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
/** Log lines without their timestamp. */
const untimed = (s: string) => s.replace(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\|/gm, '');
/** A file's text with fresh ids and dates masked; record headers keep their length (same-length masks). */
const masked = (s: string) =>
  s
    .replace(UUID_RE, 'UUID')
    .replace(/"_date":\d+/g, '"_date":D')
    .replace(/^(OVSDB \w+ \d+) [0-9a-f]{40}$/gm, '$1 SHA1');

/** Runs ovsdb-tool and ours in two copies of the inputs; returns both results and the two directories. */
async function both(args: string[]): Promise<{ r: Run; o: Run; rd: string; od: string }> {
  const rd = freshDir();
  const od = freshDir();
  const r = real(rd, args);
  const o = await ours(od, args);
  return { r, o, rd, od };
}

/** Same stdout, same stderr (timestamps aside), same exit code; and the same files, if any were named. */
async function same(args: string[], files: string[] = [], opts: { maskIds?: boolean } = {}): Promise<Run> {
  const { r, o, rd, od } = await both(args);
  const m = opts.maskIds ? (s: string) => s.replace(UUID_RE, 'UUID').replace(/\b[0-9a-f]{4}\b/g, 'XXXX') : (s: string) => s;
  expect({ status: o.status, out: m(o.out), err: m(untimed(o.err)) }).toEqual({ status: r.status, out: m(r.out), err: m(untimed(r.err)) });
  for (const f of files) {
    const rf = path.join(rd, f);
    const of = path.join(od, f);
    expect(fs.existsSync(of)).toBe(fs.existsSync(rf));
    if (fs.existsSync(rf)) {
      expect(masked(fs.readFileSync(of, 'utf8'))).toBe(masked(fs.readFileSync(rf, 'utf8')));
      expect(fs.statSync(of).mode & 0o777).toBe(fs.statSync(rf).mode & 0o777);
    }
  }
  return r;
}

// ---------------------------------------------------------------------------------------------------------
// A file written by raft/log.ts: a single member A that was leader in term 1 (entries 2–4, 4 uncommitted),
// then learned of term 2 and leader B, whose entry 4 replaced ours (a truncation), and committed it.

const A = 'aaaaaaaa-1111-4111-8111-000000000001';
const B = 'bbbbbbbb-2222-4222-8222-000000000002';
const CID = 'cccccccc-3333-4333-8333-000000000003';
const EIDS = ['e0000000-0000-4000-8000-000000000000', 'e1111111-1111-4111-8111-111111111111', 'e2222222-2222-4222-8222-222222222222', 'e3333333-3333-4333-8333-333333333333'];
const ROW = (n: number) => `0000000${n}-aaaa-4aaa-8aaa-00000000000${n}`;

function insert(name: string, n: number, date: number): JsonValue {
  return [null, { T: { [ROW(n)]: { name, n } }, _date: date, _is_diff: true, ...(n === 1 ? { _comment: 'first' } : {}) }];
}

function ourHeader(localAddress: string): MemberHeader {
  const schema = parseJson(EX_SCHEMA) as Record<string, JsonValue>;
  // The cluster form of the schema (ephemeral columns persistent).
  const tables = JSON.parse(JSON.stringify(schema.tables).replaceAll(',"ephemeral":true', '').replaceAll(', "ephemeral": true', '')) as JsonValue;
  return createClusterHeader({ sid: A, cid: CID, eid: EIDS[0]!, name: 'Ex', localAddress, data: [{ ...schema, tables }, {}] });
}

const OUR_RECORDS: LogRecord[] = [
  { type: 'vote', term: 1, vote: A },
  { type: 'leader', term: 1, leader: A },
  { type: 'entry', term: 1, index: 2, entry: { term: 1 } },
  { type: 'commit_index', commitIndex: 2 },
  { type: 'entry', term: 1, index: 3, entry: { term: 1, data: insert('one', 1, 1796200000000), eid: EIDS[1]! } },
  { type: 'commit_index', commitIndex: 3 },
  { type: 'entry', term: 1, index: 4, entry: { term: 1, data: insert('two', 2, 1796200000100), eid: EIDS[2]! } },
  { type: 'term', term: 2 },
  { type: 'leader', term: 2, leader: B },
  { type: 'entry', term: 2, index: 4, entry: { term: 2, data: insert('three', 3, 1796200000200), eid: EIDS[3]! } },
  { type: 'commit_index', commitIndex: 4 },
  { type: 'note', note: 'transfer leadership', comment: 'transferring leadership to bbbb because this server is shutting down' },
];

async function writeOurs(file: string, localAddress: string): Promise<void> {
  const log = ClusterLog.create(file, ourHeader(localAddress), [], { lock: false });
  await log.appendDurable(OUR_RECORDS.slice(0, 6));
  for (const r of OUR_RECORDS.slice(6)) log.append(r);
  await log.durable();
  await log.close();
}

// ---------------------------------------------------------------------------------------------------------
// Crafted files for check-cluster's and show-log's error paths: records as raw texts.

const CRAFT_SCHEMA = { name: 'Ex', version: '1.0.0', tables: { T: { columns: { name: { type: 'string' }, n: { type: 'integer' } } } } };

function craftHeader(sid: string, opts: { name?: string; cid?: string; servers?: [string, string][]; prevIndex?: number } = {}): string {
  const h = createClusterHeader({ sid, cid: opts.cid ?? CID, eid: EIDS[0]!, name: opts.name ?? 'Ex', localAddress: `unix:${sid.slice(0, 4)}.raft`, data: [CRAFT_SCHEMA, {}] });
  return headerText({ ...h, snapshot: { ...h.snapshot, servers: new Map(opts.servers ?? [[sid, `unix:${sid.slice(0, 4)}.raft`]]) } });
}

const R = (r: LogRecord) => recordText(r);
const E = (term: number, index: number, extra: Record<string, unknown> = {}): string => R({ type: 'entry', term, index, entry: { term, ...extra } });
const TXN = (n: number) => [null, { T: { [ROW(n)]: { name: `r${n}`, n } }, _date: 1796200000000 + n, _is_diff: true }] as JsonValue;

/** file name → [header, records…] (raw JSON texts). */
const CRAFTED: Record<string, string[]> = {
  'leaderA.db': [craftHeader(A), R({ type: 'vote', term: 1, vote: A }), R({ type: 'leader', term: 1, leader: A }), E(1, 2), E(1, 3, { data: TXN(1), eid: EIDS[1] }), R({ type: 'commit_index', commitIndex: 3 })],
  'leaderB1.db': [craftHeader(B), R({ type: 'leader', term: 1, leader: B }), E(1, 2)],
  'followerB.db': [craftHeader(B), R({ type: 'leader', term: 1, leader: A }), E(1, 2), E(1, 3, { data: TXN(2), eid: EIDS[2] })],
  'twoleaders.db': [craftHeader(B), R({ type: 'leader', term: 1, leader: A }), R({ type: 'leader', term: 1, leader: B })],
  'selftrunc.db': [craftHeader(A), R({ type: 'leader', term: 1, leader: A }), E(1, 2), E(1, 3), E(1, 2)],
  'behind.db': [craftHeader(B), R({ type: 'term', term: 2 }), R({ type: 'leader', term: 2, leader: B }), E(2, 2)],
  'named.db': [craftHeader(B, { name: 'Other' }), E(1, 2)],
  'stranger.db': [craftHeader(A, { servers: [[B, 'unix:b']] }), E(1, 2)],
  'joined.db': [craftHeader(A, { servers: [[B, 'unix:b']] }), E(1, 2, { servers: new Map([[A, 'unix:a'], [B, 'unix:b']]) })],
  'skip.db': [craftHeader(A), E(1, 3)],
  'pastcommit.db': [craftHeader(A), E(1, 2), E(1, 3), R({ type: 'commit_index', commitIndex: 3 }), E(1, 2)],
  'oldterm.db': [craftHeader(A), E(2, 2), E(1, 3)],
  'oldvote.db': [craftHeader(A), R({ type: 'term', term: 3 }), R({ type: 'vote', term: 2, vote: A })],
  'twovotes.db': [craftHeader(A), R({ type: 'vote', term: 1, vote: A }), R({ type: 'vote', term: 1, vote: B })],
  'regress.db': [craftHeader(A), E(1, 2), E(1, 3), R({ type: 'commit_index', commitIndex: 3 }), R({ type: 'commit_index', commitIndex: 2 })],
  'beyond.db': [craftHeader(A), E(1, 2), R({ type: 'commit_index', commitIndex: 3 })],
  'left.db': [craftHeader(A), E(1, 2), R({ type: 'note', note: 'left', comment: 'this server left the cluster' })],
  'badrecords.db': [
    craftHeader(A),
    '{"term":1,"bogus":1}',
    // (Entry data that is an object rather than an array makes ovsdb-tool 3.1 abort; ours prints ***invalid data***.)
    '{"term":1,"index":3,"data":[1,2,3],"eid":"e1111111-1111-4111-8111-111111111111"}',
    '{"term":1,"vote":"00000000-0000-0000-0000-000000000000"}',
    '{"note":"something else","comment":""}',
    '{"term":1,"index":4,"servers":{"nope":"unix:x"}}',
    '{"commit_index":0}',
    '{"term":1,"index":5,"data":[null,{"T":{"01234567-aaaa-4aaa-8aaa-000000000009":null}}],"eid":"e1111111-1111-4111-8111-111111111111"}',
  ],
  'badheader.db': ['{"server_id":"x","name":"Ex","local_address":"unix:a"}', '{"term":1}'],
  'badschema.db': [craftHeader(A), '{"term":1,"index":2,"data":[{"name":"Ex"},{}],"eid":"e1111111-1111-4111-8111-111111111111"}', '{"term":1}'],
};

function writeRaw(file: string, texts: string[]): void {
  fs.writeFileSync(file, Buffer.concat(texts.map((t) => encodeRecordAs(t, 'CLUSTER'))));
}

beforeAll(async () => {
  if (!haveTool) return;
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'ovsdb-ts-raft-tool-'));
  const inDir = path.join(base, 'in');
  fs.mkdirSync(inDir);
  const w = (f: string, t: string) => fs.writeFileSync(path.join(inDir, f), t);
  w('ex.ovsschema', EX_SCHEMA);
  w('plain.ovsschema', '{"name":"P","tables":{"A":{"columns":{"s":{"type":"string"}}},"B":{"columns":{"t":{"type":"string"}}}}}');
  w('empty.db', '');
  w('garbage.db', 'not a database\n');
  const tool = (...args: string[]) => {
    const r = spawnSync(TOOL, args, { cwd: inDir, env: ENV, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ovsdb-tool ${args.join(' ')}: ${r.stderr}`);
  };
  tool('create', 's.db', 'ex.ovsschema');
  tool('transact', 's.db', '["Ex",{"op":"insert","table":"T","row":{"name":"a","n":1,"e":"x"}},{"op":"comment","comment":"one row"}]');
  tool('transact', 's.db', '["Ex",{"op":"insert","table":"T","row":{"name":"b","n":2}},{"op":"update","table":"T","where":[["name","==","a"]],"row":{"n":5}}]');
  tool('create-cluster', 'c.db', 'ex.ovsschema', 'unix:c.raft');
  tool('--election-timer=2000', 'create-cluster', 'ce.db', 'ex.ovsschema', 'tcp:127.0.0.1:6641');
  tool('create-cluster', 'cs.db', 's.db', 'unix:cs.raft');
  tool('join-cluster', 'j.db', 'Ex', 'tcp:127.0.0.1:2', 'tcp:127.0.0.1:3', 'tcp:127.0.0.1:1', 'unix:zz');
  tool('--cid=3e5a1f5e-0000-4000-8000-00000000000a', 'join-cluster', 'jc.db', 'Ex', 'unix:j', 'unix:c.raft');
  await writeOurs(path.join(inDir, 'ours.db'), 'unix:ours.raft');
  for (const [f, texts] of Object.entries(CRAFTED)) writeRaw(path.join(inDir, f), texts);
  // A torn tail: the last record cut short.
  const ours = fs.readFileSync(path.join(inDir, 'ours.db'));
  fs.writeFileSync(path.join(inDir, 'torn.db'), ours.subarray(0, ours.length - 7));
});

afterAll(() => {
  if (base) fs.rmSync(base, { recursive: true, force: true });
});

describe.skipIf(!haveTool)('ovsdb-ts tool next to ovsdb-tool', () => {
  it('create-cluster from a schema or a database, with --election-timer; the address checks', async () => {
    await same(['create-cluster', 'new.db', 'ex.ovsschema', 'tcp:127.0.0.1:6641'], ['new.db']);
    await same(['create-cluster', 'new.db', 'plain.ovsschema', 'unix:p.raft'], ['new.db']);
    await same(['create-cluster', 'new.db', 's.db', 'unix:s.raft'], ['new.db']);
    await same(['--election-timer=2000', 'create-cluster', 'new.db', 'ex.ovsschema', 'unix:x'], ['new.db']);
    await same(['create-cluster', '--election-timer', '600000', 'new.db', 'ex.ovsschema', 'unix:x'], ['new.db']);
    for (const bad of ['127.0.0.1:1', 'tcp:127.0.0.1', 'tcp:1.2.3.4:99999', 'tcp:[::g]:5', 'tcp:::1:5', 'ssl:h']) {
      await same(['create-cluster', 'new.db', 'ex.ovsschema', bad], ['new.db']);
    }
    for (const fine of ['tcp::5', 'tcp:[::1]:6', 'ssl:host.example:1', 'tcp:1.2.3.4:']) {
      await same(['create-cluster', 'new.db', 'ex.ovsschema', fine], ['new.db']);
    }
    for (const t of ['99', '600001', 'abc', '0', '-5']) await same([`--election-timer=${t}`, 'create-cluster', 'new.db', 'ex.ovsschema', 'unix:x'], ['new.db']);
    await same(['create-cluster', 'c.db', 'ex.ovsschema', 'unix:x']); // exists
    await same(['create-cluster', 'new.db', 'nonexistent', 'unix:x'], ['new.db']);
    await same(['create-cluster', 'new.db', 'garbage.db', 'unix:x'], ['new.db']);
    await same(['create-cluster', 'new.db', 'empty.db', 'unix:x'], ['new.db']);
    await same(['create-cluster', 'new.db', 'c.db', 'unix:x'], ['new.db']);
    await same(['create-cluster', 'new.db', 'ex.ovsschema']);
  });

  it('join-cluster, with --cid; its checks', async () => {
    await same(['join-cluster', 'new.db', 'Ex', 'tcp:127.0.0.1:2', 'tcp:127.0.0.1:3', 'tcp:127.0.0.1:1', 'unix:zz'], ['new.db']);
    await same(['--cid=3e5a1f5e-0000-4000-8000-00000000000A', 'join-cluster', 'new.db', 'Ex', 'unix:a', 'unix:b'], ['new.db']);
    await same(['--cid', '3e5a1f5e-0000-4000-8000-00000000000a', 'join-cluster', 'new.db', 'Ex', 'unix:a', 'unix:b', 'unix:b'], ['new.db']);
    for (const args of [
      ['join-cluster', 'new.db', '1bad', 'unix:a', 'unix:b'],
      ['join-cluster', 'new.db', 'Ex', 'unix:a', 'unix:a'],
      ['join-cluster', 'new.db', 'Ex', 'unix:a', 'unix:b', 'unix:a'],
      ['join-cluster', 'new.db', 'Ex', 'tcp:1.1.1.1', 'unix:b'],
      ['join-cluster', 'new.db', 'Ex', 'unix:b', 'tcp:x:1', 'tcp:y'],
      ['--cid=00000000-0000-0000-0000-000000000000', 'join-cluster', 'new.db', 'Ex', 'unix:a', 'unix:b'],
      ['--cid=zz', 'join-cluster', 'new.db', 'Ex', 'unix:a', 'unix:b'],
      ['join-cluster', 'new.db', 'Ex', 'unix:a'],
      ['join-cluster', 'j.db', 'Ex', 'unix:a', 'unix:b'],
    ]) {
      await same(args, ['new.db']);
    }
  });

  it('db-cid, db-sid, db-local-address, db-name, db-is-clustered/standalone; refusals of standalone-only commands', async () => {
    for (const f of ['c.db', 'ce.db', 'j.db', 'jc.db', 'ours.db', 's.db', 'nonexistent', 'empty.db', 'garbage.db', 'badheader.db', 'torn.db']) {
      for (const cmd of ['db-cid', 'db-sid', 'db-local-address', 'db-name', 'db-is-clustered', 'db-is-standalone', 'db-version', 'db-cksum', 'needs-conversion']) {
        await same([cmd, f]);
      }
      await same(['needs-conversion', f, 'ex.ovsschema']);
      await same(['query', f, '["Ex"]']);
      await same(['transact', f, '["Ex"]']);
      // (Standalone compaction writes its own comment; only the refusals are compared here.)
      const clustered = f !== 's.db';
      await same(['compact', f, 'out.db'], clustered ? ['out.db'] : []);
      await same(['convert', f, 'ex.ovsschema', 'out.db'], clustered ? ['out.db'] : []);
    }
    const r = await same(['db-cid', 'j.db']);
    expect([r.status, r.err]).toEqual([2, 'j.db: cluster ID not yet known\n']);
    expect((await same(['db-is-clustered', 'c.db'])).status).toBe(0);
    expect((await same(['db-is-standalone', 'c.db'])).status).toBe(2);
    expect((await same(['compact', 'c.db'])).err).toBe('ovsdb-tool: ovsdb error: c.db: cannot apply this operation to clustered database file\n');
  });

  it('show-log [-m [-m]] on files from create-cluster, join-cluster, ours, and a standalone file', async () => {
    for (const f of ['c.db', 'ce.db', 'cs.db', 'j.db', 'jc.db', 'ours.db', 's.db']) {
      for (const m of [[], ['-m'], ['-mm'], ['-m', '-m']]) await same([...m, 'show-log', f]);
    }
    const { r } = await both(['-m', 'show-log', 'ours.db']);
    expect(r.out).toContain(' name: "Ex\'\n');
    expect(r.out).toContain('record 10:\n term: 2\n index: 4\n eid: e333\n 2026-12-02 08:26:40.200\n  table T insert row "three" (00000003):\n\n');
  });

  it('check-cluster', async () => {
    for (const files of [['c.db'], ['ours.db'], ['j.db'], ['ours.db', 'j.db'], ['c.db', 'ce.db'], ['ours.db', 'ours.db'], ['s.db'], ['nonexistent'], ['c.db', 'jc.db', 'ce.db']]) {
      await same(['check-cluster', ...files]);
    }
    const r = await same(['check-cluster', 'ours.db']);
    expect([r.status, r.out, r.err]).toEqual([0, 'ours.db: record 10 truncates log from 5 to 4 entries\n', '']);
  });

  it('check-cluster on crafted files: every check and its message', async () => {
    const cases: string[][] = [
      ['leaderA.db', 'followerB.db'],
      ['leaderA.db', 'leaderB1.db'],
      ['twoleaders.db'],
      ['selftrunc.db'],
      ['leaderA.db', 'behind.db'],
      ['leaderA.db', 'named.db'],
      ['stranger.db'],
      ['joined.db'],
      ['skip.db'],
      ['pastcommit.db'],
      ['oldterm.db'],
      ['oldvote.db'],
      ['leaderA.db', 'twovotes.db'],
      ['twovotes.db'],
      ['regress.db'],
      ['beyond.db'],
      ['left.db'],
      ['badrecords.db'],
      ['badheader.db'],
      ['torn.db'],
      ['leaderA.db', 'j.db', 'followerB.db'],
    ];
    const outputs: string[] = [];
    for (const files of cases) {
      const r = await same(['check-cluster', ...files]);
      outputs.push(`${r.status} ${r.out}${r.err}`);
    }
    // The checks fired (not just "same output"): a few of the texts.
    expect(outputs.join('')).toContain('log entries with index 3 differ:\nleaderA.db has {"data":[null,');
    expect(outputs.join('')).toContain('term 1 has two different leaders: leaderA.db says that the leader is leaderA.db and leaderB1.db says that the leader is leaderB1.db');
    expect(outputs.join('')).toContain('leader behind.db for term 2 has log entries only up to index 1, but index 3 was committed in a previous term (e.g. by leaderA.db)');
    expect(outputs.join('')).toContain('stranger.db: server aaaa not found in server list');
    expect(outputs.join('')).toContain('selftrunc.db: record 4 truncates log from 4 to 2 entries while server is leader');
  });

  it('show-log on crafted files: records that do not parse, invalid data, a bad schema, a torn tail', async () => {
    for (const f of ['badrecords.db', 'badheader.db', 'badschema.db', 'torn.db', 'left.db', 'joined.db', 'twoleaders.db']) {
      for (const m of [[], ['-mm']]) await same([...m, 'show-log', f]);
    }
    const r = await same(['-m', 'show-log', 'badrecords.db']);
    expect(r.out).toContain("Parsing raft log record failed: Member 'bogus' is present but not allowed here.\n\n");
    expect(r.out).toContain(' ***invalid data***\n');
    expect((await same(['show-log', 'badschema.db'])).status).toBe(1);
    expect((await same(['show-log', 'torn.db'])).status).toBe(1);
  });

  it('cluster-to-standalone (the reference behaviour: every entry with data, committed or not)', async () => {
    for (const f of ['c.db', 'cs.db', 'ours.db', 'j.db', 's.db', 'nonexistent', 'torn.db', 'badrecords.db', 'badheader.db', 'badschema.db', 'left.db']) {
      await same(['cluster-to-standalone', 'out.db', f], ['out.db']);
    }
    await same(['cluster-to-standalone', 's.db', 'ours.db'], ['s.db']);
    // Either tool's result opens in our standalone engine: the snapshot and all three inserts (the truncated one
    // too: QUIRK R5, copied).
    const { rd, od } = await both(['cluster-to-standalone', 'out.db', 'ours.db']);
    for (const d of [rd, od]) {
      const db = FileStorage.read(path.join(d, 'out.db'));
      const name = db.schema.tables.get('T')!.columns.findIndex((c) => c.name === 'name');
      expect([...db.table('T').rows.values()].map((r) => r.data[name]!.keys[0]).sort()).toEqual(['one', 'three', 'two']);
    }
  });

  it('files our create-cluster and join-cluster write are accepted by ovsdb-tool', async () => {
    const d = freshDir();
    for (const args of [
      ['create-cluster', 'a.db', 'ex.ovsschema', 'unix:a.raft'],
      ['--election-timer=2000', 'create-cluster', 'b.db', 's.db', 'tcp:127.0.0.1:6641'],
      ['--cid=3e5a1f5e-0000-4000-8000-00000000000a', 'join-cluster', 'x.db', 'Ex', 'unix:x.raft', 'unix:a.raft', 'unix:b.raft'],
    ]) {
      expect((await ours(d, args)).status).toBe(0);
    }
    for (const f of ['a.db', 'b.db', 'x.db']) {
      const sid = real(d, ['db-sid', f]);
      expect([sid.status, sid.err]).toEqual([0, '']);
      expect(sid.out).toBe((await ours(d, ['db-sid', f])).out);
      expect(real(d, ['db-is-clustered', f]).status).toBe(0);
      expect(real(d, ['db-local-address', f]).out).toBe(`${f === 'b.db' ? 'tcp:127.0.0.1:6641' : `unix:${f[0]}.raft`}\n`);
      expect(real(d, ['db-cid', f])).toMatchObject({ status: 0, err: '' });
      const sl = real(d, ['-mm', 'show-log', f]);
      expect([sl.status, sl.err]).toEqual([0, '']);
      expect(sl.out).not.toContain('error');
    }
    // A fresh cluster has no term yet; the election-timer entry of b.db is in term 1.
    expect(real(d, ['check-cluster', 'a.db', 'x.db'])).toEqual({ status: 1, out: 'x.db has not joined the cluster, omitting\n', err: 'ovsdb-tool: all logs are empty\n' });
    expect(real(d, ['check-cluster', 'b.db'])).toEqual({ status: 0, out: '', err: '' });
    expect(real(d, ['cluster-to-standalone', 'sa.db', 'b.db']).status).toBe(0);
    const db = FileStorage.read(path.join(d, 'sa.db'));
    expect(db.table('T').rows.size).toBe(2);
  });
});

describe.skipIf(!haveTool)('files the real ovsdb-tool writes, read by raft/log.ts', () => {
  const toolOut = (...args: string[]) => spawnSync(TOOL, args, { cwd: path.join(base, 'in'), env: ENV, encoding: 'utf8' }).stdout.trim();

  it('create-cluster: the header as a member state', async () => {
    for (const f of ['c.db', 'ce.db', 'cs.db']) {
      const { log, state } = ClusterLog.open(path.join(base, 'in', f), { lock: false });
      await log.close();
      const sid = toolOut('db-sid', f);
      expect(state.header).toMatchObject({ kind: 'member', sid, cid: toolOut('db-cid', f), name: 'Ex', localAddress: toolOut('db-local-address', f) });
      expect(state.snapshot).toMatchObject({ index: 1, term: 1, electionTimer: 1000 });
      expect([...state.snapshot.servers]).toEqual([[sid, toolOut('db-local-address', f)]]);
      // The election-timer entry of `--election-timer` is in term 1.
      expect([state.term, state.vote, state.commitIndex, state.left]).toEqual([f === 'ce.db' ? 1 : 0, null, 1, false]);
      const data = state.snapshot.data as [Record<string, JsonValue>, Record<string, JsonValue>];
      expect(JSON.stringify(data[0])).not.toContain('ephemeral');
      if (f === 'ce.db') expect(state.entries).toEqual([{ term: 1, electionTimer: 2000 }]);
      else expect(state.entries).toEqual([]);
      if (f === 'cs.db') expect(data[1]).toMatchObject({ _comment: 'created from s.db', _is_diff: true });
      else expect(data[1]).toEqual({});
    }
  });

  it('join-cluster: the joining header', async () => {
    const { log, state } = ClusterLog.open(path.join(base, 'in', 'j.db'), { lock: false });
    await log.close();
    expect(state.header).toEqual({
      kind: 'joining',
      sid: toolOut('db-sid', 'j.db'),
      name: 'Ex',
      localAddress: 'tcp:127.0.0.1:2',
      remoteAddresses: ['tcp:127.0.0.1:1', 'unix:zz', 'tcp:127.0.0.1:3'],
    });
    expect(state).toMatchObject({ term: 0, vote: null, commitIndex: 0, entries: [], snapshot: { index: 0 } });
    const jc = replayLog(RecordLog.open(path.join(base, 'in', 'jc.db'), { magic: 'CLUSTER' }).readAll().map((r) => r.json));
    expect(jc.header).toMatchObject({ kind: 'joining', cid: '3e5a1f5e-0000-4000-8000-00000000000a', remoteAddresses: ['unix:c.raft'] });
  });
});

/** Runs `script` in a pid namespace (everything it starts dies with it); returns its output. */
function inNamespace(dir: string, script: string): { status: number | null; out: string; err: string } {
  const r = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'bash', '-ec', script], {
    cwd: dir,
    env: { ...ENV, OVS_RUNDIR: dir, OVS_LOGDIR: dir, OVS_DBDIR: dir },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

const SERVE = (db: string, body: string) => `
${SERVER} --no-chdir --pidfile=$PWD/s.pid --unixctl=$PWD/s.ctl --log-file=$PWD/s.log --remote=punix:$PWD/s.sock ${db} &
for i in $(seq 200); do [ -S $PWD/s.ctl ] && [ -S $PWD/s.sock ] && break; sleep 0.05; done
ovsdb-client --timeout=20 wait unix:$PWD/s.sock Ex connected
${body}
ovs-appctl -t $PWD/s.ctl exit
wait
`;

describe.skipIf(!canUnshare)('the real ovsdb-server and raft/log.ts on the same files', () => {
  it('reads a file the C server wrote (transactions, an election-timer change, a restart)', async () => {
    const dir = freshDir();
    const r = inNamespace(
      dir,
      SERVE(
        'c.db',
        `ovsdb-client transact unix:$PWD/s.sock '["Ex",{"op":"insert","table":"T","row":{"name":"one","n":1}},{"op":"comment","comment":"first"}]'
ovsdb-client transact unix:$PWD/s.sock '["Ex",{"op":"update","table":"T","where":[["name","==","one"]],"row":{"e":"eph","n":2}}]'
ovsdb-client transact unix:$PWD/s.sock '["Ex",{"op":"insert","table":"T","row":{"name":"two","n":3}}]'
ovsdb-client transact unix:$PWD/s.sock '["Ex",{"op":"delete","table":"T","where":[["name","==","two"]]}]'
ovs-appctl -t $PWD/s.ctl cluster/change-election-timer Ex 1800
ovsdb-client transact unix:$PWD/s.sock '["Ex",{"op":"insert","table":"T","row":{"name":"three","n":4}}]'`,
      ) + SERVE('c.db', `ovsdb-client transact unix:$PWD/s.sock '["Ex",{"op":"insert","table":"T","row":{"name":"four","n":5}}]'`),
    );
    expect(r.status, r.err).toBe(0);
    const { log, state } = ClusterLog.open(path.join(dir, 'c.db'), { lock: false });
    await log.close();
    const sid = spawnSync(TOOL, ['db-sid', 'c.db'], { cwd: dir, encoding: 'utf8' }).stdout.trim();
    // Term 1: no-op, 4 transactions, the timer change, 1 transaction; term 2 (restart): no-op, 1 transaction.
    expect(state.entries.map((e) => [e.term, e.data !== undefined, e.electionTimer ?? 0])).toEqual([
      [1, false, 0],
      [1, true, 0],
      [1, true, 0],
      [1, true, 0],
      [1, true, 0],
      [1, false, 1800],
      [1, true, 0],
      [2, false, 0],
      [2, true, 0],
    ]);
    expect([state.term, state.vote, state.commitIndex, state.electionTimer]).toEqual([2, sid, 10, 1800]);
    const txn = (i: number) => (state.entries[i]!.data as [null, Record<string, JsonValue>])[1];
    expect(txn(1)).toMatchObject({ _comment: 'first', _is_diff: true });
    expect(Object.values(txn(2).T as Record<string, JsonValue>)).toEqual([{ e: 'eph', n: 2 }]);
    expect(Object.values(txn(8).T as Record<string, JsonValue>)).toEqual([{ name: 'four', n: 5 }]);
    // And ours prints it exactly as ovsdb-tool does.
    for (const m of [[], ['-mm']]) {
      const args = [...m, 'show-log', 'c.db'];
      expect((await ours(dir, args)).out).toBe(real(dir, args).out);
    }
    expect(await ours(dir, ['check-cluster', 'c.db'])).toEqual({ ...real(dir, ['check-cluster', 'c.db']), status: 0 });
  });

  it('opens a file we wrote (a truncation included), applies what is committed, and appends to it', async () => {
    const dir = freshDir();
    const db = path.join(dir, 'mine.db');
    await writeOurs(db, `unix:${path.join(dir, 'mine.raft')}`);
    expect(real(dir, ['check-cluster', 'mine.db']).status).toBe(0);
    const r = inNamespace(
      dir,
      SERVE(
        'mine.db',
        `ovsdb-client dump unix:$PWD/s.sock Ex T name n > dump1.txt
ovsdb-client transact unix:$PWD/s.sock '["Ex",{"op":"insert","table":"T","row":{"name":"four","n":4}}]' > txn.txt`,
      ),
    );
    expect(r.status, r.err + fs.readFileSync(path.join(dir, 's.log'), 'utf8')).toBe(0);
    // Committed entries only: "two" was truncated away (and never committed).
    expect(fs.readFileSync(path.join(dir, 'dump1.txt'), 'utf8')).toBe('T table\nn name\n- -----\n1 one\n3 three\n');
    // The C server went on in term 3 from our records; we read its additions.
    const { log, state } = ClusterLog.open(db, { lock: false });
    await log.close();
    expect(state.term).toBe(3);
    expect(state.vote).toBe(A);
    expect(state.entries.slice(0, 3).map((e) => e.eid ?? null)).toEqual([null, EIDS[1], EIDS[3]]);
    expect(state.entries.length).toBe(5); // + no-op of term 3 + the insert of "four"
    expect(state.commitIndex).toBe(6);
    expect(Object.values((state.entries[4]!.data as [null, Record<string, JsonValue>])[1].T as Record<string, JsonValue>)).toEqual([{ name: 'four', n: 4 }]);
    expect(real(dir, ['check-cluster', 'mine.db'])).toEqual({ status: 0, out: 'mine.db: record 10 truncates log from 5 to 4 entries\n', err: '' });
  });

  it('the C server runs a cluster from the file our create-cluster wrote', async () => {
    const dir = freshDir();
    expect((await ours(dir, ['--election-timer=1500', 'create-cluster', 'ours-cc.db', 'ex.ovsschema', `unix:${path.join(dir, 'cc.raft')}`])).status).toBe(0);
    const r = inNamespace(
      dir,
      SERVE(
        'ours-cc.db',
        `ovsdb-client transact unix:$PWD/s.sock '["Ex",{"op":"insert","table":"T","row":{"name":"x","n":7,"e":"kept"}}]' > /dev/null
ovsdb-client dump unix:$PWD/s.sock Ex T name n e > dump.txt
ovs-appctl -t $PWD/s.ctl cluster/status Ex > status.txt`,
      ),
    );
    expect(r.status, r.err).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'dump.txt'), 'utf8')).toBe('T table\ne    n name\n---- - ----\nkept 7 x\n');
    const status = fs.readFileSync(path.join(dir, 'status.txt'), 'utf8');
    expect(status).toContain('Role: leader\n');
    expect(status).toContain('Election timer: 1500\n');
    const { log, state } = ClusterLog.open(path.join(dir, 'ours-cc.db'), { lock: false });
    await log.close();
    expect([state.term, state.commitIndex, state.entries.length]).toEqual([2, 4, 3]);
  });

  it('a snapshot we wrote (ClusterLog.replace) is a file the C server starts from', async () => {
    const dir = freshDir();
    const db = path.join(dir, 'snap.db');
    await writeOurs(db, `unix:${path.join(dir, 'snap.raft')}`);
    const { log, state } = ClusterLog.open(db, { lock: false });
    // Compact at the commit index (4): the snapshot holds rows one and three.
    const h = state.header as MemberHeader;
    const schema = (h.snapshot.data as JsonValue[])[0]!;
    const rows = { [ROW(1)]: { name: 'one', n: 1 }, [ROW(3)]: { name: 'three', n: 3 } };
    await log.replace({
      header: { ...h, snapshot: { index: 4, term: 2, eid: EIDS[3]!, servers: state.servers!, electionTimer: state.electionTimer!, data: [schema, { T: rows, _comment: 'compacting database online', _date: 1796200000300, _is_diff: true }] } },
      entries: [],
      term: state.term,
      vote: state.vote,
      commitIndex: state.commitIndex,
    });
    await log.close();
    expect(real(dir, ['show-log', 'snap.db'])).toMatchObject({ status: 0, err: '' });
    expect(real(dir, ['check-cluster', 'snap.db']).status).toBe(0);
    const r = inNamespace(dir, SERVE('snap.db', 'ovsdb-client dump unix:$PWD/s.sock Ex T name n > dump.txt'));
    expect(r.status, r.err).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'dump.txt'), 'utf8')).toBe('T table\nn name\n- -----\n1 one\n3 three\n');
  });
});
