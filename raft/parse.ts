// Strict parsing of the JSON objects of OVSDB's Raft dialect (file records and RPCs), with the C server's
// error texts (raft.md §1.2–1.3, §2.2–2.3): the first problem found in parsing order is the one reported, as
// "Parsing <what> failed: <problem>"; members nobody asked for are refused at the end. Also Raft addresses
// and server maps, and uint64 in JSON. Pure: no I/O.
import { isIPv6 } from 'node:net';
import { isUuid, ZERO_UUID } from '../schema/atom.ts';
import { OvsdbError, syntaxError } from '../schema/error.ts';
import { isJsonObject, stringifySorted, type JsonObject, type JsonValue } from '../schema/json.ts';
import { ovsHashOrder } from '../schema/ovs-hash-order.ts';
import { MemberParser } from '../schema/parser.ts';
import { stringifySortedChunked, type Slicer } from '../schema/json-chunked.ts';
import type { Servers, Uuid } from './types.ts';

export { ZERO_UUID };

const TWO_64 = 18446744073709551616n;
const TWO_63 = 9223372036854775808n;

/** A uint64 as JSON carries it (int64: values ≥ 2^63 negative) → the unsigned value. */
export function uint64FromJson(v: number | bigint): number {
  if (typeof v === 'bigint') return Number(v < 0n ? TWO_64 + v : v);
  return v < 0 ? Number(TWO_64 + BigInt(v)) : v;
}

/** A uint64 as a JSON integer (≥ 2^63 written as the negative int64 with the same bits). */
export function uint64ToJson(v: number): number | bigint {
  if (Number.isSafeInteger(v)) return v;
  const b = BigInt(Math.trunc(v));
  return b >= TWO_63 ? b - TWO_64 : b;
}

/** uint64ToJson as JSON text. */
export function uint64Text(v: number): string {
  return Number.isSafeInteger(v) ? String(v) : uint64ToJson(v).toString();
}

/** The 4-hex-digit short form OVS prints for sids and cids. */
export function shortId(uuid: Uuid): string {
  return uuid.slice(0, 4);
}

/**
 * ovsdb_parser semantics for Raft objects. Members are looked up in the order the C parser looks them up,
 * and the first failure throws; a stray member is named in the order OVS would find it (its hash order).
 */
export class RaftParser extends MemberParser {
  private constructor(json: JsonObject, what: string) {
    super(json, what);
  }

  /** "Parsing <what> failed: Object expected." (without `syntax`, as OVS has no object to show). */
  static of(json: JsonValue | undefined, what: string): RaftParser {
    if (!isJsonObject(json)) throw new OvsdbError('syntax error', `Parsing ${what} failed: Object expected.`);
    return new RaftParser(json, what);
  }

  override finish(): void {
    const keys = Object.keys(this.json);
    if (keys.length === this.used.length) return;
    const extra = ovsHashOrder(keys).filter((k) => !this.used.includes(k));
    if (extra.length === 0) return;
    if (extra.length === 1) throw this.error(`Member '${extra[0]}' is present but not allowed here.`);
    const others = extra.length - 1;
    throw this.error(`Member '${extra[0]}' and ${others} other member${others > 1 ? 's' : ''} are present but not allowed here.`);
  }

  /** An integer member; absent → 0 (OVS does not distinguish absent from zero for these). */
  optionalUint64(name: string): number {
    const v = this.optional(name, 'integer');
    return v === undefined ? 0 : uint64FromJson(v as number | bigint);
  }

  requiredUint64(name: string): number {
    return uint64FromJson(this.required(name, 'integer') as number | bigint);
  }

  optionalString(name: string): string | undefined {
    return this.optional(name, 'string') as string | undefined;
  }

  requiredString(name: string): string {
    return this.required(name, 'string') as string;
  }

  requiredBoolean(name: string): boolean {
    return this.required(name, 'boolean') as boolean;
  }

  optionalBoolean(name: string): boolean | undefined {
    return this.optional(name, 'boolean') as boolean | undefined;
  }

  /** A UUID string member (either case; returned lower-case); "<name> is not a valid UUID" otherwise. */
  optionalUuid(name: string): Uuid | undefined {
    const s = this.optionalString(name);
    if (s === undefined) return undefined;
    if (!isUuid(s)) throw this.error(`${name} is not a valid UUID`);
    return s.toLowerCase();
  }

