// RaftCore's exact wire behaviour (raft.md §2.6): elections, votes, replication, durability, status text.
// Membership, transfers, timers and failure tests are in raft-membership.test.ts.
import { describe, expect, it } from 'vitest';
import { RaftCore, type Outgoing } from '../../raft/core.ts';
import { formatClusterStatus } from '../../raft/status.ts';
import type { AppendRequest, LogEntry, PersistentState, RaftMessage } from '../../raft/types.ts';
import { CID, Harness, SNAP_EID, sidOf, type Sent } from '../raft-sim/harness.ts';

const S1 = sidOf('s1');
const S2 = sidOf('s2');
const S3 = sidOf('s3');

/** Makes `name` start an election now (a leadership transfer, so that no timer has to run). */
function elect(h: Harness, name: string): void {
  const n = h.node(name);
  const other = [...h.nodes.keys()].find((k) => k !== name)!;
  n.core.receive(other, { type: 'become_leader', cluster: CID, to: n.sid, from: sidOf(other), term: n.core.term() });
  h.flush(n);
  h.deliver();
  expect(n.core.isLeader()).toBe(true);
}

const isType =
  <T extends RaftMessage['type']>(type: T) =>
  (m: Sent): boolean =>
    m.msg.type === type;

/** Strips the envelope members every message has, to compare shapes. */
function body(m: RaftMessage): Record<string, unknown> {
  const { cluster: _c, from: _f, to: _t, ...rest } = m as RaftMessage & { to?: string };
  return rest;
}

describe('a one-server cluster', () => {
  it('elects itself at open: vote, leader, no-op at index 2, then commits it once it is durable', () => {
    const h = new Harness();
    const n = h.add('s1', h.memberHeader('s1', h.snapshot(['s1'])), { autoSync: false });
    expect(n.core.isLeader()).toBe(true);
    expect(n.core.term()).toBe(1);
    expect(n.records()).toEqual([
      { type: 'vote', term: 1, vote: S1 },
      { type: 'leader', term: 1, leader: S1 },
      { type: 'entry', term: 1, index: 2, entry: { term: 1 } },
    ]);
    // Not committed until the no-op is on disk: the leader counts its own copy only then.
    expect(n.core.commitIndex()).toBe(1);
    n.sync();
    h.flush(n);
    expect(n.core.commitIndex()).toBe(2);
    expect(n.records().at(-1)).toEqual({ type: 'commit_index', commitIndex: 2 });
    expect(n.logText()).toContain('term 1: elected leader by 1+ of 1 servers');
    expect(n.logText().some((t) => /^term 1: \d+ ms timeout expired, starting election$/.test(t))).toBe(true);
    expect(n.logText()).toContain(`local server ID is ${S1.slice(0, 4)}`);
    // The snapshot is applied first, then the committed entries.
    expect(n.snapshots.map((s) => s.eid)).toEqual([SNAP_EID]);
    expect(n.applied).toEqual([{ index: 2, entry: { term: 1 } }]);
    expect(n.core.isConnected()).toBe(true);
  });

  it('cluster/status reads like OVS (§4.2 "Leader, single member")', () => {
    const h = new Harness();
    const snapshot = { ...h.snapshot(['s1']), servers: new Map([[S1, 'tcp:127.0.0.1:16641']]) };
    const n = h.add('s1', { ...h.memberHeader('s1', snapshot), localAddress: 'tcp:127.0.0.1:16641' });
    h.advance(10);
    const text = formatClusterStatus(n.core.status(), []);
    expect(text).toBe(
      [
        '0001',
        'Name: Ex',
        `Cluster ID: c1d0 (${CID})`,
        `Server ID: 0001 (${S1})`,
        'Address: tcp:127.0.0.1:16641',
        'Status: cluster member',
        'Role: leader',
        'Term: 1',
        'Leader: self',
        'Vote: self',
        '',
        'Last Election started 10 ms ago, reason: timeout',
        'Last Election won: 10 ms ago',
        'Election timer: 1000',
        'Log: [2, 3]',
        'Entries not yet committed: 0',
        'Entries not yet applied: 0',
        'Connections:',
        'Disconnections: 0',
        'Servers:',
        // The leader's own next_index stays at its election-time value (quirk R4).
        '    0001 (0001 at tcp:127.0.0.1:16641) (self) next_index=2 match_index=2',
        '',
      ].join('\n'),
    );
  });

  it('a write commits at the leader and completes with its index', () => {
    const h = new Harness();
    const n = h.add('s1', h.memberHeader('s1', h.snapshot(['s1'])));
    const eid = '11111111-0000-4000-8000-000000000001';
    n.core.propose({ data: [null, { T: {} }], prereq: n.core.lastAppliedEid()!, result: eid });
    h.flush(n);
    expect(n.results).toEqual([{ eid, status: 'success', commitIndex: 3 }]);
    expect(n.applied.at(-1)).toEqual({ index: 3, entry: { term: 1, data: [null, { T: {} }], eid } });
    expect(n.core.lastAppliedEid()).toBe(eid);
    // The prereq is the last data entry of the log, committed or not.
    n.core.propose({ data: [null, {}], prereq: SNAP_EID, result: '11111111-0000-4000-8000-000000000002' });
    h.flush(n);
    expect(n.results.at(-1)).toEqual({ eid: '11111111-0000-4000-8000-000000000002', status: 'prerequisite check failed', commitIndex: 0 });
    expect(n.logText()).toContain(`current entry eid ${eid} does not match prerequisite ${SNAP_EID}`);
  });
});

