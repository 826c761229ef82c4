// The Raft RPC codec (raft.md §2.1–2.3): RaftMessage ↔ the JSON-RPC notification `{"id":null,"method":TYPE,
// "params":[{…}]}` that C members exchange. Decoding is as strict as the C receiver (each type accepts exactly
// its members; the first problem, in the C parser's order, is reported with its text); encoding writes exactly
// the members the C sender writes, in the order it writes them (its hash order), so a capture of our traffic
// reads like theirs. Pure: no sockets.
import { OvsdbError } from '../schema/error.ts';
import { quoteString, stringify, type JsonObject, type JsonValue } from '../schema/json.ts';
import { ovsHashOrder, ovsMemberOrder } from '../schema/ovs-hash-order.ts';
import {
  addressesFromJson,
  entryDataText,
  isZeroUuid,
  RaftParser,
  serversFromJson,
  serversText,
  serversToJson,
  shortId,
  uint64Text,
  uint64ToJson,
  type AddressLog,
} from './parse.ts';
import type { AppendResult, CommandStatus, Envelope, LogEntry, RaftMessage, RaftMessageType, Uuid } from './types.ts';

export const RAFT_MESSAGE_TYPES: readonly RaftMessageType[] = [
  'hello_request',
  'append_request',
  'append_reply',
  'vote_request',
  'vote_reply',
  'add_server_request',
  'add_server_reply',
  'remove_server_request',
  'remove_server_reply',
  'install_snapshot_request',
  'install_snapshot_reply',
  'become_leader',
  'execute_command_request',
  'execute_command_reply',
];

const APPEND_RESULTS: readonly AppendResult[] = ['OK', 'inconsistency', 'I/O error'];
const COMMAND_STATUSES: readonly CommandStatus[] = [
  'operation still in progress',
  'success',
  'not leader',
  'prerequisite check failed',
  'lost leadership',
  'server shutdown',
  'I/O error',
  'timeout',
];

export function isRaftMessageType(s: string): s is RaftMessageType {
  return (RAFT_MESSAGE_TYPES as readonly string[]).includes(s);
}

// ---------------------------------------------------------------------------------------------------------
// Decoding

/** The receiver's identity, for the `cluster` and `to` checks the C parser makes while it decodes. */
export interface DecodeContext {
  /** Own cluster ID; null while unknown (joining without --cid): then it is learned from the message. */
  readonly cid: Uuid | null;
  readonly sid: Uuid;
}

export type DecodeResult =
  | { readonly ok: true; readonly message: RaftMessage; readonly learnedCid?: Uuid }
  | {
      readonly ok: false;
      /** What OVS logs (at INFO, as `<peer>: <error>`) before dropping the message. */
      readonly error: string;
      readonly cause: OvsdbError;
    };

/** The shape of a received JSON-RPC message (server/jsonrpc.ts classifyMessage's result). */
export type ReceivedJsonRpc =
  | { readonly type: 'notification'; readonly method: string; readonly params: readonly JsonValue[] }
  | { readonly type: 'request' | 'reply' | 'error' };

function failure(cause: OvsdbError): DecodeResult {
  return { ok: false, error: cause.render(), cause };
}

/**
 * Decodes a received JSON-RPC message: only notifications are Raft messages ("expecting notify RPC but
 * received request"; echo requests are the session's business and never reach here).
 */
export function decodeJsonRpc(msg: ReceivedJsonRpc, ctx?: DecodeContext, log?: AddressLog): DecodeResult {
  if (msg.type !== 'notification') {
    const name = msg.type === 'request' ? 'request' : msg.type === 'reply' ? 'reply' : 'error';
    return failure(new OvsdbError('ovsdb error', `expecting notify RPC but received ${name}`));
  }
  return decode(msg.method, msg.params, ctx, log);
}

