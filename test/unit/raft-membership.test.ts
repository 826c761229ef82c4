// RaftCore membership and operator behaviour (raft.md §2.6.5–§2.6.11, §4.3): joins, leaves, kicks, leadership
// transfer, election-timer changes, compaction and snapshot install, failure tests, the envelope checks.
import { describe, expect, it } from 'vitest';
import { RaftCore } from '../../raft/core.ts';
import type { RaftMessage } from '../../raft/types.ts';
import { CID, Harness, SNAP_EID, sidOf, type Sent } from '../raft-sim/harness.ts';

const S1 = sidOf('s1');
const S2 = sidOf('s2');
const S3 = sidOf('s3');

function elect(h: Harness, name: string): void {
  const n = h.node(name);
  const other = [...h.nodes.keys()].find((k) => k !== name)!;
  n.core.receive(other, { type: 'become_leader', cluster: CID, to: n.sid, from: sidOf(other), term: n.core.term() });
  h.flush(n);
  h.deliver();
  expect(n.core.isLeader()).toBe(true);
}

/** Shape of a message without the envelope members (and without bulky snapshot data). */
function shape(m: RaftMessage): Record<string, unknown> {
  const { cluster: _c, from: _f, to: _t, ...rest } = m as unknown as Record<string, unknown>;
  if ('data' in rest && m.type === 'install_snapshot_request') rest.data = '…';
  if ('lastServers' in rest) rest.lastServers = [...(rest.lastServers as Map<string, string>).keys()];
  return rest;
}

const between = (a: string, b: string) => (m: Sent) => (m.from === a && m.to === b) || (m.from === b && m.to === a);