describe('heartbeats (§2.6.4)', () => {
  it('every E/3 an empty append_request per follower; the follower answers "heartbeat" with its log end', () => {
    const h = Harness.cluster(3);
    elect(h, 's1');
    const mark = h.sent.length;
    h.advance(333, ['s1']);
    const hb = h.inflight.filter((m) => m.from === 's1' && m.msg.type === 'append_request');
    expect(hb.map((m) => m.to)).toEqual(['s2', 's3']);
    expect(hb[0]!.msg).toEqual({
      type: 'append_request',
      cluster: CID,
      to: S2,
      from: S1,
      comment: 'heartbeat',
      term: 1,
      prevLogIndex: 2,
      prevLogTerm: 1,
      leaderCommit: 2,
      log: [],
    });
    h.deliver();
    const reply = h.sent.slice(mark).find((m) => m.from === 's2' && m.msg.type === 'append_reply')!;
    expect(reply.msg).toEqual({
      type: 'append_reply',
      cluster: CID,
      to: S1,
      from: S2,
      comment: 'heartbeat',
      term: 1,
      logEnd: 3,
      prevLogIndex: 2,
      prevLogTerm: 1,
      nEntries: 0,
      result: 'OK',
    });
    // Nothing earlier than E/3.
    const before = h.sent.length;
    h.advance(332, ['s1']);
    expect(h.sent.length).toBe(before);
  });

  it('a commit advance sends heartbeats at once, so followers learn it', () => {
    const h = Harness.cluster(3);
    elect(h, 's1');
    const s1 = h.node('s1');
    const mark = h.sent.length;
    s1.core.propose({ data: [null, {}], prereq: SNAP_EID, result: '22222222-0000-4000-8000-000000000001' });
    h.flush(s1);
    h.deliver();
    const fromLeader = h.sent.slice(mark).filter((m) => m.from === 's1').map((m) => [m.to, (m.msg as AppendRequest).comment, (m.msg as AppendRequest).leaderCommit]);
    expect(fromLeader).toEqual([
      ['s2', 'execute command', 2],
      ['s3', 'execute command', 2],
      ['s2', 'heartbeat', 3],
      ['s3', 'heartbeat', 3],
    ]);
    expect(h.node('s2').core.commitIndex()).toBe(3);
  });
});

