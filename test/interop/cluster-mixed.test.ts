// Mixed Raft clusters of ovsdb-ts and the real ovsdb-server 3.1 (raft.md §2, issue 11): every composition of
// three members — ours joining a C-bootstrapped cluster and C joining ours, 2 C + 1 ours and 1 C + 2 ours —
// with the bootstrap member as first leader, then the leader killed with kill -9 and restarted, in every
// direction (C → ours, C → C, ours → C, ours → ours: the successor is chosen by delaying the other survivor's
// election with `cluster/failure-test delay-election`).
//
// After every step, once the cluster is quiet: one leader, one term and the same servers in every member's
// `cluster/status`; identical `ovsdb-client dump`s; every acknowledged write present exactly once;
// `_Server.Database` rows of ours as the C members show theirs; `ovsdb-tool check-cluster` accepts all files.
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterLab, waitStable, type Impl, type Member } from './lib/cluster.ts';
import { settledAndChecked } from './lib/cluster-checks.ts';

// Long enough that a delayed survivor (2E + rand(1000)) never beats the chosen one (E + rand(1000)) on a
// busy machine.
const ELECTION_TIMER = 2000;

let lab: ClusterLab | null = null;
afterEach(async () => {
  await lab?.cleanup();
  lab = null;
});

/** One write through each member with the real ovsdb-client (followers forward); the names written. */
async function writeThroughEach(members: Member[], tag: string): Promise<string[]> {
  return Promise.all(
    members.map(async (m) => {
      const name = `${tag}-via-${m.name}`;
      const [r] = await m.transact({ op: 'insert', table: 'T', row: { name } });
      expect(r).toMatchObject({ uuid: ['uuid', expect.any(String)] });
      return name;
    }),
  );
}

/**
 * kill -9 the leader and let `successor` take over (the other survivors' elections are delayed meanwhile);
 * writes through every survivor are sent right after the kill (they complete once the new leader commits
 * them). Then the old leader is restarted and rejoins as a follower.
 */
async function killLeader(leader: Member, successor: Member, acked: string[], tag: string): Promise<void> {
  const others = lab!.running.filter((m) => m !== leader && m !== successor);
  for (const m of others) expect((await m.appctl('cluster/failure-test', 'delay-election')).stdout).toBe('test engaged\n');
  await leader.kill9();
  acked.push(...(await writeThroughEach(lab!.running, tag)));
  const { leader: now } = await waitStable(lab!, { members: lab!.running });
  expect(`${now.name} (${now.impl})`).toBe(`${successor.name} (${successor.impl})`);
  for (const m of others) expect((await m.appctl('cluster/failure-test', 'clear')).stdout).toBe('test dismissed\n');
  await leader.start();
  // The restarted member serves its file at once; it is a follower of the new leader.
  await waitStable(lab!);
}

interface Composition {
  title: string;
  impls: [Impl, Impl, Impl];
  /** Kills in order: [victim (the leader then), successor]. */
  kills: [string, string][];
}

const COMPOSITIONS: Composition[] = [
  // C bootstraps; ours joins it twice.
  { title: '1 C + 2 ours, C-bootstrapped', impls: ['c', 'ours', 'ours'], kills: [['s1', 's2'], ['s2', 's3'], ['s3', 's1']] },
  // C bootstraps, C and ours join.
  { title: '2 C + 1 ours, C-bootstrapped', impls: ['c', 'c', 'ours'], kills: [['s1', 's2'], ['s2', 's3'], ['s3', 's1']] },
  // Ours bootstraps; C joins it twice.
  { title: '1 ours + 2 C, ours-bootstrapped', impls: ['ours', 'c', 'c'], kills: [['s1', 's2'], ['s2', 's3'], ['s3', 's1']] },
  // Ours bootstraps, ours and C join.
  { title: '2 ours + 1 C, ours-bootstrapped', impls: ['ours', 'ours', 'c'], kills: [['s1', 's2'], ['s2', 's3'], ['s3', 's1']] },
];

describe('mixed clusters with the real ovsdb-server', () => {
  for (const comp of COMPOSITIONS) {
    const dirs = comp.kills.map(([v, s]) => `${comp.impls[Number(v[1]) - 1]} → ${comp.impls[Number(s[1]) - 1]}`).join(', ');
    it(`${comp.title}: joins, forwards writes, survives leader kills (${dirs})`, { timeout: 180_000 }, async () => {
      lab = new ClusterLab({ electionTimer: ELECTION_TIMER });
      const members = await lab.build(comp.impls);
      const acked: string[] = [];

      // The bootstrap member leads; every member forwards or commits writes.
      let state = await settledAndChecked(lab, acked);
      expect(state.leader).toBe(members[0]);
      expect(state.statuses.get(members[0]!)!.term).toBe(2); // create-cluster --election-timer: term 1 is taken (R17)
      acked.push(...(await writeThroughEach(members, 'start')));
      state = await settledAndChecked(lab, acked);

      for (const [i, [victim, successor]] of comp.kills.entries()) {
        expect(state.leader.name).toBe(victim);
        await killLeader(lab.member(victim), lab.member(successor), acked, `kill${i}`);
        acked.push(...(await writeThroughEach(lab.running, `after${i}`)));
        state = await settledAndChecked(lab, acked);
        expect(state.leader.name).toBe(successor);
      }
      expect(acked.length).toBe(3 + comp.kills.length * 5);
    });
  }
});

describe('relative unix: addresses', () => {
  it('resolve against OVS_RUNDIR, not the working directory, for Raft and client sockets (as in the C server)', { timeout: 120_000 }, async () => {
    // Members run with the lab dir as cwd and lab/run as OVS_RUNDIR; Raft addresses are `unix:sN.raft`.
    lab = new ClusterLab({ relative: 'shared' });
    const impls: Impl[] = ['c', 'ours', 'c', 'ours'];
    await lab.create(impls[0]!);
    for (let i = 1; i < impls.length; i++) await lab.join(impls[i]!, `s${i + 1}`, [lab.members[0]!]);
    for (const m of lab.members) {
      m.args = [`--remote=punix:rel-${m.name}.sock`];
      await m.start();
    }
    const st = await settledAndChecked(lab, []);
    expect(st.statuses.get(lab.members[0]!)!.fields.Address).toBe('unix:s1.raft');
    for (const m of lab.members) {
      expect({ m: m.name, raft: fs.existsSync(lab.file(`run/${m.name}.raft`)), sock: fs.existsSync(lab.file(`run/rel-${m.name}.sock`)) }).toEqual({ m: m.name, raft: true, sock: true });
      expect(fs.existsSync(lab.file(`${m.name}.raft`))).toBe(false);
      expect(fs.existsSync(lab.file(`rel-${m.name}.sock`))).toBe(false);
      expect((await m.client('list-dbs', `unix:${lab.file(`run/rel-${m.name}.sock`)}`)).stdout).toBe('Ex\n_Server\n');
    }
  });
});