/** Decodes the method and params of a Raft notification. */
export function decode(method: string, params: readonly JsonValue[], ctx?: DecodeContext, log?: AddressLog): DecodeResult {
  if (!isRaftMessageType(method)) return failure(new OvsdbError('ovsdb error', `unknown method ${method}`));
  if (params.length !== 1) {
    return failure(new OvsdbError('ovsdb error', `${method} RPC has ${params.length} parameters (expected 1)`));
  }
  let learnedCid: Uuid | undefined;
  try {
    const p = RaftParser.of(params[0], `raft ${method} RPC`);
    const isAdd = method === 'add_server_request';
    const isHello = method === 'hello_request';
    const cluster = isAdd ? p.optionalUuid('cluster') : p.requiredUuid('cluster');
    if (cluster !== undefined && ctx && cluster !== ctx.cid) {
      if (ctx.cid === null) learnedCid = cluster;
      else throw p.error(`wrong cluster ${shortId(cluster)} (expected ${shortId(ctx.cid)})`);
    }
    const to = isAdd || isHello ? p.optionalUuid('to') : p.requiredUuid('to');
    if (to !== undefined && ctx && to !== ctx.sid) {
      throw p.error(`misrouted message (addressed to ${shortId(to)} but we're ${shortId(ctx.sid)})`);
    }
    const env: { cluster?: Uuid; to?: Uuid; from: Uuid; comment?: string } = { from: p.requiredUuid('from') };
    const comment = p.optionalString('comment');
    if (cluster !== undefined) env.cluster = cluster;
    if (to !== undefined) env.to = to;
    if (comment !== undefined) env.comment = comment;
    const message = decodeBody(method, p, env, log);
    p.finish();
    return learnedCid === undefined ? { ok: true, message } : { ok: true, message, learnedCid };
  } catch (e) {
    if (!(e instanceof OvsdbError)) throw e;
    return failure(e);
  }
}

function decodeBody(type: RaftMessageType, p: RaftParser, env: Envelope, log: AddressLog | undefined): RaftMessage {
  switch (type) {
    case 'hello_request':
      return { type, ...env, address: p.requiredString('address') };
    case 'append_request': {
      const term = p.requiredUint64('term');
      const prevLogIndex = p.requiredUint64('prev_log_index');
      const prevLogTerm = p.requiredUint64('prev_log_term');
      const leaderCommit = p.requiredUint64('leader_commit');
      const logJson = p.required('log', 'array') as JsonValue[];
      const entries = logJson.map((e) => entryFromJson(e, log));
      return { type, ...env, term, prevLogIndex, prevLogTerm, leaderCommit, log: entries };
    }
    case 'append_reply': {
      const term = p.requiredUint64('term');
      const logEnd = p.requiredUint64('log_end');
      const prevLogIndex = p.requiredUint64('prev_log_index');
      const prevLogTerm = p.requiredUint64('prev_log_term');
      const nEntries = p.requiredUint64('n_entries');
      const result = p.requiredString('result');
      if (!(APPEND_RESULTS as readonly string[]).includes(result)) throw p.error(`unknown result "${result}"`);
      return { type, ...env, term, logEnd, prevLogIndex, prevLogTerm, nEntries, result: result as AppendResult };
    }
    case 'vote_request': {
      const term = p.requiredUint64('term');
      const lastLogIndex = p.requiredUint64('last_log_index');
      const lastLogTerm = p.requiredUint64('last_log_term');
      // Only `true` means a transfer; `false` is accepted and means none.
      const transfer = p.optionalBoolean('leadership_transfer') === true;
      return transfer
        ? { type, ...env, term, lastLogIndex, lastLogTerm, leadershipTransfer: true }
        : { type, ...env, term, lastLogIndex, lastLogTerm };
    }
    case 'vote_reply':
      return { type, ...env, term: p.requiredUint64('term'), vote: p.requiredUuid('vote') };
    case 'add_server_request':
      return { type, ...env, address: p.requiredString('address') };
    case 'add_server_reply': {
      const success = p.requiredBoolean('success');
      const ra = p.optional('remote_addresses', 'array');
      if (ra === undefined) return { type, ...env, success };
      return { type, ...env, success, remoteAddresses: addressesFromJson(ra, log) };
    }
    case 'remove_server_request':
      return { type, ...env, serverId: p.requiredUuid('server_id') };
    case 'remove_server_reply': {
      const success = p.requiredBoolean('success');
      const target = p.optionalUuid('target_server');
      return isZeroUuid(target) ? { type, ...env, success } : { type, ...env, success, targetServer: target! };
    }
    case 'install_snapshot_request': {
      const serversJson = p.required('last_servers', 'object');
      const lastServers = serversFromJson(serversJson, log);
      const term = p.requiredUint64('term');
      const lastIndex = p.requiredUint64('last_index');
      const lastTerm = p.requiredUint64('last_term');
      const lastEid = p.requiredUuid('last_eid');
      const electionTimer = p.requiredUint64('election_timer');
      const data = requiredData(p);
      return { type, ...env, term, lastIndex, lastTerm, lastEid, lastServers, electionTimer, data };
    }
    case 'install_snapshot_reply':
      return {
        type,
        ...env,
        term: p.requiredUint64('term'),
        lastIndex: p.requiredUint64('last_index'),
        lastTerm: p.requiredUint64('last_term'),
      };
    case 'become_leader':
      return { type, ...env, term: p.requiredUint64('term') };
    case 'execute_command_request': {
      const data = requiredData(p);
      return { type, ...env, data, prereq: p.requiredUuid('prereq'), result: p.requiredUuid('result') };
    }
    case 'execute_command_reply': {
      const result = p.requiredUuid('result');
      const status = p.requiredString('status');
      if (!(COMMAND_STATUSES as readonly string[]).includes(status)) throw p.error(`unknown status "${status}"`);
      const commitIndex = p.optionalUint64('commit_index');
      return commitIndex
        ? { type, ...env, result, status: status as CommandStatus, commitIndex }
        : { type, ...env, result, status: status as CommandStatus };
    }
  }
}