describe('a write through a follower (§2.6.6)', () => {
  it('execute_command_request → execute command → log updated → execute_command_reply success → heartbeat', () => {
    const h = Harness.cluster(3);
    elect(h, 's1');
    const s2 = h.node('s2');
    const result = 'b6c74d22-02e7-40ff-8fc9-1d1037a87834';
    const data = [null, { _date: 1796197110454, T: { '8156c588-0000-4000-8000-000000000000': { name: 'two', n: 2 } }, _is_diff: true }];
    const mark = h.sent.length;
    s2.core.propose({ data, prereq: s2.core.lastAppliedEid()!, result });
    h.flush(s2);
    h.deliver();
    const seq = h.sent.slice(mark).filter((m) => (m.from === 's2' && m.to === 's1') || (m.from === 's1' && m.to === 's2'));
    expect(seq.map((m) => m.msg)).toEqual([
      { type: 'execute_command_request', cluster: CID, to: S1, from: S2, data, prereq: SNAP_EID, result },
      {
        type: 'append_request',
        cluster: CID,
        to: S2,
        from: S1,
        comment: 'execute command',
        term: 1,
        prevLogIndex: 2,
        prevLogTerm: 1,
        leaderCommit: 2,
        log: [{ term: 1, data, eid: result }],
      },
      {
        type: 'append_reply',
        cluster: CID,
        to: S1,
        from: S2,
        comment: 'log updated',
        term: 1,
        logEnd: 4,
        prevLogIndex: 2,
        prevLogTerm: 1,
        nEntries: 1,
        result: 'OK',
      },
      { type: 'execute_command_reply', cluster: CID, to: S2, from: S1, result, status: 'success', commitIndex: 3 },
      { type: 'append_request', cluster: CID, to: S2, from: S1, comment: 'heartbeat', term: 1, prevLogIndex: 3, prevLogTerm: 1, leaderCommit: 3, log: [] },
      expect.objectContaining({ type: 'append_reply', comment: 'heartbeat', logEnd: 4 }),
    ]);
    // The follower's command completes with the leader's index; it has applied that entry by then.
    expect(s2.results).toEqual([{ eid: result, status: 'success', commitIndex: 3 }]);
    expect(s2.core.appliedIndex()).toBe(3);
    expect(s2.applied.at(-1)!.entry.eid).toBe(result);
  });

  it('pending forwarded commands get "operation still in progress" with heartbeats, and time out after 2·E without', () => {
    const h = Harness.cluster(3);
    elect(h, 's1');
    const s2 = h.node('s2');
    const result = '33333333-0000-4000-8000-000000000001';
    s2.core.propose({ data: [null, {}], prereq: SNAP_EID, result });
    h.flush(s2);
    h.deliver((m) => m.msg.type === 'execute_command_request');
    h.drop((m) => m.msg.type === 'append_request'); // the entry cannot commit
    h.advance(333, ['s1']);
    const ping = h.inflight.find((m) => m.msg.type === 'execute_command_reply')!;
    expect(ping.msg).toEqual({ type: 'execute_command_reply', cluster: CID, to: S2, from: S1, result, status: 'operation still in progress' });
    h.drop(() => true);
    // Without further pings the follower gives up after more than 2·E.
    for (let t = 0; t < 2400; t += 100) {
      h.advance(100, ['s2']);
      h.drop(() => true);
    }
    expect(s2.results).toEqual([{ eid: result, status: 'timeout', commitIndex: 0 }]);
  });

  it('a candidate, or a follower without a leader, fails a write with "not leader"; a joiner with "server shutdown"', () => {
    const h = Harness.cluster(3);
    const s2 = h.node('s2');
    s2.core.propose({ data: [null, {}], prereq: SNAP_EID, result: '44444444-0000-4000-8000-000000000001' });
    h.flush(s2);
    expect(s2.results).toEqual([{ eid: '44444444-0000-4000-8000-000000000001', status: 'not leader', commitIndex: 0 }]);
    const j = h.add('s9', h.joiningHeader('s9', ['s1']));
    j.core.propose({ data: [null, {}], prereq: SNAP_EID, result: '44444444-0000-4000-8000-000000000002' });
    h.flush(j);
    expect(j.results).toEqual([{ eid: '44444444-0000-4000-8000-000000000002', status: 'server shutdown', commitIndex: 0 }]);
  });
});