describe('adding a server (§2.6.7)', () => {
  it('initialize new server → mismatch past end of log → install_snapshot → snapshot installed → configuration entry → completed', () => {
    const h = new Harness();
    const s1 = h.add('s1', h.memberHeader('s1', h.snapshot(['s1'])));
    const eid = '12121212-0000-4000-8000-000000000001';
    s1.core.propose({ data: [null, { one: 1 }], prereq: SNAP_EID, result: eid });
    h.flush(s1);
    const j = h.add('s2', h.joiningHeader('s2', ['s1']));
    expect(j.core.status()).toMatchObject({ status: 'joining cluster', cid: null, remotesForJoining: ['unix:s1.raft'], logStart: 1, logEnd: 1, term: 0 });
    expect(j.core.isConnected()).toBe(false);
    h.connectJoin('s2', 's1');
    h.deliver();
    const exchange = h.sent.filter(between('s1', 's2')).filter((m) => m.msg.type !== 'hello_request');
    expect(exchange.map((m) => [m.from === 's2' ? 'J→L' : 'L→J', shape(m.msg)])).toEqual([
      ['J→L', { type: 'add_server_request', address: 'unix:s2.raft' }],
      ['L→J', { type: 'append_request', comment: 'initialize new server', term: 1, prevLogIndex: 3, prevLogTerm: 1, leaderCommit: 3, log: [] }],
      ['J→L', { type: 'append_reply', comment: 'mismatch past end of log', term: 1, logEnd: 1, prevLogIndex: 3, prevLogTerm: 1, nEntries: 0, result: 'inconsistency' }],
      [
        'L→J',
        { type: 'install_snapshot_request', term: 1, lastIndex: 1, lastTerm: 1, lastEid: SNAP_EID, lastServers: [S1], electionTimer: 1000, data: '…' },
      ],
      ['J→L', { type: 'install_snapshot_reply', term: 1, lastIndex: 1, lastTerm: 1 }],
      [
        'L→J',
        {
          type: 'append_request',
          comment: 'snapshot installed',
          term: 1,
          prevLogIndex: 1,
          prevLogTerm: 1,
          leaderCommit: 3,
          log: [{ term: 1 }, { term: 1, data: [null, { one: 1 }], eid }],
        },
      ],
      ['J→L', { type: 'append_reply', comment: 'log updated', term: 1, logEnd: 4, prevLogIndex: 1, prevLogTerm: 1, nEntries: 2, result: 'OK' }],
      [
        'L→J',
        {
          type: 'append_request',
          comment: 'execute command',
          term: 1,
          prevLogIndex: 3,
          prevLogTerm: 1,
          leaderCommit: 3,
          log: [{ term: 1, servers: new Map([[S1, 'unix:s1.raft'], [S2, 'unix:s2.raft']]) }],
        },
      ],
      ['J→L', { type: 'append_reply', comment: 'log updated', term: 1, logEnd: 5, prevLogIndex: 3, prevLogTerm: 1, nEntries: 1, result: 'OK' }],
      ['L→J', { type: 'add_server_reply', comment: 'completed', success: true, remoteAddresses: ['unix:s2.raft'] }],
      ['L→J', { type: 'append_request', comment: 'heartbeat', term: 1, prevLogIndex: 4, prevLogTerm: 1, leaderCommit: 4, log: [] }],
      ['J→L', expect.objectContaining({ type: 'append_reply', comment: 'heartbeat', logEnd: 5 })],
    ]);
    // The first add_server_request has neither cluster nor to.
    expect(exchange[0]!.msg).toEqual({ type: 'add_server_request', from: S2, address: 'unix:s2.raft' });
    expect(s1.logText()).toEqual(
      expect.arrayContaining([
        'starting to add server s2 (0002 at unix:s2.raft) to cluster c1d0',
        'sending snapshot to server s2, 1:1.',
        'cluster c1d0: installed snapshot on server s2  up to 1:1',
        'adding s2 (0002 at unix:s2.raft) to cluster c1d0 succeeded (completed)',
      ]),
    );
    // s1 is not yet in the joiner's configuration: it is named by its sid.
    expect(j.logText()).toEqual(expect.arrayContaining(['learned cluster ID c1d0', 'server 0001 is leader for term 1']));
    expect(j.logs.find((l) => l.text === 'learned cluster ID c1d0')!.module).toBe('raft_rpc');
    // The joiner's file was replaced by the snapshot it installed (a member header now), then the entries.
    expect(j.records().filter((r) => r.type === 'replace' || r.type === 'entry').map((r) => (r.type === 'entry' ? r.index : r.type))).toEqual(['replace', 2, 3, 4]);
    const replace = j.writes.find((w) => w.kind === 'replace')!;
    expect(replace.kind === 'replace' && replace.header).toMatchObject({ kind: 'member', sid: S2, cid: CID, snapshot: { index: 1, term: 1, eid: SNAP_EID } });
    expect(j.disk.durable.state().header.kind).toBe('member');
    // Joined: a member, connected, with the database loaded and the history applied.
    expect(j.core.status()).toMatchObject({ status: 'cluster member', cid: CID, leader: 's1', logStart: 2, logEnd: 5 });
    expect(j.core.isConnected()).toBe(true);
    expect(j.snapshots.map((s) => s.eid)).toEqual([SNAP_EID]);
    expect(j.core.lastAppliedEid()).toBe(eid);
    expect(s1.core.status().servers.map((s) => [s.nickname, s.nextIndex, s.matchIndex])).toEqual([
      ['s1', 2, 4],
      ['s2', 5, 4],
    ]);
  });

  it('quirk R2: a retried add_server_request while committing gets "in progress" and then "already in cluster"', () => {
    const h = new Harness();
    const s1 = h.add('s1', h.memberHeader('s1', h.snapshot(['s1'])));
    h.add('s2', h.joiningHeader('s2', ['s1']));
    h.connectJoin('s2', 's1');
    // Everything up to the configuration entry, but not J's acknowledgement of it.
    const isConfigAck = (m: Sent) => m.from === 's2' && m.msg.type === 'append_reply' && m.msg.logEnd === 4;
    h.deliver((m) => !isConfigAck(m));
    expect(s1.core.status().servers.map((s) => s.phase)).toEqual([null, 'adding: committing']);
    const retry = { type: 'add_server_request' as const, cluster: CID, to: S1, from: S2, address: 'unix:s2.raft' };
    s1.core.receive('s2', retry);
    h.flush(s1);
    const replies = h.inflight.filter((m) => m.msg.type === 'add_server_reply').map((m) => shape(m.msg));
    expect(replies).toEqual([
      { type: 'add_server_reply', comment: 'in progress', success: false, remoteAddresses: ['unix:s2.raft'] },
      { type: 'add_server_reply', comment: 'already in cluster', success: true, remoteAddresses: ['unix:s2.raft'] },
    ]);
  });

  it('a non-leader answers "not leader" with the addresses it knows; the joiner learns them', () => {
    const h = Harness.cluster(3);
    elect(h, 's1');
    const j = h.add('s9', h.joiningHeader('s9', ['s2']));
    h.connectJoin('s9', 's2');
    h.deliver((m) => m.to === 's2' || m.to === 's9');
    const reply = h.sent.find((m) => m.msg.type === 'add_server_reply')!;
    expect(shape(reply.msg)).toEqual({ type: 'add_server_reply', comment: 'not leader', success: false, remoteAddresses: ['unix:s1.raft', 'unix:s3.raft'] });
    expect(j.logText()).toEqual(expect.arrayContaining(['unix:s1.raft: learned new server address for joining cluster']));
    expect(j.core.desiredConnections().map((d) => d.address)).toEqual(['unix:s2.raft', 'unix:s1.raft', 'unix:s3.raft']);
    expect(j.core.leave()).toEqual({ ok: false, error: "can't leave while join in progress" });
  });

  it('the join session closing while catching up makes the leader forget the joiner', () => {
    const h = new Harness();
    const s1 = h.add('s1', h.memberHeader('s1', h.snapshot(['s1'])));
    h.add('s2', h.joiningHeader('s2', ['s1']));
    h.connectJoin('s2', 's1');
    h.deliver((m) => m.msg.type === 'add_server_request');
    expect(s1.core.status().adding).toHaveLength(1);
    s1.core.sessionClosed('s2');
    h.flush(s1);
    expect(s1.core.status().adding).toEqual([]);
    expect(s1.logText()).toContain('cluster c1d0: server s2 (unix:s2.raft) disconnected while joining');
    expect(s1.core.status().disconnections).toBe(1);
  });
});

