// OVN's unchanged ovn-ctl with its cluster options (raft.md §4.6) building and joining Raft clusters: three
// nodes on 127.0.0.1/2/3 (same Raft port, own run/db/log dirs), `start_nb_ovsdb` with
// --db-nb-cluster-local-addr / --db-nb-cluster-remote-addr / --db-nb-election-timer and `start_sb_ovsdb` with
// the SB options. The server is the one first in PATH: ours (bin/ first) or the reference, per node, so the
// same run covers all-ours, the reference itself, and mixed clusters. Every composition has the same
// expectations: ovn-ctl's output, `status_ovnnb`/`status_ovnsb`, `cluster/status` (leader, term, election
// timer, servers), leader-only ovn-nbctl/ovn-sbctl with several remotes, a follower restarted, the leader
// stopped (leadership transfer) and restarted, `stop_*`, and `ovsdb-tool check-cluster` on the files.
import { afterEach, describe, expect, it } from 'vitest';
import { run, waitFor, type Impl } from './lib/harness.ts';
import { parseClusterStatus, type ClusterStatus } from './lib/cluster.ts';
import { OvnNode, freePorts, pidAlive, type DbKind } from './ops-lib/ovn-node.ts';

let nodes: OvnNode[] = [];
afterEach(async () => {
  for (const n of nodes) await n.cleanup();
  nodes = [];
});

const DB = { nb: { name: 'OVN_Northbound', label: 'ovsdb-nb', ctl: 'ovnnb_db' }, sb: { name: 'OVN_Southbound', label: 'ovsdb-sb', ctl: 'ovnsb_db' } } as const;

interface Cluster {
  db: DbKind;
  raftPort: number;
  clientPorts: number[];
  electionTimer?: number;
}

/** ovn-ctl's options for node i of a cluster (node 0 creates it, the others join through node 0). */
function optionsFor(c: Cluster, i: number): string[] {
  const d = c.db;
  const args = [
    `--db-${d}-cluster-local-addr=127.0.0.${i + 1}`,
    `--db-${d}-cluster-local-port=${c.raftPort}`,
    `--db-${d}-addr=127.0.0.1`,
    `--db-${d}-port=${c.clientPorts[i]}`,
    `--db-${d}-create-insecure-remote=yes`,
  ];
  if (c.electionTimer !== undefined) args.push(`--db-${d}-election-timer=${c.electionTimer}`);
  if (i > 0) args.push(`--db-${d}-cluster-remote-addr=127.0.0.1`, `--db-${d}-cluster-remote-port=${c.raftPort}`);
  return args;
}

/**
 * What `ovsdb-client wait` (inside ovn-ctl) logs on stderr, timestamps aside: connecting, connected — and,
 * when the joiner installs its first snapshot while the client waits, the reset of that connection
 * (`database X connected to storage` disconnects clients that are not db-change-aware) and a reconnection.
 */
function waitLines(n: OvnNode, db: DbKind): RegExp {
  const sock = `unix:${n.sock(db)}`.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const line = (module: string, text: string) => `\\S+\\|\\d{5}\\|${module}\\|${sock}: ${text}\\n`;
  const connect = line('reconnect\\|INFO', 'connecting\\.\\.\\.') + line('reconnect\\|INFO', 'connected');
  const reset = line('jsonrpc\\|WARN', 'receive error: Connection reset by peer') + line('reconnect\\|WARN', 'connection dropped \\(Connection reset by peer\\)');
  return new RegExp(`^${connect}(?:${reset}${connect})?$`);
}

async function status(n: OvnNode, db: DbKind): Promise<ClusterStatus> {
  const r = await n.appctl(db, 'cluster/status', DB[db].name);
  expect(r.code).toBe(0);
  return parseClusterStatus(r.stdout);
}