describe('durability (§2.6.10)', () => {
  it('an append_reply waits until the entries it acknowledges are synced', () => {
    const h = Harness.cluster(3);
    elect(h, 's1');
    const s2 = h.node('s2');
    s2.autoSync = false;
    const s1 = h.node('s1');
    s1.core.propose({ data: [null, {}], prereq: SNAP_EID, result: '55555555-0000-4000-8000-000000000001' });
    h.flush(s1);
    h.deliver((m) => m.to === 's2');
    expect(h.inflight.filter((m) => m.from === 's2')).toEqual([]);
    expect(s2.records().at(-1)).toMatchObject({ type: 'entry', index: 3 });
    s2.sync();
    h.flush(s2);
    expect(h.inflight.filter((m) => m.from === 's2').map((m) => (m.msg as { comment?: string }).comment)).toEqual(['log updated']);
  });

  it('a vote_reply waits for the vote record; a vote_request for the candidate own vote', () => {
    const h = Harness.cluster(3);
    for (const n of h.nodes.values()) n.autoSync = false;
    const s2 = h.node('s2');
    s2.core.receive('s1', { type: 'become_leader', cluster: CID, to: S2, from: S1, term: 0 });
    h.flush(s2);
    expect(h.inflight.filter((m) => m.msg.type === 'vote_request')).toEqual([]);
    s2.sync();
    h.flush(s2);
    expect(h.inflight.filter((m) => m.msg.type === 'vote_request').map((m) => m.to)).toEqual(['s1', 's3']);
    h.deliver((m) => m.to === 's3');
    expect(h.inflight.filter((m) => m.msg.type === 'vote_reply')).toEqual([]);
    h.node('s3').sync();
    h.flush(h.node('s3'));
    expect(h.inflight.filter((m) => m.msg.type === 'vote_reply').map((m) => body(m.msg))).toEqual([{ type: 'vote_reply', term: 1, vote: S2 }]);
  });

  it('a held message for an expired term is dropped', () => {
    const h = Harness.cluster(3);
    const s2 = h.node('s2');
    s2.autoSync = false;
    s2.core.receive('s1', { type: 'become_leader', cluster: CID, to: S2, from: S1, term: 0 });
    h.flush(s2);
    // Before its vote is durable, s2 hears of term 5.
    s2.core.receive('s3', { type: 'append_request', cluster: CID, to: S2, from: S3, term: 5, prevLogIndex: 1, prevLogTerm: 1, leaderCommit: 1, log: [] });
    h.flush(s2);
    s2.sync();
    h.flush(s2);
    const out = h.inflight.filter((m) => m.from === 's2' && m.msg.type !== 'hello_request');
    expect(out.map((m) => [m.msg.type, (m.msg as { term: number }).term])).toEqual([['append_reply', 5]]);
  });
});