describe('leaving and kicking (§2.6.9, §4.3)', () => {
  it('cluster/leave on a follower: remove_server_request to everyone, "completed", note "left"', () => {
    const h = Harness.cluster(3);
    elect(h, 's1');
    const s2 = h.node('s2');
    expect(s2.core.leave()).toEqual({ ok: true, reply: '' });
    expect(s2.core.leave()).toEqual({ ok: false, error: 'already in progress leaving cluster' });
    h.flush(s2);
    expect(s2.core.status().status).toBe('leaving cluster');
    expect(h.inflight.filter((m) => m.from === 's2').map((m) => [m.to, shape(m.msg)])).toEqual([
      ['s1', { type: 'remove_server_request', serverId: S2 }],
      ['s3', { type: 'remove_server_request', serverId: S2 }],
    ]);
    h.deliver();
    expect(h.sent.filter((m) => m.msg.type === 'remove_server_reply').map((m) => [m.from, m.to, shape(m.msg)])).toEqual([
      ['s3', 's2', { type: 'remove_server_reply', comment: 'not leader', success: false }],
      ['s1', 's2', { type: 'remove_server_reply', comment: 'completed', success: true }],
    ]);
    expect(s2.left).toBe(true);
    expect(s2.core.hasLeft()).toBe(true);
    expect(s2.records().at(-1)).toEqual({ type: 'note', note: 'left', comment: 'this server left the cluster' });
    expect(s2.logText()).toEqual(expect.arrayContaining(['0002: starting to leave cluster c1d0', '0002: finished leaving cluster c1d0']));
    // On commit the removed server is out of the configuration, so it is named by its sid (as in OVS).
    expect(h.node('s1').logText()).toContain('request by 0002 to remove itself from cluster c1d0 succeeded (completed)');
    expect([...h.node('s1').core.configuration().keys()]).toEqual([S1, S3]);
    expect(() => h.restart('s2')).toThrow(/left the cluster/);
  });

  it('(improvement) a leave retried while its removal commits gets "in progress", not an early "already not in cluster"', () => {
    const h = Harness.cluster(3);
    elect(h, 's1');
    const s2 = h.node('s2');
    s2.core.leave();
    h.flush(s2);
    // The leader starts the removal; nobody acknowledges the new configuration yet.
    h.deliver((m) => m.to === 's1' && m.msg.type === 'remove_server_request');
    h.drop(() => true);
    expect(h.node('s1').core.status().removing).toMatchObject({ nickname: 's2', phase: 'removing' });
    h.advance(1000, ['s2']); // the retry, every E
    h.deliver((m) => m.to === 's1' && m.msg.type === 'remove_server_request');
    const replies = h.inflight.filter((m) => m.msg.type === 'remove_server_reply').map((m) => [m.to, shape(m.msg)]);
    expect(replies).toEqual([['s2', { type: 'remove_server_reply', comment: 'in progress', success: false }]]);
    h.deliver((m) => m.msg.type === 'remove_server_reply');
    expect(s2.left).toBe(false);
    expect(s2.core.isLeaving()).toBe(true);
    h.runUntil(() => s2.left);
    expect([...h.node('s1').core.configuration().keys()]).toEqual([S1, S3]);
  });

  it('cluster/kick: unknown or ambiguous server, on the leader "started removal", on a follower via the leader', () => {
    const h = Harness.cluster(3);
    elect(h, 's1');
    const s1 = h.node('s1');
    const s2 = h.node('s2');
    expect(s1.core.kick('nosuch')).toEqual({ ok: false, error: 'unknown server' });
    expect(s1.core.kick('000')).toEqual({ ok: false, error: 'unknown server' }); // a prefix of all three
    // Kick on a follower goes to the leader, which answers both requester and target on commit.
    expect(s2.core.kick('unix:s3.raft')).toEqual({ ok: true, reply: 'sent removal request to leader' });
    h.flush(s2);
    expect(shape(h.inflight.at(-1)!.msg)).toEqual({ type: 'remove_server_request', comment: 'via unixctl', serverId: S3 });
    h.deliver();
    expect(h.sent.filter((m) => m.msg.type === 'remove_server_reply').map((m) => [m.to, shape(m.msg)])).toEqual([
      ['s2', { type: 'remove_server_reply', comment: 'completed', success: true, targetServer: S3 }],
      ['s3', { type: 'remove_server_reply', comment: 'completed', success: true }],
    ]);
    expect(h.node('s3').left).toBe(true);
    expect(s1.logText()).toContain('request by s2 to remove 0003 from cluster c1d0 succeeded (completed)');
    // Kick on the leader.
    expect(s1.core.kick('0002')).toEqual({ ok: true, reply: 'started removal' });
    h.flush(s1);
    h.deliver();
    expect(s2.left).toBe(true);
    expect(s1.logText()).toContain('request via unixctl to remove 0002 from cluster c1d0 succeeded (completed)');
    expect([...s1.core.configuration().keys()]).toEqual([S1]);
    // A follower without a leader cannot send it.
    const h2 = Harness.cluster(3);
    expect(h2.node('s2').core.kick('0003')).toEqual({ ok: false, error: 'failed to send removal request' });
  });

  it('quirk R7: on a one-server cluster any string matches the only server, so kick behaves as leave (R11: forever)', () => {
    const h = new Harness();
    const s1 = h.add('s1', h.memberHeader('s1', h.snapshot(['s1'])));
    expect(s1.core.kick('zzz')).toEqual({ ok: true, reply: '' });
    h.flush(s1);
    expect(s1.core.status().status).toBe('leaving cluster');
    expect(s1.core.kick('zzz')).toEqual({ ok: false, error: 'already in progress leaving cluster' });
    h.advance(5000);
    expect(s1.core.status().status).toBe('leaving cluster');
    expect(s1.core.nextTimeout()).toBeGreaterThan(h.now); // nothing to do, but no busy loop either
  });
});