/** "data": an object or an array (OVS checks nothing more here). */
function requiredData(p: RaftParser): JsonValue {
  const v = p.required('data', 'any');
  if (v === null || typeof v !== 'object') throw p.error(`Type mismatch for member 'data'.`);
  return v;
}

/** One entry of append_request.log (§2.3): term, data+eid (both or neither), servers, election_timer. */
export function entryFromJson(json: JsonValue, log?: AddressLog): LogEntry {
  const p = RaftParser.of(json, 'raft log entry');
  const term = p.requiredUint64('term');
  const data = p.optional('data', 'any');
  if (data !== undefined && (data === null || typeof data !== 'object')) throw p.error(`Type mismatch for member 'data'.`);
  const eid = data !== undefined ? p.requiredUuid('eid') : undefined;
  const serversJson = p.optional('servers', 'object');
  const servers = serversJson === undefined ? undefined : serversFromJson(serversJson, log);
  const electionTimer = p.optionalUint64('election_timer');
  p.finish();
  const e: { term: number; data?: JsonValue; eid?: Uuid; servers?: LogEntry['servers']; electionTimer?: number } = { term };
  if (data !== undefined) {
    e.data = data;
    e.eid = eid!;
  }
  if (servers !== undefined) e.servers = servers;
  if (electionTimer) e.electionTimer = electionTimer;
  return e;
}

// ---------------------------------------------------------------------------------------------------------
// Encoding

export { entryDataText };

/** One member: its name, its JSON value, and (where it differs from stringify(value)) its text. */
type Member = readonly [name: string, value: JsonValue, text?: string];

function entryMembers(e: LogEntry): Member[] {
  const m: Member[] = [['term', uint64ToJson(e.term)]];
  if (e.data !== undefined && e.eid !== undefined) {
    m.push(['data', e.data, entryDataText(e.data)]);
    m.push(['eid', e.eid]);
  }
  if (e.servers !== undefined) m.push(['servers', serversToJson(e.servers), serversText(e.servers)]);
  if (e.electionTimer) m.push(['election_timer', uint64ToJson(e.electionTimer)]);
  return m;
}

/** The JSON text of a log entry as append_request carries it. */
export function entryText(e: LogEntry): string {
  return membersText(entryMembers(e));
}

function membersText(members: readonly Member[]): string {
  const byName = new Map(members.map((m) => [m[0], m]));
  const parts: string[] = [];
  for (const name of ovsMemberOrder(members.map((m) => m[0]))) {
    const m = byName.get(name)!;
    parts.push(`${quoteString(name)}:${m[2] ?? stringify(m[1])}`);
  }
  return `{${parts.join(',')}}`;
}