describe('votes (§2.6.2)', () => {
  it('no reply when our log is more up to date; the same vote again on a retry; someone else\'s vote when taken', () => {
    const h = Harness.cluster(3);
    elect(h, 's1');
    const s1 = h.node('s1');
    // An entry only s3 gets: s3's log is now longer than s2's.
    s1.core.propose({ data: [null, {}], prereq: SNAP_EID, result: '66666666-0000-4000-8000-000000000001' });
    h.flush(s1);
    h.deliver((m) => m.to === 's3');
    h.drop(() => true);
    const s2 = h.node('s2');
    s2.core.receive('s1', { type: 'become_leader', cluster: CID, to: S2, from: S1, term: 1 });
    h.flush(s2);
    const rq = h.inflight.find((m) => m.to === 's3' && m.msg.type === 'vote_request')!;
    expect(body(rq.msg)).toEqual({ type: 'vote_request', term: 2, lastLogIndex: 2, lastLogTerm: 1, leadershipTransfer: true });
    h.deliver((m) => m.to === 's3');
    expect(h.inflight.filter((m) => m.from === 's3')).toEqual([]); // withheld: no reply at all
    expect(h.node('s3').core.term()).toBe(2);
    // s3 campaigns in term 3 and gets s2's vote; a duplicate request gets the same vote again.
    const s3 = h.node('s3');
    s3.core.receive('s1', { type: 'become_leader', cluster: CID, to: S3, from: S1, term: 2 });
    h.flush(s3);
    const rq3 = h.inflight.find((m) => m.to === 's2' && m.msg.type === 'vote_request')!;
    h.deliver((m) => m === rq3);
    h.node('s2').core.receive('s3', rq3.msg);
    h.flush(h.node('s2'));
    const replies = h.inflight.filter((m) => m.from === 's2' && m.msg.type === 'vote_reply').map((m) => body(m.msg));
    expect(replies).toEqual([
      { type: 'vote_reply', term: 3, vote: S3 },
      { type: 'vote_reply', term: 3, vote: S3 },
    ]);
    // A second candidate of term 3 is told whom s2 voted for.
    h.node('s2').core.receive('s1', { type: 'vote_request', cluster: CID, to: S2, from: S1, term: 3, lastLogIndex: 3, lastLogTerm: 1, leadershipTransfer: true });
    h.flush(h.node('s2'));
    expect(body(h.inflight.at(-1)!.msg)).toEqual({ type: 'vote_reply', term: 3, vote: S3 });
  });

  it('a leader ignores a vote_request without leadership_transfer, and so does a follower within E of its leader', () => {
    const h = Harness.cluster(3);
    elect(h, 's1');
    const rq = (to: string, toSid: string) => ({ type: 'vote_request' as const, cluster: CID, to: toSid, from: S3, term: 7, lastLogIndex: 9, lastLogTerm: 1 });
    const s1 = h.node('s1');
    s1.core.receive('s3', rq('s1', S1));
    h.flush(s1);
    expect(s1.core.term()).toBe(1);
    expect(s1.logText()).toContain('ignoring vote request received as leader');
    const s2 = h.node('s2');
    h.advance(400, ['s1']);
    h.deliver();
    s2.core.tick(h.now);
    s2.core.receive('s3', rq('s2', S2));
    h.flush(s2);
    expect(s2.core.term()).toBe(1);
    expect(s2.logText()).toContain('ignoring vote request received after only 0 ms (minimum election time is 1000 ms)');
    expect(h.inflight.filter((m) => m.msg.type === 'vote_reply')).toEqual([]);
    // With leadership_transfer it is honoured.
    s2.core.receive('s3', { ...rq('s2', S2), leadershipTransfer: true });
    h.flush(s2);
    expect(s2.core.term()).toBe(7);
    expect(body(h.inflight.at(-1)!.msg)).toEqual({ type: 'vote_reply', term: 7, vote: S3 });
  });

  it('a stale vote_request is rejected with a log line; (improvement) the candidate is told our term and vote', () => {
    const h = Harness.cluster(3);
    elect(h, 's1');
    h.advance(2000, ['s2']); // s2 times out: candidate of term 2, voted for itself
    const s2 = h.node('s2');
    expect(s2.core.role()).toBe('candidate');
    h.drop(() => true);
    s2.core.receive('s3', { type: 'vote_request', cluster: CID, to: S2, from: S3, term: 1, lastLogIndex: 2, lastLogTerm: 1 });
    h.flush(s2);
    expect(s2.logText()).toContain('rejecting term 1 < current term 2 received in vote_request message from server s3');
    expect(h.inflight.map((m) => [m.to, body(m.msg)])).toEqual([['s3', { type: 'vote_reply', term: 2, vote: S2 }]]);
  });

  it('a candidate that times out again is "disconnected from the cluster (election timeout)"', () => {
    const h = Harness.cluster(3);
    const s2 = h.node('s2');
    expect(s2.core.isConnected()).toBe(false); // never had a leader
    elect(h, 's1');
    expect(s2.core.isConnected()).toBe(true);
    h.advance(2000, ['s2']);
    h.drop(() => true);
    expect(s2.core.role()).toBe('candidate');
    expect(s2.core.isConnected()).toBe(true); // first round: still connected
    expect(s2.core.status().status).toBe('cluster member');
    h.advance(2000, ['s2']);
    h.drop(() => true);
    expect(s2.core.isConnected()).toBe(false);
    expect(s2.core.status().status).toBe('disconnected from the cluster (election timeout)');
    const st = s2.core.status();
    expect(st.servers.map((s) => s.votedFor)).toEqual([null, 's2', null]);
    h.flush(s2);
    const dbg = s2.logs.filter((l) => l.level === 'dbg' && l.text.startsWith('raft_is_connected')).map((l) => l.text);
    expect(dbg).toEqual(['raft_is_connected: false', 'raft_is_connected: true', 'raft_is_connected: false']);
  });
});

