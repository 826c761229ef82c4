// A new member joining after compaction gets the database by snapshot install (raft.md §1.7, §2.6.5):
// a 100,000-row standalone file (one big transaction through the real ovsdb-server) turned into a cluster
// with `ovsdb-tool create-cluster DB standalone.db`, a second member joined, a few more writes (log entries
// past the snapshot), `ovsdb-server/compact` on both members, then a third member joins: the leader logs that
// it sent it a snapshot, the joiner's log starts where the leader's compacted log starts, every member holds
// every row (identical dumps), and no member started an election while the snapshot was sent and installed
// (terms and the `starting election` log lines unchanged). All-ours, and mixed with either side leading.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { JsonValue } from '../../schema/json.ts';
import { JsonRpcClient } from '../../server/jsonrpc.ts';
import { run } from '../interop/lib/harness.ts';
import { C_SERVER, C_TOOL, ClusterLab, EX_SCHEMA, Member, waitConnected, waitFor, waitStable, type ClusterStatus, type Impl } from '../interop/lib/cluster.ts';

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
      // The C server builds snapshots on its main loop (a 100k-row compaction kept it busy 2–3 s on this
      // loaded machine; sending one serializes the same rows there): with the default 1 s timer its
      // followers stand for election (the reference's behaviour, not what is under test): 5 s for a C
      // leader. Ours keeps the default.
      lab = new ClusterLab(first === 'c' ? { electionTimer: 5000 } : {});
      const s1 = await (await lab.create(first, 's1', standalone)).start();
      await waitConnected(s1, 120_000);
      const s2 = await (await lab.join(first, 's2')).start();
      await waitConnected(s2, 120_000);
      for (let i = 0; i < 10; i++) await s1.transact({ op: 'insert', table: 'T', row: { name: `late${i}` } });
      await waitStable(lab, { expectServers: 2 });

      // Compaction on both members, the leader last: every log then starts after the entries written so far.
      // (A 100k-row compaction keeps a process busy for a while, on a loaded machine long enough for the
      // other member to stand for election, whose no-op entry then follows the snapshot: compacted again.
      // The window watched below starts after that.)
      let leader: Member;
      let term: number;
      let compacted: ClusterStatus;
      for (let round = 1; ; round++) {
        for (const m of [s2, s1]) {
          const r = await m.appctl('ovsdb-server/compact', 'Ex');
          if (r.code !== 0) expect(r.stderr).toBe('ovsdb error: not storing a duplicate snapshot\novs-appctl: ' + m.ctl + ': server returned an error\n');
        }
        const st = await waitStable(lab, { expectServers: 2 });
        leader = st.leader;
        term = st.statuses.get(leader)!.term;
        compacted = await leader.status();
        if (compacted.log[0] === compacted.log[1]) break;
        expect(round).toBeLessThan(5);
      }
      expect(compacted.log[0]).toBeGreaterThan(2);
      const before = { s1: elections(s1), s2: elections(s2) };

      const s3 = await (await lab.join(joiner, 's3')).start();
      await waitConnected(s3, 120_000);
      const after = await waitStable(lab, { expectServers: 3 });
      if (after.leader !== leader) throw new Error(`leadership moved to ${after.leader.name}\n${(await Promise.all(lab.members.map((m) => m.diag(60)))).join('\n')}`);
      expect(leader.log()).toMatch(new RegExp(`raft\\|INFO\\|sending snapshot to server s3, ${term}:${compacted.log[0] - 1}\\.`));
      expect(leader.log()).toMatch(new RegExp(`raft\\|INFO\\|cluster \\w{4}: installed snapshot on server s3  up to \\d+:${compacted.log[0] - 1}\n`));
      // The joiner's log starts at the snapshot: it never saw the entries one by one.
      expect((await s3.status()).log[0]).toBe(compacted.log[0]);

      const want = await contents(leader);
      expect(want.rows).toBe(ROWS);
      for (const m of lab.members) expect({ m: m.name, ...(await contents(m)) }).toEqual({ m: m.name, ...want });
      expect((await s3.select('T', ['name'], [['name', '==', 'late9']])).length).toBe(1);

      // Nobody stood for election while the snapshot was sent and installed.
      for (const [m, st] of after.statuses) expect({ m: m.name, term: st.term }).toEqual({ m: m.name, term });
      expect({ s1: elections(s1), s2: elections(s2), s3: elections(s3) }).toEqual({ ...before, s3: 0 });
      const check = await lab.checkCluster();
      expect({ code: check.code, stderr: check.stderr }).toEqual({ code: 0, stderr: '' });
    });
  }
});