describe('leadership transfer (§2.6.8)', () => {
  it('on shutdown: become_leader to the first stable connected peer, a note, pending commands fail; the peer campaigns', () => {
    const h = Harness.cluster(3);
    elect(h, 's1');
    const s1 = h.node('s1');
    h.disconnect('s1', 's2'); // the first peer is not connected: s3 it is
    s1.core.propose({ data: [null, {}], prereq: SNAP_EID, result: '77777777-0000-4000-8000-000000000001' });
    h.flush(s1);
    h.drop(() => true);
    s1.core.shutdown();
    h.flush(s1);
    expect(h.inflight.map((m) => [m.to, shape(m.msg)])).toEqual([['s3', { type: 'become_leader', comment: 'this server is shutting down', term: 1 }]]);
    expect(s1.records().at(-1)).toEqual({ type: 'note', note: 'transfer leadership', comment: 'transferring leadership to s3 because this server is shutting down' });
    expect(s1.results).toEqual([{ eid: '77777777-0000-4000-8000-000000000001', status: 'server shutdown', commitIndex: 0 }]);
    h.deliver((m) => m.from === 's1'); // the process sends, then exits
    h.crash('s1');
    h.deliver();
    const s3 = h.node('s3');
    expect(s3.logText()).toContain('received leadership transfer from s1 in term 1');
    expect(h.sentOf('vote_request', 's3').map((m) => m.leadershipTransfer)).toEqual([true, true]);
    expect(s3.core.isLeader()).toBe(true);
    expect(s3.core.status()).toMatchObject({ term: 2, lastElectionReason: 'leadership_transfer' });
  });

  it('a leader leaving transfers leadership first ("this server is leaving the cluster")', () => {
    const h = Harness.cluster(3);
    elect(h, 's1');
    const s1 = h.node('s1');
    s1.core.leave();
    h.flush(s1);
    expect(s1.core.role()).toBe('follower');
    expect(shape(h.inflight[0]!.msg)).toEqual({ type: 'become_leader', comment: 'this server is leaving the cluster', term: 1 });
    h.runUntil(() => s1.left);
    expect([...h.leader()!.core.configuration().keys()].sort()).toEqual([S2, S3].sort());
  });

  it('a non-follower ignores become_leader', () => {
    const h = Harness.cluster(3);
    elect(h, 's1');
    const s1 = h.node('s1');
    s1.core.receive('s2', { type: 'become_leader', cluster: CID, to: S1, from: S2, term: 1 });
    h.flush(s1);
    expect(s1.core.term()).toBe(1);
    expect(s1.core.isLeader()).toBe(true);
  });
});