describe('leader lease (§2.6.1)', () => {
  it('a leader that hears from no majority within an election timeout steps down and starts an election', () => {
    const h = Harness.cluster(3);
    elect(h, 's1');
    const s1 = h.node('s1');
    for (let t = 0; t < 5000 && s1.core.isLeader(); t += 100) {
      h.advance(100, ['s1']);
      h.drop(() => true);
    }
    expect(s1.core.role()).toBe('candidate');
    expect(s1.core.term()).toBe(2);
    // Stepping down re-arms the election timer first, hence not "… ms timeout expired".
    expect(s1.logText()).toContain('term 2: starting election');
  });

  it('one reply per interval from a peer of three keeps it leader', () => {
    const h = Harness.cluster(3);
    elect(h, 's1');
    const s1 = h.node('s1');
    for (let t = 0; t < 10_000; t += 100) {
      h.advance(100, ['s1']);
      h.drop((m) => m.to === 's3' || m.from === 's3');
      h.deliver((m) => m.to === 's2' || m.from === 's2');
    }
    expect(s1.core.isLeader()).toBe(true);
    expect(s1.core.term()).toBe(1);
  });
});

/** A core built from a hand-made member state, and a way to feed it one message. */
function follower(entries: LogEntry[], opts: { snapIndex?: number; snapTerm?: number; term?: number } = {}) {
  const h = new Harness();
  const snapshot = { ...h.snapshot(['s1', 's2', 's3']), index: opts.snapIndex ?? 1, term: opts.snapTerm ?? 1 };
  const state: PersistentState = {
    header: h.memberHeader('s2', snapshot) as PersistentState['header'],
    snapshot,
    entries,
    term: opts.term ?? 3,
    vote: null,
    commitIndex: snapshot.index,
    left: false,
  };
  let seq = 0;
  const core = new RaftCore({ state, now: 0, random: () => 0.5 });
  core.sessionConnected('s1', { outgoing: true, sid: S1 });
  const drain = (): { out: Outgoing[]; logs: string[]; records: unknown[] } => {
    const out: Outgoing[] = [];
    const logs: string[] = [];
    const records: unknown[] = [];
    while (core.hasReady()) {
      const r = core.ready();
      out.push(...r.messages);
      logs.push(...r.logs.map((l) => l.text));
      for (const w of r.writes) {
        records.push(w.kind === 'record' ? w.record : 'replace');
        seq = w.seq;
      }
      if (seq) core.persisted(seq);
    }
    return { out, logs, records };
  };
  drain();
  const append = (rq: Partial<AppendRequest>) => {
    core.receive('s1', { type: 'append_request', cluster: CID, to: S2, from: S1, term: 3, prevLogIndex: 1, prevLogTerm: 1, leaderCommit: 1, log: [], ...rq });
    return drain();
  };
  return { core, append, drain };
}

