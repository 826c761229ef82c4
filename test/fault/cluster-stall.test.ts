// A follower that stalls (SIGSTOP for three election timeouts, then SIGCONT — as a long GC pause, a swapped-
// out process or a busy machine does) must not stand for election when it resumes: the leader's heartbeats
// are waiting in its socket buffers, and the reference handles received messages before it looks at its
// election timer (raft_run: connections first, then the timeout check), so they reset the timer first. A
// member that fires its expired timer first starts an election with a higher term; the leader then steps
// down on the reply to its next heartbeat, and the whole cluster changes term for nothing.
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterLab, sleep, waitStable, type Impl, type Member } from '../interop/lib/cluster.ts';

let lab: ClusterLab | null = null;
afterEach(async () => {
  for (const m of lab?.members ?? []) if (m.running) process.kill(m.pid, 'SIGCONT');
  await lab?.cleanup();
  lab = null;
});

const elections = (m: Member) => (m.log().match(/raft\|INFO\|term \d+: (\d+ ms timeout expired, )?starting election/g) ?? []).length;

describe('a stalled follower resumes without an election', () => {
  for (const impls of [['c', 'c', 'c'], ['c', 'ours', 'c'], ['ours', 'ours', 'ours']] as [Impl, Impl, Impl][]) {
    it(`${impls.join('/')}: ${impls[1]} follower stopped for 3 s`, { timeout: 120_000 }, async () => {
      lab = new ClusterLab();
      await lab.build(impls);
      const { leader, statuses } = await waitStable(lab, { expectServers: 3 });
      const term = statuses.get(leader)!.term;
      const follower = lab.member('s2');
      expect(follower).not.toBe(leader);
      const before = lab.members.map(elections);

      process.kill(follower.pid, 'SIGSTOP');
      await sleep(3000); // the election timer (1 s + up to 1 s) expires meanwhile
      process.kill(follower.pid, 'SIGCONT');
      await sleep(2000);

      const after = await waitStable(lab, { expectServers: 3 });
      expect(after.leader.name).toBe(leader.name);
      for (const [m, s] of after.statuses) expect({ m: m.name, term: s.term }).toEqual({ m: m.name, term });
      expect(lab.members.map(elections)).toEqual(before);
    });
  }
});