/** Until the given nodes agree on one leader in one term, all cluster members of `servers` servers. */
async function stable(ns: OvnNode[], db: DbKind, servers = 3): Promise<{ leader: OvnNode; statuses: ClusterStatus[] }> {
  let why = '';
  return waitFor(async () => {
    const st = await Promise.all(ns.map((n) => status(n, db)));
    const leaders = st.filter((s) => s.role === 'leader');
    if (leaders.length !== 1) return void (why = `${leaders.length} leaders`);
    const l = leaders[0]!;
    const ok = st.every((s) => s.term === l.term && s.status === 'cluster member' && s.servers.length === servers && (s === l ? s.leader === 'self' : s.leader === l.nick));
    if (!ok) return void (why = st.map((s) => `${s.nick} ${s.role} ${s.term} ${s.leader} ${s.status}`).join('; '));
    return { leader: ns[st.indexOf(l)]!, statuses: st };
  }, `a stable ${db} cluster (${(() => why)()})`, 60_000);
}

async function list(n: OvnNode, db: DbKind, ...remote: string[]): Promise<string[]> {
  const [cmd, table] = db === 'nb' ? ['nbctl', 'Logical_Switch'] : ['sbctl', 'Chassis'];
  const r = await n[cmd as 'nbctl' | 'sbctl'](...remote, '--no-leader-only', '--bare', '--columns=name', 'list', table);
  expect(r.stderr).toBe('');
  return r.stdout.split('\n').filter(Boolean).sort();
}

async function startAll(ns: OvnNode[], c: Cluster): Promise<void> {
  const { db } = c;
  for (const [i, n] of ns.entries()) {
    const r = await n.ovnCtl(...optionsFor(c, i), `start_${db}_ovsdb`);
    const file = n.dbFile(db);
    const first = i === 0 ? `Creating cluster database ${file}.\n` : `Joining ${file} to cluster.\n`;
    expect({ node: i, code: r.code, stdout: r.stdout }).toEqual({ node: i, code: 0, stdout: `${first}Starting ${DB[db].label}.\nWaiting for ${DB[db].name} to come up.\n` });
    expect(r.stderr).toMatch(waitLines(n, db));
    expect(await n.status(db)).toBe('running/active\n');
  }
}

async function checkFiles(ns: OvnNode[], db: DbKind): Promise<void> {
  const r = await run('ovsdb-tool', ['check-cluster', ...ns.map((n) => n.dbFile(db))]);
  expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 0, stdout: '', stderr: '' });
}

const COMPOSITIONS: Impl[][] = [
  ['real', 'real', 'real'], // the reference
  ['ours', 'ours', 'ours'],
  ['ours', 'real', 'ours'], // ours creates, C joins
  ['real', 'ours', 'real'], // C creates, ours joins
];

