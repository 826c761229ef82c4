// A new member joining after compaction gets the database by snapshot install (raft.md §1.7, §2.6.5):
// a 100,000-row standalone file (one big transaction through the real ovsdb-server) turned into a cluster
// with `ovsdb-tool create-cluster DB standalone.db`, a second member joined, a few more writes (log entries
// past the snapshot), `ovsdb-server/compact` on the leader, then a third member joins: the leader logs that
// it sent it a snapshot, the joiner's log starts where the leader's compacted log starts, it holds every row
// (identical dump), and no member started an election meanwhile (terms and the `starting election` log
// lines unchanged). All-ours, and mixed with either side leading.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { JsonValue } from '../../schema/json.ts';
import { JsonRpcClient } from '../../server/jsonrpc.ts';
import { run } from '../interop/lib/harness.ts';
import { C_SERVER, C_TOOL, ClusterLab, EX_SCHEMA, Member, waitConnected, waitFor, waitStable, type Impl } from '../interop/lib/cluster.ts';

const ROWS = Number(process.env.CLUSTER_SNAPSHOT_ROWS ?? 100_000);
let shared: string;
let standalone: string;

beforeAll(async () => {
  // The standalone file: created by ovsdb-tool, filled by the real server with one transaction.
  shared = fs.mkdtempSync(path.join(os.tmpdir(), 'ovsdb-snapshot-'));
  const schema = path.join(shared, 'ex.ovsschema');
  fs.writeFileSync(schema, JSON.stringify(EX_SCHEMA));
  standalone = path.join(shared, 'standalone.db');
  expect((await run(C_TOOL, ['create', standalone, schema])).code).toBe(0);
  const sock = path.join(shared, 'std.sock');
  const srv = spawn(C_SERVER, [`--remote=punix:${sock}`, `--unixctl=${path.join(shared, 'std.ctl')}`, '-vconsole:off', standalone], { stdio: 'ignore' });
  try {
    await waitFor(() => fs.existsSync(sock), 'the standalone server');
    const c = await JsonRpcClient.connect(`unix:${sock}`);
    const ops: JsonValue[] = [];
    for (let i = 0; i < ROWS; i++) ops.push({ op: 'insert', table: 'T', row: { name: `row${i}`, n: i } });
    const r = (await c.request('transact', ['Ex', ...ops])) as JsonValue[];
    expect(r.length).toBe(ROWS);
    c.close();
  } finally {
    srv.kill('SIGKILL');
    await new Promise((r) => srv.once('exit', r));
  }
}, 120_000);

afterAll(() => fs.rmSync(shared, { recursive: true, force: true }));

let lab: ClusterLab | null = null;
afterEach(async () => {
  await lab?.cleanup();
  lab = null;
});

const elections = (m: Member) => (m.log().match(/raft\|INFO\|term \d+: (\d+ ms timeout expired, )?starting election/g) ?? []).length;

/** How many of the standalone's rows a member holds, and a digest of its `ovsdb-client dump` (not the text). */
async function contents(m: Member): Promise<{ rows: number; digest: string }> {
  const rows = (await m.select('T', ['name'])).filter((r) => /^row\d+$/.test(r.name as string)).length;
  return { rows, digest: createHash('sha1').update(await m.dump()).digest('hex') };
}

describe(`a member joining after compaction gets a ${ROWS}-row snapshot`, () => {
  for (const [first, joiner] of [['ours', 'ours'], ['c', 'ours'], ['ours', 'c']] as [Impl, Impl][]) {
    it(`${first} leader and member, ${joiner} joiner`, { timeout: 240_000 }, async () => {
      // The C server writes a snapshot on its main thread: on this machine a 100k-row compaction keeps a C
      // leader from sending heartbeats for ~2 s, so with the default 1 s timer its followers stand for
      // election (the reference's own behaviour, not what is under test). Ours must keep the 1 s timer.
      lab = new ClusterLab(first === 'c' ? { electionTimer: 5000 } : {});
      const s1 = await (await lab.create(first, 's1', standalone)).start();
      await waitConnected(s1, 120_000);
      const s2 = await (await lab.join(first, 's2')).start();
      await waitConnected(s2, 120_000);
      for (let i = 0; i < 10; i++) await s1.transact({ op: 'insert', table: 'T', row: { name: `late${i}` } });
      const { statuses } = await waitStable(lab, { expectServers: 2 });
      const term = statuses.get(s1)!.term;
      const before = { s1: elections(s1), s2: elections(s2) };

      // Compaction on the leader: its log now starts after every entry written so far.
      expect(await s1.appctl('ovsdb-server/compact', 'Ex')).toMatchObject({ code: 0, stdout: '', stderr: '' });
      const compacted = await s1.status();
      expect(compacted.log[0]).toBe(compacted.log[1]);
      expect(compacted.log[0]).toBeGreaterThan(2);

      const s3 = await (await lab.join(joiner, 's3')).start();
      await waitConnected(s3, 120_000);
      const after = await waitStable(lab, { expectServers: 3 });
      expect(after.leader.name).toBe('s1');
      expect(s1.log()).toMatch(new RegExp(`raft\\|INFO\\|sending snapshot to server s3, ${term}:${compacted.log[0] - 1}\\.`));
      expect(s1.log()).toMatch(new RegExp(`raft\\|INFO\\|cluster \\w{4}: installed snapshot on server s3  up to ${term}:${compacted.log[0] - 1}`));
      // The joiner's log starts at the snapshot: it never saw the entries one by one.
      expect((await s3.status()).log[0]).toBe(compacted.log[0]);

      const want = await contents(s1);
      expect(want.rows).toBe(ROWS);
      for (const m of [s2, s3]) expect({ m: m.name, ...(await contents(m)) }).toEqual({ m: m.name, ...want });
      expect((await s3.select('T', ['name'], [['name', '==', 'late9']])).length).toBe(1);

      // Nobody stood for election while the snapshot was built, sent and installed.
      for (const [m, s] of after.statuses) expect({ m: m.name, term: s.term }).toEqual({ m: m.name, term });
      expect({ s1: elections(s1), s2: elections(s2), s3: elections(s3) }).toEqual({ ...before, s3: 0 });
      const check = await lab.checkCluster();
      expect({ code: check.code, stderr: check.stderr }).toEqual({ code: 0, stderr: '' });
    });
  }
});