function membersObject(members: readonly Member[]): JsonObject {
  const byName = new Map(members.map((m) => [m[0], m[1]]));
  const o: JsonObject = {};
  for (const name of ovsMemberOrder(members.map((m) => m[0]))) o[name] = byName.get(name)!;
  return o;
}

/** The members of a message's params object, in the order the C sender adds them. */
function messageMembers(msg: RaftMessage): Member[] {
  const m: Member[] = [];
  if (!isZeroUuid(msg.cluster)) m.push(['cluster', msg.cluster!]);
  if (!isZeroUuid(msg.to)) m.push(['to', msg.to!]);
  m.push(['from', msg.from]);
  if (msg.comment !== undefined) m.push(['comment', msg.comment]);
  const u = (name: string, v: number) => m.push([name, uint64ToJson(v), uint64Text(v)]);
  switch (msg.type) {
    case 'hello_request':
    case 'add_server_request':
      m.push(['address', msg.address]);
      break;
    case 'append_request': {
      u('term', msg.term);
      u('prev_log_index', msg.prevLogIndex);
      u('prev_log_term', msg.prevLogTerm);
      u('leader_commit', msg.leaderCommit);
      const entries = msg.log.map(entryMembers);
      m.push(['log', entries.map(membersObject), `[${entries.map(membersText).join(',')}]`]);
      break;
    }
    case 'append_reply':
      u('term', msg.term);
      u('log_end', msg.logEnd);
      u('prev_log_index', msg.prevLogIndex);
      u('prev_log_term', msg.prevLogTerm);
      u('n_entries', msg.nEntries);
      m.push(['result', msg.result]);
      break;
    case 'vote_request':
      u('term', msg.term);
      u('last_log_index', msg.lastLogIndex);
      u('last_log_term', msg.lastLogTerm);
      if (msg.leadershipTransfer) m.push(['leadership_transfer', true]);
      break;
    case 'vote_reply':
      u('term', msg.term);
      m.push(['vote', msg.vote]);
      break;
    case 'add_server_reply':
      m.push(['success', msg.success]);
      if (msg.remoteAddresses !== undefined && msg.remoteAddresses.length > 0) {
        m.push(['remote_addresses', ovsHashOrder(msg.remoteAddresses)]);
      }
      break;
    case 'remove_server_request':
      m.push(['server_id', msg.serverId]);
      break;
    case 'remove_server_reply':
      if (!isZeroUuid(msg.targetServer)) m.push(['target_server', msg.targetServer!]);
      m.push(['success', msg.success]);
      break;
    case 'install_snapshot_request':
      u('term', msg.term);
      u('last_index', msg.lastIndex);
      u('last_term', msg.lastTerm);
      m.push(['last_servers', serversToJson(msg.lastServers), serversText(msg.lastServers)]);
      m.push(['last_eid', msg.lastEid]);
      u('election_timer', msg.electionTimer);
      // The snapshot's text is the one its file holds (serialized once, entryDataTextAsync).
      m.push(['data', msg.data, entryDataText(msg.data)]);
      break;
    case 'install_snapshot_reply':
      u('term', msg.term);
      u('last_index', msg.lastIndex);
      u('last_term', msg.lastTerm);
      break;
    case 'become_leader':
      u('term', msg.term);
      break;
    case 'execute_command_request':
      m.push(['data', msg.data]);
      m.push(['prereq', msg.prereq]);
      m.push(['result', msg.result]);
      break;
    case 'execute_command_reply':
      m.push(['result', msg.result]);
      m.push(['status', msg.status]);
      if (msg.commitIndex) u('commit_index', msg.commitIndex);
      break;
  }
  return m;
}

/** The method and params of the notification that carries `msg` (params members in the C order). */
export function encode(msg: RaftMessage): { method: RaftMessageType; params: [JsonObject] } {
  return { method: msg.type, params: [membersObject(messageMembers(msg))] };
}

/** The params object of `msg` as JSON text. */
export function encodeParamsText(msg: RaftMessage): string {
  return membersText(messageMembers(msg));
}

/** The whole notification text `{"id":null,"method":"<type>","params":[{…}]}`, ready to send. */
export function encodeText(msg: RaftMessage): string {
  return `{"id":null,"method":${quoteString(msg.type)},"params":[${encodeParamsText(msg)}]}`;
}