  requiredUuid(name: string): Uuid {
    const s = this.requiredString(name);
    if (!isUuid(s)) throw this.error(`${name} is not a valid UUID`);
    return s.toLowerCase();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Addresses (§2.1)

/** Receives the socket_util ERR lines OVS logs while it checks an address. */
export type AddressLog = (module: 'socket_util', level: 'ERR', message: string) => void;

function portOk(port: string): boolean {
  // str_to_int(…, 10): strtol's syntax (leading blanks, a sign) and nothing after the digits, in int range.
  if (!/^[ \t\n\v\f\r]*[+-]?[0-9]+$/.test(port)) return false;
  const v = Number(port.trim());
  return v >= 0 && v <= 65535;
}

/** The checks of inet_parse_active(target, no default port, resolve names): false when OVS refuses it. */
function hostPortOk(target: string, log: AddressLog | undefined): boolean {
  let colons = 0;
  let colon = -1;
  let inBrackets = false;
  for (let i = 0; i < target.length; i++) {
    const c = target[i];
    if (c === '[') inBrackets = true;
    else if (c === ']') inBrackets = false;
    else if (c === ':' && !inBrackets) {
      colons++;
      colon = i;
    }
  }
  const unbracket = (s: string) => (s.startsWith('[') ? s.slice(1, s.endsWith(']') ? -1 : undefined) : s);
  let host: string;
  let port: string | null = null;
  if (colons > 1) host = target;
  else if (colon >= 0) {
    host = unbracket(target.slice(0, colon));
    port = unbracket(target.slice(colon + 1));
  } else host = unbracket(target);
  if (port === null) {
    log?.('socket_util', 'ERR', `${target}: port must be specified`);
    return false;
  }
  if (port !== '' && !portOk(port)) {
    log?.('socket_util', 'ERR', `${target}: bad port number "${port}"`);
    return false;
  }
  if (host.includes(':')) {
    const pct = host.indexOf('%');
    const addr = pct < 0 ? host : host.slice(0, pct);
    // inet_pton(AF_INET6) on the part before a "%scope" (a scope name is not checked against the interfaces).
    return isIPv6(addr);
  }
  // An IPv4 literal, or a name: OVS resolves names and accepts an address whose name does not resolve.
  return true;
}

/**
 * raft_address_validate: `unix:` anything; `tcp:`/`ssl:` with a host (IPv6 in brackets) and a port. Returns
 * the OVS error (tag "ovsdb error") or null.
 */
export function validateRaftAddress(address: string, log?: AddressLog): OvsdbError | null {
  if (address.startsWith('unix:')) return null;
  if (address.startsWith('ssl:') || address.startsWith('tcp:')) {
    return hostPortOk(address.slice(4), log) ? null : new OvsdbError('ovsdb error', `${address}: syntax error in address`);
  }
  return new OvsdbError('ovsdb error', `${address}: expected "tcp" or "ssl" address`);
}

function validateAddressJson(address: JsonValue, log: AddressLog | undefined): string {
  if (typeof address !== 'string') throw syntaxError('server address is not string', address);
  const err = validateRaftAddress(address, log);
  if (err) throw err;
  return address;
}

/** A server map (sid → address) as OVS validates it: a non-empty object, UUID keys, valid addresses. */
export function serversFromJson(json: JsonValue | undefined, log?: AddressLog): Servers {
  if (!isJsonObject(json)) throw new OvsdbError('syntax error', 'servers must be JSON object', json === undefined ? {} : { syntax: json });
  const keys = Object.keys(json);
  if (keys.length === 0) throw syntaxError('must have at least one server', json);
  // Checked in OVS's iteration order, so the same bad member is reported.
  for (const sid of ovsHashOrder(keys)) {
    if (!isUuid(sid)) throw syntaxError(`${sid} is not a UUID`, json);
    validateAddressJson(json[sid]!, log);
  }
  // Kept in the order received (it decides the order we write them back).
  const servers = new Map<Uuid, string>();
  for (const sid of keys) servers.set(sid.toLowerCase(), json[sid] as string);
  return servers;
}

/** An array of remote addresses (joining header, add_server_reply): non-empty, each valid; duplicates dropped. */
export function addressesFromJson(json: JsonValue, log?: AddressLog): string[] {
  if (!Array.isArray(json) || json.length === 0) throw syntaxError('at least one remote address is required', json);
  const out: string[] = [];
  for (const a of json) {
    const s = validateAddressJson(a, log);
    if (!out.includes(s)) out.push(s);
  }
  return out;
}

/** The server map as JSON text, in the member order OVS writes it (its hash order of the map's order). */
export function serversText(servers: Servers): string {
  const parts: string[] = [];
  for (const sid of ovsHashOrder(servers.keys())) parts.push(`${JSON.stringify(sid)}:${JSON.stringify(servers.get(sid)!)}`);
  return `{${parts.join(',')}}`;
}

/** The server map as a JSON object (members in OVS's order). */
export function serversToJson(servers: Servers): JsonObject {
  const o: JsonObject = {};
  for (const sid of ovsHashOrder(servers.keys())) o[sid] = servers.get(sid)!;
  return o;
}

export function isZeroUuid(u: Uuid | undefined): boolean {
  return u === undefined || u === ZERO_UUID;
}

// Serialized entry data is cached: the same entry goes to the log and to every follower. (Entry data is
// never changed once it is in an entry.)
const dataTextCache = new WeakMap<object, string>();

/**
 * Entry data as OVS serializes it in log records and append_request entries: compact, object members sorted
 * (OVS keeps entry data pre-serialized with sorted keys).
 */
export function entryDataText(data: JsonValue): string {
  if (data === null || typeof data !== 'object') return stringifySorted(data);
  let t = dataTextCache.get(data);
  if (t === undefined) {
    t = stringifySorted(data);
    dataTextCache.set(data, t);
  }
  return t;
}

const dataTextInFlight = new WeakMap<object, Promise<string>>();

/**
 * entryDataText over several event-loop turns (a snapshot's data: tens of MB of sorted JSON), cached the
 * same way, so that the file and every install_snapshot_request share one serialization.
 */
export function entryDataTextAsync(data: JsonValue, slicer?: Slicer): Promise<string> {
  if (data === null || typeof data !== 'object') return Promise.resolve(stringifySorted(data));
  const t = dataTextCache.get(data);
  if (t !== undefined) return Promise.resolve(t);
  let p = dataTextInFlight.get(data);
  if (p === undefined) {
    p = stringifySortedChunked(data, slicer).then((text) => {
      dataTextCache.set(data, text);
      dataTextInFlight.delete(data);
      return text;
    });
    dataTextInFlight.set(data, p);
  }
  return p;
}

/** Whether entryDataText(data) is already computed (a cheap call). */
export function hasEntryDataText(data: JsonValue): boolean {
  return data === null || typeof data !== 'object' || dataTextCache.has(data);
}