describe('cluster/change-election-timer (§2.6.11)', () => {
  it('exact replies, the entry, "(changing to …)", and every member adopting it on commit', () => {
    const h = Harness.cluster(3);
    elect(h, 's1');
    const s1 = h.node('s1');
    expect(h.node('s2').core.changeElectionTimer('2000')).toEqual({ ok: false, error: 'election timer must be changed through leader.' });
    expect(s1.core.changeElectionTimer('4000')).toEqual({ ok: false, error: 'election timer increase should not exceed the current value x 2.' });
    expect(s1.core.changeElectionTimer('99')).toEqual({ ok: false, error: 'election timer must be between 100 and 600000, in msec.' });
    expect(s1.core.changeElectionTimer('xyz')).toEqual({ ok: false, error: 'election timer must be between 100 and 600000, in msec.' });
    expect(s1.core.changeElectionTimer('1000')).toEqual({ ok: true, reply: 'change election timer to current value.' });
    expect(s1.core.changeElectionTimer('2000')).toEqual({ ok: true, reply: 'change of election timer initiated.' });
    expect(s1.core.changeElectionTimer('1500')).toEqual({ ok: false, error: 'election timer change pending.' });
    h.flush(s1);
    expect(s1.records().at(-1)).toEqual({ type: 'entry', term: 1, index: 3, entry: { term: 1, electionTimer: 2000 } });
    expect(s1.core.status()).toMatchObject({ electionTimer: 1000, electionTimerChangingTo: 2000 });
    h.deliver();
    for (const n of h.nodes.values()) {
      expect(n.core.electionTimer()).toBe(2000);
      expect(n.logText()).toContain('Election timer changed from 1000 to 2000');
    }
    expect(s1.core.status().electionTimerChangingTo).toBeNull();
    expect(s1.core.changeElectionTimer('4000')).toEqual({ ok: true, reply: 'change of election timer initiated.' });
    h.flush(s1);
    h.deliver();
    // A restart uses the last committed value.
    h.crash('s3');
    h.restart('s3');
    expect(h.node('s3').core.electionTimer()).toBe(4000);
    // Heartbeats follow the new value: E/3.
    const before = h.sentOf('append_request', 's1').length;
    h.advance(1333, ['s1']);
    expect(h.sentOf('append_request', 's1').length - before).toBe(2 * 1);
  });
});