const replyOf = (r: { out: Outgoing[] }) => {
  const m = r.out.find((o) => o.message.type === 'append_reply')!.message;
  return m.type === 'append_reply' ? [m.result, m.comment, m.logEnd] : [];
};

describe('append_request handling (§2.6.3)', () => {
  const t = (term: number): LogEntry => ({ term });

  it('the reply comments: log updated, no change, heartbeat, and each kind of mismatch', () => {
    const f = follower([t(1), t(2), t(3)]); // indexes 2, 3, 4; log end 5
    expect(replyOf(f.append({ prevLogIndex: 4, prevLogTerm: 3, log: [t(3)] }))).toEqual(['OK', 'log updated', 6]);
    expect(replyOf(f.append({ prevLogIndex: 2, prevLogTerm: 1, log: [t(2)] }))).toEqual(['OK', 'no change', 6]);
    expect(replyOf(f.append({ prevLogIndex: 5, prevLogTerm: 3, comment: 'heartbeat' }))).toEqual(['OK', 'heartbeat', 6]);
    expect(replyOf(f.append({ prevLogIndex: 9, prevLogTerm: 3 }))).toEqual(['inconsistency', 'mismatch past end of log', 6]);
    const r = f.append({ prevLogIndex: 3, prevLogTerm: 1 });
    expect(replyOf(r)).toEqual(['inconsistency', 'term mismatch', 6]);
    expect(r.logs).toContain('rejecting append_request because previous entry 1,3 not in local log (term mismatch)');
    expect(replyOf(f.append({ prevLogIndex: 1, prevLogTerm: 2 }))).toEqual(['inconsistency', 'prev_term mismatch', 6]);
  });

  it('requests reaching into the snapshot: append before log start, no change, term mismatch, trimmed', () => {
    const f = follower([t(2)], { snapIndex: 5, snapTerm: 2 }); // snapshot 5, entry 6
    expect(replyOf(f.append({ prevLogIndex: 1, prevLogTerm: 1, log: [t(1), t(1)] }))).toEqual(['OK', 'append before log start', 7]);
    expect(replyOf(f.append({ prevLogIndex: 3, prevLogTerm: 1, log: [t(1), t(2)] }))).toEqual(['OK', 'no change', 7]);
    expect(replyOf(f.append({ prevLogIndex: 3, prevLogTerm: 1, log: [t(1), t(1)] }))).toEqual(['inconsistency', 'term mismatch', 7]);
    expect(replyOf(f.append({ prevLogIndex: 4, prevLogTerm: 1, log: [t(2), t(2), t(3)] }))).toEqual(['OK', 'log updated', 8]);
  });

  it('a stale term gets "stale term"; an append_request to a leader of the same term "usurped leadership"', () => {
    const f = follower([t(1)], { term: 3 });
    expect(replyOf(f.append({ term: 2 }))).toEqual(['inconsistency', 'stale term', 3]);
    const h = Harness.cluster(3);
    elect(h, 's1');
    const s1 = h.node('s1');
    s1.core.receive('s2', { type: 'append_request', cluster: CID, to: S1, from: S2, term: 1, prevLogIndex: 2, prevLogTerm: 1, leaderCommit: 2, log: [] });
    h.flush(s1);
    expect(body(h.inflight.at(-1)!.msg)).toMatchObject({ type: 'append_reply', result: 'inconsistency', comment: 'usurped leadership' });
    expect(s1.logs).toContainEqual({ module: 'raft', level: 'err', text: 'this server is leader but server s2 claims to be' });
  });

  it('a conflicting entry truncates the log, recorded by an Entry record with the lower index', () => {
    const f = follower([t(1), t(1), t(2)]); // 2, 3, 4
    const r = f.append({ prevLogIndex: 3, prevLogTerm: 1, log: [t(3), t(3)] });
    expect(replyOf(r)).toEqual(['OK', 'log updated', 6]);
    expect(r.logs).toContain('s2 truncating 1 entries from end of log');
    expect(r.records.filter((x) => (x as { type: string }).type === 'entry')).toEqual([
      { type: 'entry', term: 3, index: 4, entry: { term: 3 } },
      { type: 'entry', term: 3, index: 5, entry: { term: 3 } },
    ]);
    expect(f.core.entryAt(4)).toEqual({ term: 3 });
  });

  it('the leader and term are learned and recorded once; the commit index follows the leader', () => {
    const f = follower([t(3)], { term: 3 });
    const r = f.append({ prevLogIndex: 2, prevLogTerm: 3, leaderCommit: 2, comment: 'heartbeat' });
    expect(r.logs).toContain('server s1 is leader for term 3');
    expect(r.records).toEqual([{ type: 'leader', term: 3, leader: S1 }, { type: 'commit_index', commitIndex: 2 }]);
    expect(f.append({ prevLogIndex: 2, prevLogTerm: 3, leaderCommit: 2 }).records).toEqual([]);
    expect(f.core.leader()).toBe(S1);
  });
});

