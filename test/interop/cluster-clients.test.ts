// Leader-only clients of a 3-member cluster of ours through kill -9 of the leader (raft.md §3.2, §3.3):
// - ovn-nbctl with every member as a remote (leader-only, the default) started right after the NB leader
//   died, and ovn-northd connected to NB and SB clusters: the NB leader, then the SB leader is killed; the
//   clients find the new leaders, ovn-nbctl's writes commit, northd translates them into SB Port_Bindings
//   and `--wait=sb sync` completes; after the restarts every member holds each write exactly once.
// - the Python IDL (ovs.db.idl, leader_only=True) writing a row per transaction while the leader is
//   killed: it moves to the new leader, goes on writing, and every acknowledged row is there exactly once.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO, run } from './lib/harness.ts';
import { ClusterLab, Follower, sleep, waitConverged, waitFor, waitStable, type Member } from './lib/cluster.ts';

const NB_SCHEMA = '/usr/share/ovn/ovn-nb.ovsschema';
const SB_SCHEMA = '/usr/share/ovn/ovn-sb.ovsschema';
const PY_WRITER = path.join(REPO, 'test/interop/py/cluster_writer.py');

let labs: ClusterLab[] = [];
afterEach(async () => {
  for (const l of labs) await l.cleanup();
  labs = [];
});

function newLab(schemaFile: string): ClusterLab {
  const l = new ClusterLab({ schemaFile });
  labs.push(l);
  return l;
}

const remotes = (lab: ClusterLab) => lab.members.map((m) => m.remote).join(',');
const lines = (s: string) => s.split('\n').filter(Boolean).sort();

