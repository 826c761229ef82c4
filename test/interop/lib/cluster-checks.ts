// The assertions every mixed-cluster test makes once the cluster is quiet (raft.md §3.1, §4.2, §1.9):
// one leader and one term in every member's `cluster/status`, the same servers everywhere; identical
// `ovsdb-client dump`; each acknowledged write there exactly once; `_Server.Database` rows of ours as the C
// members show theirs; the real `ovsdb-tool check-cluster` accepts every file.
import { expect } from 'vitest';
import { waitConverged, waitStable, type ClusterLab, type ClusterStatus, type Member } from './cluster.ts';

export interface Settled {
  leader: Member;
  statuses: Map<Member, ClusterStatus>;
  dump: string;
}

/** Waits for a stable, converged cluster of the running members and checks everything; returns the state. */
export async function settledAndChecked(lab: ClusterLab, acked: Iterable<string>, opts: { servers?: number } = {}): Promise<Settled> {
  const { leader } = await waitStable(lab, { expectServers: opts.servers ?? lab.members.length });
  const dump = await waitConverged(lab);
  // Statuses again, now that nothing is in flight: the log ends and terms are final.
  const { leader: again, statuses } = await waitStable(lab, { expectServers: opts.servers ?? lab.members.length });
  expect(again).toBe(leader);
  const ls = statuses.get(leader)!;
  const running = lab.running;

  // cluster/status: the fixed lines agree; each member's own lines are its own.
  for (const m of running) {
    const s = statuses.get(m)!;
    expect({ member: m.name, name: s.fields.Name, cid: s.fields['Cluster ID'], timer: s.fields['Election timer'], log: s.log[1], address: s.fields.Address, nick: s.nick }).toEqual({
      member: m.name,
      name: lab.dbName,
      cid: ls.fields['Cluster ID'],
      timer: ls.fields['Election timer'],
      log: ls.log[1],
      address: m.address,
      nick: m.name,
    });
    expect(s.servers).toContain(`${m.name} (${s.fields['Server ID'].slice(0, 4)} at ${m.address})`);
  }

  // Every acknowledged write, once, on every member (the dumps are identical, so one member's rows do).
  const names = (await leader.select('T', ['name'])).map((r) => r.name as string);
  const counts = new Map<string, number>();
  for (const n of names) counts.set(n, (counts.get(n) ?? 0) + 1);
  for (const n of acked) expect(`${n}: ${counts.get(n) ?? 0}`).toBe(`${n}: 1`);

  // _Server.Database: the same row on every member but for leader and sid (C and ours alike).
  const cid = /\((.*)\)/.exec(ls.fields['Cluster ID'])![1]!;
  for (const m of running) {
    const s = statuses.get(m)!;
    const sid = /\((.*)\)/.exec(s.fields['Server ID'])![1]!;
    expect({ member: m.name, row: await m.serverRow() }).toEqual({
      member: m.name,
      row: { name: lab.dbName, model: 'clustered', connected: true, leader: m === leader, cid: ['uuid', cid], sid: ['uuid', sid], index: ls.log[1] - 1 },
    });
    expect((await m.appctl('cluster/sid', lab.dbName)).stdout).toBe(`${sid}\n`);
    expect((await m.appctl('cluster/cid', lab.dbName)).stdout).toBe(`${cid}\n`);
  }

  const check = await lab.checkCluster();
  expect({ code: check.code, stdout: check.stdout, stderr: check.stderr }).toEqual({ code: 0, stdout: '', stderr: '' });
  return { leader, statuses, dump };
}