describe.each(COMPOSITIONS)('ovn-ctl cluster options, nodes %s / %s / %s', (...impls) => {
  it('start_nb_ovsdb / start_sb_ovsdb create and join, status, clients, restarts, stop', { timeout: 180_000 }, async () => {
    nodes = impls.map((impl, i) => new OvnNode(impl, `n${i}`));
    const [nbRaft, sbRaft] = await freePorts(2);
    const ports = await freePorts(6);
    const nb: Cluster = { db: 'nb', raftPort: nbRaft!, clientPorts: ports.slice(0, 3), electionTimer: 2000 };
    const sb: Cluster = { db: 'sb', raftPort: sbRaft!, clientPorts: ports.slice(3) };
    const remotes = (c: Cluster) => `--db=${c.clientPorts.map((p) => `tcp:127.0.0.1:${p}`).join(',')}`;

    await startAll(nodes, nb);
    await startAll(nodes, sb);

    // cluster/status: node 0 leads; the NB cluster's first term is 2 (create-cluster --election-timer, R17).
    for (const c of [nb, sb]) {
      const { leader, statuses } = await stable(nodes, c.db);
      expect(leader).toBe(nodes[0]);
      const addrs = statuses.map((s) => s.fields.Address);
      expect(addrs).toEqual([1, 2, 3].map((i) => `tcp:127.0.0.${i}:${c.raftPort}`));
      for (const s of statuses) {
        expect(s.term).toBe(c.electionTimer ? 2 : 1);
        expect(s.fields['Election timer']).toBe(String(c.electionTimer ?? 1000));
        expect(s.servers).toEqual(statuses.map((x) => `${x.nick} (${x.nick} at ${x.fields.Address})`).sort());
      }
    }

    // Leader-only clients with every node's remote find the leader and write.
    expect(await nodes[1]!.nbctl(remotes(nb), 'ls-add', 'sw0')).toMatchObject({ code: 0, stderr: '' });
    expect(await nodes[2]!.sbctl(remotes(sb), 'chassis-add', 'ch0', 'geneve', '127.0.0.9')).toMatchObject({ code: 0, stderr: '' });
    for (const n of nodes) {
      await waitFor(async () => (await list(n, 'nb')).join() === 'sw0', `${n.name} has sw0`);
      await waitFor(async () => (await list(n, 'sb')).join() === 'ch0', `${n.name} has ch0`);
    }

    // A follower restarted through ovn-ctl: its file exists, so it only starts.
    const f = nodes[2]!;
    const fpid = f.pid('nb')!;
    expect(await f.ovnCtl('stop_nb_ovsdb')).toMatchObject({ code: 0, stdout: `Exiting ovnnb_db (${fpid}).\n`, stderr: '' });
    expect(await f.status('nb')).toBe('not-running\n');
    expect(await nodes[0]!.nbctl(remotes(nb), 'ls-add', 'sw1')).toMatchObject({ code: 0, stderr: '' });
    const r = await f.ovnCtl(...optionsFor(nb, 2), 'start_nb_ovsdb');
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 0, stdout: 'Starting ovsdb-nb.\nWaiting for OVN_Northbound to come up.\n' });
    expect(r.stderr).toMatch(waitLines(f, 'nb'));
    await waitFor(async () => (await list(f, 'nb')).join() === 'sw0,sw1', 'the restarted follower catches up');

    // The leader stopped: it hands leadership over; the two others go on and take writes.
    const l = nodes[0]!;
    const lpid = l.pid('nb')!;
    expect(await l.ovnCtl('stop_nb_ovsdb')).toMatchObject({ code: 0, stdout: `Exiting ovnnb_db (${lpid}).\n`, stderr: '' });
    await waitFor(() => !pidAlive(lpid), 'the old leader to exit');
    const { leader: next, statuses } = await stable(nodes.slice(1), 'nb');
    expect(statuses[0]!.term).toBe(3);
    expect(next.log('nb')).toMatch(/raft\|INFO\|received leadership transfer from \w{4} in term 2/);
    expect(await nodes[1]!.nbctl(remotes(nb), 'ls-add', 'sw2')).toMatchObject({ code: 0, stderr: '' });

    // Restarted, the creator rejoins as a follower. (ovn-ctl runs `ovn-nbctl init` at once, which fails
    // while the member has not yet seen the leader: in the reference too.)
    const r2 = await l.ovnCtl(...optionsFor(nb, 0), 'start_nb_ovsdb');
    expect({ code: r2.code, stdout: r2.stdout }).toEqual({ code: 0, stdout: 'Starting ovsdb-nb.\nWaiting for OVN_Northbound to come up.\n' });
    expect(r2.stderr.replace(`ovn-nbctl: unix:${l.sock('nb')}: database connection failed ()\n`, '')).toMatch(waitLines(l, 'nb'));
    const again = await stable(nodes, 'nb');
    expect(again.leader).toBe(next);
    for (const n of nodes) await waitFor(async () => (await list(n, 'nb')).join() === 'sw0,sw1,sw2', `${n.name} has sw0..sw2`);

    // stop_* everywhere, then the files pass check-cluster.
    for (const db of ['nb', 'sb'] as const) {
      for (const n of nodes) {
        const pid = n.pid(db)!;
        expect(await n.ovnCtl(`stop_${db}_ovsdb`)).toMatchObject({ code: 0, stdout: `Exiting ${DB[db].ctl} (${pid}).\n`, stderr: '' });
        await waitFor(() => !pidAlive(pid), `${n.name} ${db} to exit`);
        expect(await n.status(db)).toBe('not-running\n');
      }
      await checkFiles(nodes, db);
    }
  });
});