describe('compaction and snapshot install (§1.7, §2.6.5)', () => {
  it('storeSnapshot refusals and the replacement file; the leader of several servers steps aside first', () => {
    const h = Harness.cluster(3);
    elect(h, 's1');
    const s1 = h.node('s1');
    for (let i = 1; i <= 3; i++) {
      s1.core.propose({ data: [null, { i }], prereq: s1.core.currentEid(), result: `88888888-0000-4000-8000-00000000000${i}` });
      h.flush(s1);
      h.deliver();
    }
    expect(s1.core.maySnapshot()).toBe(false);
    s1.core.snapshotRecommended();
    h.flush(s1);
    expect(s1.logText()).toContain('Transferring leadership to write a snapshot.');
    expect(s1.records().at(-1)).toEqual({ type: 'note', note: 'transfer leadership', comment: 'transferring leadership to s2 because preparing to write snapshot' });
    expect(s1.core.role()).toBe('follower');
    h.deliver();
    expect(h.node('s2').core.isLeader()).toBe(true);
    // Now a follower: it may snapshot, and the file is replaced by header + later entries + vote + commit index.
    expect(s1.core.maySnapshot()).toBe(true);
    const applied = s1.core.appliedIndex();
    const commit = s1.core.commitIndex();
    expect(s1.core.storeSnapshot([{ name: 'Ex' }, { compacted: true }], 4)).toEqual({ ok: true, reply: '' });
    h.flush(s1);
    const w = s1.writes.at(-1)!;
    expect(w.kind).toBe('replace');
    if (w.kind !== 'replace') return;
    expect(w.header.snapshot).toMatchObject({ index: 4, term: 1, eid: '88888888-0000-4000-8000-000000000002', electionTimer: 1000, data: [{ name: 'Ex' }, { compacted: true }] });
    expect([...w.header.snapshot.servers.keys()]).toEqual([S1, S2, S3]);
    expect(w.records).toEqual([
      { type: 'entry', term: 1, index: 5, entry: { term: 1, data: [null, { i: 3 }], eid: '88888888-0000-4000-8000-000000000003' } },
      { type: 'entry', term: 2, index: 6, entry: { term: 2 } },
      { type: 'vote', term: 2, vote: S2 }, // s1 voted for s2 in term 2
      { type: 'commit_index', commitIndex: commit },
    ]);
    expect(s1.core.status()).toMatchObject({ logStart: 5, logEnd: 7 });
    expect(applied).toBe(s1.core.appliedIndex());
    expect(s1.core.storeSnapshot([{ name: 'Ex' }, {}], 4)).toEqual({ ok: false, error: 'not storing a duplicate snapshot' });
    expect(s1.disk.durable.state().snapshot.index).toBe(4);
    const j = new Harness().add('s9', new Harness().joiningHeader('s9', ['s1']));
    expect(j.core.storeSnapshot([], 0)).toEqual({ ok: false, error: 'cannot store a snapshot while joining cluster' });
    s1.core.leave();
    expect(s1.core.storeSnapshot([], 5)).toEqual({ ok: false, error: 'cannot store a snapshot while leaving cluster' });
  });

  it('a follower behind the leader snapshot gets install_snapshot, one at a time; an obsolete install starts over', () => {
    const h = Harness.cluster(3);
    elect(h, 's1');
    const s1 = h.node('s1');
    h.disconnect('s1', 's3');
    h.disconnect('s2', 's3');
    for (let i = 1; i <= 3; i++) {
      s1.core.propose({ data: [null, { i }], prereq: s1.core.currentEid(), result: `99999999-0000-4000-8000-00000000000${i}` });
      h.flush(s1);
      h.deliver();
    }
    // A single-server-like compaction on the leader is refused by maySnapshot, but the app may still store one.
    expect(s1.core.storeSnapshot([{ name: 'Ex' }, { at: 5 }], 5)).toEqual({ ok: true, reply: '' });
    h.flush(s1);
    h.connect('s1', 's3');
    h.connect('s2', 's3');
    h.advance(333, ['s1']);
    // Heartbeat → mismatch → install_snapshot_request; a second mismatch does not send another.
    h.deliver((m) => m.msg.type !== 'install_snapshot_request');
    const rq = h.inflight.filter((m) => m.msg.type === 'install_snapshot_request');
    expect(rq.map((m) => shape(m.msg))).toEqual([
      { type: 'install_snapshot_request', term: 1, lastIndex: 5, lastTerm: 1, lastEid: '99999999-0000-4000-8000-000000000003', lastServers: [S1, S2, S3], electionTimer: 1000, data: '…' },
    ]);
    h.advance(333, ['s1']);
    h.deliver((m) => m.msg.type !== 'install_snapshot_request');
    expect(h.inflight.filter((m) => m.msg.type === 'install_snapshot_request')).toHaveLength(1);
    expect(s1.logText()).toContain('not sending snapshot to server s3, already in progress');
    // The reply names an older snapshot: start over.
    h.drop((m) => m.msg.type === 'install_snapshot_request');
    s1.core.receive('s3', { type: 'install_snapshot_reply', cluster: CID, to: S1, from: S3, term: 1, lastIndex: 3, lastTerm: 1 });
    h.flush(s1);
    expect(s1.logText()).toContain('cluster c1d0: server s3 installed out-of-date snapshot, starting over');
    expect(h.inflight.at(-1)!.msg).toMatchObject({ type: 'install_snapshot_request', comment: 'installed obsolete snapshot', lastIndex: 5 });
    h.deliver();
    const s3 = h.node('s3');
    expect(s3.core.status()).toMatchObject({ logStart: 6, logEnd: 6, commitIndex: 5 });
    expect(s3.snapshots.at(-1)!.data).toEqual([{ name: 'Ex' }, { at: 5 }]);
    expect(s3.core.lastAppliedEid()).toBe('99999999-0000-4000-8000-000000000003');
  });
});