describe('leader-only clients of a cluster through a leader kill', () => {
  // The C cluster is the reference for the same expectations.
  it.each(['ours', 'c'] as const)('ovn-nbctl with several remotes and ovn-northd (%s cluster): NB leader killed, then SB leader killed', { timeout: 180_000 }, async (impl) => {
    const nb = newLab(NB_SCHEMA);
    const sb = newLab(SB_SCHEMA);
    await Promise.all([nb.build([impl, impl, impl]), sb.build([impl, impl, impl])]);
    const nbctl = (...args: string[]) => run('ovn-nbctl', ['--timeout=30', `--db=${remotes(nb)}`, ...args], { env: nb.env, timeoutMs: 40_000 });
    const sbctl = (...args: string[]) => run('ovn-sbctl', ['--timeout=30', `--db=${remotes(sb)}`, ...args], { env: sb.env, timeoutMs: 40_000 });
    const portBindings = async () => lines((await sbctl('--bare', '--columns=logical_port', 'list', 'Port_Binding')).stdout);

    expect(await nbctl('init')).toMatchObject({ code: 0, stderr: '' });
    const northdLog = nb.file('northd.log');
    const northd = new Follower(nb, 'ovn-northd', [`--ovnnb-db=${remotes(nb)}`, `--ovnsb-db=${remotes(sb)}`, '--no-chdir', `--log-file=${northdLog}`, `--unixctl=${nb.file('northd.ctl')}`, '-vconsole:off']);
    expect(await nbctl('ls-add', 'sw0')).toMatchObject({ code: 0, stderr: '' });
    expect(await nbctl('lsp-add', 'sw0', 'p1')).toMatchObject({ code: 0, stderr: '' });
    await waitFor(async () => (await portBindings()).join() === 'p1', 'northd to bind p1');
    expect(await nbctl('--wait=sb', 'sync')).toMatchObject({ code: 0, stderr: '' });

    // The NB leader dies; ovn-nbctl started at once tries each remote once (retry off, one try per remote,
    // as in the reference): before the election is over it may give up; once there is a leader it finds it.
    const nbLeader = (await waitStable(nb)).leader;
    await nbLeader.kill9();
    const failures = new Set<string>();
    await waitFor(async () => {
      const r = await nbctl('--may-exist', 'ls-add', 'sw1');
      if (r.code !== 0) failures.add(r.stderr.replace(/\(.*\)\n$/, '(...)\n'));
      return r.code === 0 || void (await sleep(200));
    }, 'ovn-nbctl to find the new leader', 30_000);
    expect([...failures].filter((f) => f !== `ovn-nbctl: ${remotes(nb)}: database connection failed (...)\n`)).toEqual([]);
    await waitStable(nb, { members: nb.running });
    expect(await nbctl('ls-add', 'sw9')).toMatchObject({ code: 0, stderr: '' }); // a leader: first try
    expect(await nbctl('ls-del', 'sw9')).toMatchObject({ code: 0, stderr: '' });
    expect(await nbctl('lsp-add', 'sw1', 'p2')).toMatchObject({ code: 0, stderr: '' });
    await waitFor(async () => (await portBindings()).join() === 'p1,p2', 'northd (moved to the new NB leader) to bind p2');
    expect(await nbctl('--wait=sb', 'sync')).toMatchObject({ code: 0, stderr: '' });

    // The SB leader dies: northd moves to the new one and goes on.
    const sbLeader = (await waitStable(sb)).leader;
    await sbLeader.kill9();
    expect(await nbctl('lsp-add', 'sw1', 'p3')).toMatchObject({ code: 0, stderr: '' });
    await waitFor(async () => (await portBindings()).join() === 'p1,p2,p3', 'northd (moved to the new SB leader) to bind p3');
    expect(await nbctl('--wait=sb', 'sync')).toMatchObject({ code: 0, stderr: '' });
    expect(northd.running).toBe(true);
    const log = fs.readFileSync(northdLog, 'utf8');
    expect(log).toContain('ovn-northd lock acquired. This ovn-northd instance is now active.');
    expect(log).toContain(`${nbLeader.remote}: connection closed by peer`);
    expect(log).toContain(`${sbLeader.remote}: connection closed by peer`);

    // Restarted, the old leaders catch up; every write is on every member exactly once.
    await Promise.all([nbLeader.start(), sbLeader.start()]);
    for (const lab of [nb, sb]) {
      await waitStable(lab, { expectServers: 3 });
      await waitConverged(lab);
    }
    for (const m of nb.members) {
      const ls = await m.select('Logical_Switch', ['name']);
      const lsp = await m.select('Logical_Switch_Port', ['name']);
      expect({ m: m.name, ls: ls.map((r) => r.name).sort(), lsp: lsp.map((r) => r.name).sort() }).toEqual({ m: m.name, ls: ['sw0', 'sw1'], lsp: ['p1', 'p2', 'p3'] });
    }
    for (const m of sb.members) expect((await m.select('Port_Binding', ['logical_port'])).map((r) => r.logical_port).sort()).toEqual(['p1', 'p2', 'p3']);
    await northd.stop();
    for (const lab of [nb, sb]) expect((await lab.checkCluster()).code).toBe(0);
  });

  it.each(['ours', 'c'] as const)('the Python IDL (leader_only) goes on writing through a leader kill (%s cluster)', { timeout: 180_000 }, async (impl) => {
    const nb = newLab(NB_SCHEMA);
    await nb.build([impl, impl, impl]);
    const stop = nb.file('stop');
    const py = new Follower(nb, '/usr/bin/python3', [PY_WRITER, remotes(nb), NB_SCHEMA, 'py', stop]);
    const acks = () => py.lines.filter((l) => l.startsWith('ack ')).length;
    const server = () => py.lines.filter((l) => l.startsWith('server ')).at(-1)?.slice(7);

    await py.waitFor(() => acks() >= 20, '20 acknowledged IDL writes');
    const leader: Member = (await waitStable(nb)).leader;
    expect(server()).toBe(leader.remote); // leader-only: the IDL writes to the leader
    await leader.kill9();
    const before = acks();
    await py.waitFor(() => acks() >= before + 20, '20 more acknowledged IDL writes after the kill');
    const next = (await waitStable(nb)).leader;
    expect(server()).toBe(next.remote);

    await leader.start();
    fs.writeFileSync(stop, '');
    expect(await py.exited).toBe(0);
    await waitStable(nb, { expectServers: 3 });
    const dump = await waitConverged(nb);
    expect(dump).toContain('Logical_Switch table');

    const acked = py.lines.filter((l) => l.startsWith('ack ')).map((l) => l.slice(4));
    const unknown = py.lines.filter((l) => l.startsWith('unknown ')).map((l) => l.split(' ')[1]!);
    const names = (await next.select('Logical_Switch', ['name'])).map((r) => r.name as string);
    const counts = new Map<string, number>();
    for (const n of names) counts.set(n, (counts.get(n) ?? 0) + 1);
    // Each acknowledged row once; an unknown outcome (the kill) at most once; nothing else.
    expect(acked.filter((n) => counts.get(n) !== 1)).toEqual([]);
    expect(unknown.filter((n) => (counts.get(n) ?? 0) > 1)).toEqual([]);
    expect(names.filter((n) => !acked.includes(n) && !unknown.includes(n))).toEqual([]);
    console.log(`Python IDL through a leader kill (${impl}): ${acked.length} acknowledged, ${unknown.length} unknown (${py.lines.filter((l) => l.startsWith('unknown ')).join('; ')})`);
    expect((await nb.checkCluster()).code).toBe(0);
  });
});