describe('Figure 8 (Raft §5.4.2): an entry of an older term is not committed by counting replicas', () => {
  it('the old entry reaches a majority without the new no-op, then a later leader legitimately replaces it', () => {
    const h = Harness.cluster(5);
    const inject = (from: string, to: string) => {
      const n = h.node(to);
      n.core.receive(from, { type: 'become_leader', cluster: CID, to: n.sid, from: sidOf(from), term: h.node(from).core.term() });
      h.flush(n);
    };
    const s1 = h.node('s1');
    inject('s2', 's1');
    h.deliver();
    // Term 1: e at index 3 on s1 and s2 only.
    s1.core.propose({ data: [null, { e: 1 }], prereq: SNAP_EID, result: 'eeeeeeee-0000-4000-8000-000000000001' });
    h.flush(s1);
    h.deliver((m) => m.to === 's2');
    h.crash('s1');
    // Term 2: s5 wins with s3 and s4 and dies before its no-op (f, index 3) leaves.
    inject('s1', 's5');
    h.deliver((m) => m.msg.type === 'vote_request' || m.msg.type === 'vote_reply');
    expect(h.node('s5').core.isLeader()).toBe(true);
    h.drop(() => true);
    h.crash('s5');
    // Term 3: s1 is back and wins; its no-op g (index 4) reaches s3 with e, never s2 or s4.
    h.restart('s1');
    h.drop(() => true);
    inject('s2', 's1');
    h.deliver((m) => m.msg.type === 'vote_request' || m.msg.type === 'vote_reply');
    expect(s1.core.isLeader()).toBe(true);
    const blocked = (m: Sent) => (m.to === 's2' && m.msg.type === 'append_request' && m.msg.log.length > 0) || m.to === 's4' || m.to === 's5';
    for (let k = 0; k < 4; k++) {
      h.deliver((m) => !blocked(m));
      h.drop(blocked);
      h.advance(340, ['s1']);
    }
    // e (term 1) is on s1, s2 (acknowledged by a heartbeat) and s3: a majority, but not of this term.
    expect(s1.core.entryAt(3)!.term).toBe(1);
    expect(s1.core.commitIndex()).toBe(2);
    h.crash('s1');
    // s5 returns and wins with s2 and s4; its f replaces e on s2.
    h.restart('s5');
    h.drop((m) => m.to === 's1');
    inject('s2', 's5');
    h.deliver((m) => m.to !== 's1');
    const s5 = h.node('s5');
    expect(s5.core.isLeader()).toBe(true);
    expect(s5.core.commitIndex()).toBe(4);
    expect(h.node('s2').core.entryAt(3)).toEqual({ term: 2 });
  });
});