describe('failure tests (§4.3)', () => {
  it('replies, and crash-before-sending-append-request: the entry is written, nothing sent, the core asks to crash', () => {
    const h = Harness.cluster(3);
    elect(h, 's1');
    const s1 = h.node('s1');
    expect(s1.core.setFailureTest('nonsense')).toEqual({ ok: false, error: 'unknown test scenario' });
    expect(s1.core.setFailureTest('clear')).toEqual({ ok: true, reply: 'test dismissed' });
    expect(s1.core.setFailureTest('crash-before-sending-append-request')).toEqual({ ok: true, reply: 'test engaged' });
    s1.core.propose({ data: [null, {}], prereq: SNAP_EID, result: 'aaaaaaaa-0000-4000-8000-000000000001' });
    h.flush(s1);
    expect(s1.crash).toBe('Raft test: crash before sending append_request.');
    expect(s1.records().at(-1)).toMatchObject({ type: 'entry', index: 3 });
    expect(h.inflight.filter((m) => m.from === 's1')).toEqual([]);
    // Inert afterwards.
    h.advance(2000, ['s1']);
    expect(h.inflight.filter((m) => m.from === 's1')).toEqual([]);
  });

  it('crash-after-sending-execute-command-reply fires once the reply is out', () => {
    const h = Harness.cluster(3);
    elect(h, 's1');
    const s1 = h.node('s1');
    s1.core.setFailureTest('crash-after-sending-execute-command-reply');
    h.node('s2').core.propose({ data: [null, {}], prereq: SNAP_EID, result: 'aaaaaaaa-0000-4000-8000-000000000002' });
    h.flush(h.node('s2'));
    h.deliver((m) => m.msg.type === 'execute_command_request');
    h.deliver((m) => m.from !== 's1' || m.msg.type === 'append_request');
    expect(s1.crash).toBe('Raft test: crash after sending execute_command_reply.');
    expect(h.inflight.filter((m) => m.from === 's1').map((m) => m.msg.type)).toEqual(['execute_command_reply']);
  });

  it('delay-election, dont-send-vote-request, stop-raft-rpc, transfer-leadership', () => {
    const h = Harness.cluster(3);
    elect(h, 's1');
    const s2 = h.node('s2');
    const before = s2.core.nextTimeout();
    s2.core.setFailureTest('delay-election');
    expect(s2.core.nextTimeout() - h.now).toBeGreaterThanOrEqual(2000); // E + E + jitter
    expect(before - h.now).toBeLessThan(2000);
    s2.core.setFailureTest('dont-send-vote-request');
    s2.core.receive('s1', { type: 'become_leader', cluster: CID, to: S2, from: S1, term: 1 });
    h.flush(s2);
    expect(s2.core.role()).toBe('candidate');
    expect(h.inflight.filter((m) => m.msg.type === 'vote_request')).toEqual([]);
    s2.core.setFailureTest('stop-raft-rpc');
    s2.core.receive('s1', { type: 'append_request', cluster: CID, to: S2, from: S1, term: 9, prevLogIndex: 1, prevLogTerm: 1, leaderCommit: 1, log: [] });
    h.flush(s2);
    expect(s2.core.term()).toBe(2);
    s2.core.setFailureTest('clear');
    h.drop(() => true);
    const s1 = h.node('s1');
    s1.core.setFailureTest('transfer-leadership');
    expect(s1.core.nextTimeout()).toBe(h.now);
    h.advance(0, ['s1']);
    expect(s1.logText()).toContain('Transferring leadership to write a snapshot.');
    expect(s1.core.role()).toBe('follower');
    expect(s1.core.failureTest()).toBeNull();
  });

  it('transfer-leadership-after-sending-append-request: the next run transfers', () => {
    const h = Harness.cluster(3);
    elect(h, 's1');
    const s1 = h.node('s1');
    s1.core.setFailureTest('transfer-leadership-after-sending-append-request');
    s1.core.propose({ data: [null, {}], prereq: SNAP_EID, result: 'aaaaaaaa-0000-4000-8000-000000000003' });
    h.flush(s1);
    expect(s1.core.failureTest()).toBe('transfer-leadership');
    h.advance(0, ['s1']);
    expect(s1.logText()).toContain('Transferring leadership to write a snapshot.');
    h.deliver();
    expect(h.leader()!.name).toBe('s2');
  });
});

describe('the envelope (§2.1, §2.2)', () => {
  it('wrong cluster and misrouted messages are dropped; a session sticks to the first sender it saw', () => {
    const h = Harness.cluster(3);
    const s2 = h.node('s2');
    const hb = { type: 'append_request' as const, to: S2, from: S1, term: 4, prevLogIndex: 1, prevLogTerm: 1, leaderCommit: 1, log: [] };
    s2.core.receive('s1', { ...hb, cluster: 'ffff0000-0000-4000-8000-000000000000' });
    s2.core.receive('s1', { ...hb, cluster: CID, to: S3 });
    h.flush(s2);
    expect(s2.core.term()).toBe(0);
    expect(s2.logText()).toEqual(
      expect.arrayContaining([
        's1: syntax error: Parsing raft append_request RPC failed: wrong cluster ffff (expected c1d0)',
        "s1: syntax error: Parsing raft append_request RPC failed: misrouted message (addressed to 0003 but we're 0002)",
      ]),
    );
    s2.core.receive('s1', { ...hb, cluster: CID, from: S3 });
    h.flush(s2);
    expect(s2.core.term()).toBe(0);
    expect(s2.logs.find((l) => l.text.startsWith('s1: ignoring message with unexpected server ID 0003'))?.level).toBe('warn');
    // An incoming session learns its peer from the first message.
    s2.core.receive('incoming-7', { ...hb, cluster: CID, from: S3 });
    h.flush(s2);
    expect(s2.logText()).toContain('incoming-7: learned server ID 0003');
    expect(s2.core.term()).toBe(4);
  });

  it('hello_request on each new outgoing session; a message for a server goes on its first connected session', () => {
    const h = Harness.cluster(2);
    expect(h.sentOf('hello_request').map((m) => shape(m))).toEqual([
      { type: 'hello_request', address: 'unix:s1.raft' },
      { type: 'hello_request', address: 'unix:s2.raft' },
    ]);
    const state = h.node('s1').disk.durable.state();
    const core = new RaftCore({ state, now: 0, random: () => 0.5 });
    const drain = () => {
      const out: Array<[string | number, string]> = [];
      while (core.hasReady()) {
        const r = core.ready();
        for (const m of r.messages) out.push([m.session, m.message.type]);
        if (r.writes.length) core.persisted(r.writes.at(-1)!.seq);
      }
      return out;
    };
    core.sessionConnected('out-s2', { outgoing: true, sid: S2 });
    core.sessionConnected('in-1', { outgoing: false });
    expect(drain()).toEqual([['out-s2', 'hello_request']]); // not on incoming sessions
    core.receive('in-1', { type: 'hello_request', cluster: CID, to: S1, from: S2, address: 'unix:s2.raft' });
    core.sessionDisconnected('out-s2');
    drain();
    core.receive('in-1', { type: 'become_leader', cluster: CID, to: S1, from: S2, term: 0 });
    expect(drain()).toEqual([['in-1', 'vote_request']]);
    core.sessionConnected('out-s2', { outgoing: true, sid: S2 });
    expect(drain()).toEqual([['out-s2', 'hello_request']]);
    core.receive('in-1', { type: 'vote_reply', cluster: CID, to: S1, from: S2, term: 1, vote: S1 });
    expect(core.isLeader()).toBe(true);
    expect(drain()).toEqual([['out-s2', 'append_request']]); // the first connected one, in session order
  });
});
