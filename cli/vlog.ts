// OVS-style logging ("vlog"): per-module, per-destination levels, OVS line
// patterns, `-v` specs, `--log-file`, and the state behind the vlog/* unixctl
// commands.  An enabled message becomes one record, rendered straight to the
// console/syslog/file lines of the destinations its levels reach.  (pino was
// the core once: it turned each record into JSON that its destination parsed
// back.)
//
// Writes are synchronous (fs.writeSync), so a line logged right before exit is
// in the file.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type dgram from 'node:dgram';
import { libc as libcHandle, nodeRequire } from './libc.ts';
import { strerror } from './fcntl.ts';

// ---------------------------------------------------------------------------
// Levels and destinations

export const VLOG_LEVELS = ['off', 'emer', 'err', 'warn', 'info', 'dbg'] as const;
export type VlogLevel = (typeof VLOG_LEVELS)[number];
export const VLOG_DESTINATIONS = ['console', 'syslog', 'file'] as const;
export type VlogDestination = (typeof VLOG_DESTINATIONS)[number];

const LEVEL_OFF = 0;
const LEVEL_DBG = 5;
const DEST_CONSOLE = 0;
const DEST_SYSLOG = 1;
const DEST_FILE = 2;
const N_DESTS = 3;
const DEFAULT_LEVEL = 4; // INFO everywhere, as `vlog/list` shows on a fresh server

const LEVEL_UPPER = ['OFF', 'EMER', 'ERR', 'WARN', 'INFO', 'DBG'];
// vlog level -> syslog(3) priority (EMER is sent as LOG_ALERT, INFO as LOG_NOTICE).
const SYSLOG_PRIORITY = [0, 1, 3, 4, 5, 7];

// The modules a real ovsdb-server 3.1 registers (as `vlog/list` prints them).  They
// are all accepted by -v / vlog/set so that scripts written for the real server
// (e.g. `-vjsonrpc:file:dbg`, `-vvlog:off`) keep working; our own modules are
// added by getLogger().
const OVS_MODULES = (
  'backtrace bundle command_line conntrack conntrack_tp coverage ct_dpif daemon daemon_unix dns_resolve dpdk dpif ' +
  'dpif_lookup_autovalidator dpif_lookup_generic dpif_mfex_extract_study dpif_netdev dpif_netdev_extract ' +
  'dpif_netdev_impl dpif_netdev_lookup dpif_netlink dpif_netlink_rtnl entropy fatal_signal flow hmap ipf jsonrpc ' +
  'lockfile memory meta_flow native_tnl netdev netdev_afxdp netdev_linux netdev_offload netdev_offload_tc ' +
  'netdev_vport netlink netlink_conntrack netlink_notifier netlink_socket nx_match odp_execute odp_execute_impl ' +
  'odp_util ofp_actions ofp_bundle ofp_connection ofp_errors ofp_flow ofp_group ofp_match ofp_meter ofp_monitor ' +
  'ofp_msgs ofp_packet ofp_port ofp_protocol ofp_queue ofp_table ofp_util ovs_numa ovs_rcu ovs_replay ovs_router ' +
  'ovs_thread ovsdb ovsdb_cs ovsdb_error ovsdb_file ovsdb_idl ovsdb_jsonrpc_server ovsdb_log ovsdb_monitor ' +
  'ovsdb_rbac ovsdb_server ovsdb_util ox_stat pmd_perf poll_loop process raft raft_rpc reconnect relay replication ' +
  'route_table sha1 signals socket_util socket_util_unix storage stream stream_fd stream_replay stream_ssl ' +
  'stream_tcp stream_unix svec tc timeval transaction transaction_forward trigger unixctl userspace_tso util uuid vlog'
).split(' ');

class Module {
  readonly name: string;
  readonly levels = new Uint8Array(N_DESTS).fill(DEFAULT_LEVEL);
  /** Highest level that reaches at least one destination (cached). */
  minLevel = DEFAULT_LEVEL;
  constructor(name: string) {
    this.name = name;
  }
}

const modules = new Map<string, Module>();

function moduleFor(name: string): Module {
  let m = modules.get(name);
  if (!m) {
    m = new Module(name);
    // A module created after `-v`/`vlog/set ANY:...` follows the ANY settings.
    m.levels.set(anyLevels);
    modules.set(name, m);
    updateMinLevel(m);
  }
  return m;
}

/** Levels most recently set for all modules; newly registered modules inherit them. */
const anyLevels = new Uint8Array(N_DESTS).fill(DEFAULT_LEVEL);

function updateMinLevel(m: Module): void {
  let max = Math.max(m.levels[DEST_CONSOLE]!, m.levels[DEST_SYSLOG]!);
  if (logFd !== null) max = Math.max(max, m.levels[DEST_FILE]!);
  m.minLevel = max;
}

function updateAllMinLevels(): void {
  for (const m of modules.values()) updateMinLevel(m);
}

// ---------------------------------------------------------------------------
// Patterns (the `%05N|%c%T|%p|%m` language of vlog/list-pattern)

export const DEFAULT_PATTERNS: Record<VlogDestination, string> = {
  console: '%D{%Y-%m-%dT%H:%M:%SZ}|%05N|%c%T|%p|%m',
  syslog: 'ovs|%05N|%c%T|%p|%m',
  file: '%D{%Y-%m-%dT%H:%M:%S.###Z}|%05N|%c%T|%p|%m',
};
const SYSLOG_PREFIX = '<%B> %D{%h %e %T} %E %A:';

interface LogRecord {
  module: string;
  level: number; // 1..5
  seq: number;
  time: number; // ms since epoch
  msg: string;
}

type Part = string | ((r: LogRecord) => string);

const PROGRAM_NAME = 'ovsdb-server';
const START_TIME = Date.now();
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** strftime subset plus OVS's `.###` (milliseconds) extension. */
function formatTime(fmt: string, ms: number, utc: boolean): string {
  const d = new Date(ms);
  const Y = utc ? d.getUTCFullYear() : d.getFullYear();
  const mo = utc ? d.getUTCMonth() : d.getMonth();
  const day = utc ? d.getUTCDate() : d.getDate();
  const H = utc ? d.getUTCHours() : d.getHours();
  const M = utc ? d.getUTCMinutes() : d.getMinutes();
  const S = utc ? d.getUTCSeconds() : d.getSeconds();
  const wd = utc ? d.getUTCDay() : d.getDay();
  let out = '';
  for (let i = 0; i < fmt.length; i++) {
    const c = fmt[i]!;
    if (c === '.' && fmt.startsWith('.###', i)) {
      out += '.' + String(d.getUTCMilliseconds()).padStart(3, '0');
      i += 3;
      continue;
    }
    if (c !== '%' || i + 1 >= fmt.length) {
      out += c;
      continue;
    }
    const f = fmt[++i]!;
    switch (f) {
      case 'Y': out += String(Y); break;
      case 'm': out += pad2(mo + 1); break;
      case 'd': out += pad2(day); break;
      case 'e': out += String(day).padStart(2, ' '); break;
      case 'H': out += pad2(H); break;
      case 'M': out += pad2(M); break;
      case 'S': out += pad2(S); break;
      case 'T': out += `${pad2(H)}:${pad2(M)}:${pad2(S)}`; break;
      case 'F': out += `${Y}-${pad2(mo + 1)}-${pad2(day)}`; break;
      case 'b': case 'h': out += MONTHS[mo]; break;
      case 'a': out += DAYS[wd]; break;
      case 'y': out += pad2(Y % 100); break;
      case 's': out += String(Math.floor(ms / 1000)); break;
      case '%': out += '%'; break;
      default: out += '%' + f;
    }
  }
  return out;
}

function compilePattern(pattern: string): Part[] {
  const parts: Part[] = [];
  let lit = '';
  const flush = () => {
    if (lit) parts.push(lit);
    lit = '';
  };
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c !== '%') {
      lit += c;
      continue;
    }
    // %[-][0][width]X[{arg}]
    let j = i + 1;
    let left = false;
    let zero = false;
    if (pattern[j] === '-') { left = true; j++; }
    if (pattern[j] === '0') { zero = true; j++; }
    let width = 0;
    while (j < pattern.length && pattern[j]! >= '0' && pattern[j]! <= '9') width = width * 10 + Number(pattern[j++]);
    const conv = pattern[j];
    if (conv === undefined) { lit += pattern.slice(i); break; }
    let arg: string | null = null;
    if (pattern[j + 1] === '{') {
      const close = pattern.indexOf('}', j + 2);
      if (close >= 0) { arg = pattern.slice(j + 2, close); }
    }
    const next = arg !== null ? pattern.indexOf('}', j + 2) + 1 : j + 1;
    let fn: ((r: LogRecord) => string) | null = null;
    switch (conv) {
      case 'A': fn = () => PROGRAM_NAME; break;
      case 'B': fn = (r) => String(8 * syslogFacility + SYSLOG_PRIORITY[r.level]!); break;
      case 'c': fn = (r) => r.module; break;
      case 'd': { const f = arg ?? '%Y-%m-%d %H:%M:%S'; fn = (r) => formatTime(f, r.time, false); break; }
      case 'D': { const f = arg ?? '%Y-%m-%d %H:%M:%S'; fn = (r) => formatTime(f, r.time, true); break; }
      case 'E': fn = () => os.hostname(); break;
      case 'm': fn = (r) => r.msg; break;
      case 'N': fn = (r) => String(r.seq); break;
      case 'n': fn = () => '\n'; break;
      case 'p': fn = (r) => LEVEL_UPPER[r.level]!; break;
      case 'P': fn = () => String(process.pid); break;
      case 'r': fn = (r) => String(r.time - START_TIME); break;
      case 't': fn = () => 'main'; break;
      case 'T': fn = () => ''; break; // thread name; empty on the main thread
      case '%': lit += '%'; i = j; continue;
      default: lit += pattern.slice(i, next); i = next - 1; continue;
    }
    flush();
    if (width > 0) {
      const inner = fn;
      const padChar = zero && !left ? '0' : ' ';
      fn = left ? (r) => inner(r).padEnd(width, ' ') : (r) => inner(r).padStart(width, padChar);
    }
    parts.push(fn);
    i = next - 1;
  }
  flush();
  return parts;
}

function render(parts: Part[], r: LogRecord): string {
  let s = '';
  for (const p of parts) s += typeof p === 'string' ? p : p(r);
  return s;
}

const patterns: Record<VlogDestination, string> = { ...DEFAULT_PATTERNS };
const compiled: Part[][] = [
  compilePattern(patterns.console),
  compilePattern(patterns.syslog),
  compilePattern(patterns.file),
];
const syslogPrefix = compilePattern(SYSLOG_PREFIX);

// ---------------------------------------------------------------------------
// Destinations

let consoleFd: number | null = 2;
let logFd: number | null = null;
let logFileName: string | null = null;
let logFileAbs: string | null = null;

// syslog: libc by default (like OVS), or UDP.
let syslogFacility = 3; // LOG_DAEMON
let syslogMethod = 'libc';
let syslogTarget: { host: string; port: number } | null = null;
let udp: dgram.Socket | null = null;
let libcSyslog: ((pri: number, fmt: string, ...args: unknown[]) => void) | null = null;
let libcSyslogFailed = false;
// openlog(3) keeps the ident pointer: keep the buffer alive for the process lifetime.
const SYSLOG_IDENT = Buffer.from(`${'ovsdb-server'}\0`);

function sendLibcSyslog(pri: number, line: string): void {
  if (libcSyslogFailed) return;
  if (!libcSyslog) {
    try {
      const libc = libcHandle();
      const openlog = libc.func('void openlog(void *ident, int option, int facility)') as (
        ident: Buffer,
        option: number,
        facility: number,
      ) => void;
      libcSyslog = libc.func('void syslog(int priority, const char *fmt, ...)') as (
        pri: number,
        fmt: string,
        ...args: unknown[]
      ) => void;
      openlog(SYSLOG_IDENT, 0, syslogFacility * 8);
    } catch {
      libcSyslogFailed = true;
      return;
    }
  }
  libcSyslog(pri, '%s', 'str', line);
}

function sendUdp(hostPort: { host: string; port: number }, line: string): void {
  if (!udp) {
    // node:dgram loads only for UDP syslog (each builtin module costs start-up time and memory).
    const { createSocket } = nodeRequire('node:dgram') as typeof dgram;
    udp = createSocket(hostPort.host.includes(':') ? 'udp6' : 'udp4');
    udp.unref();
    udp.on('error', () => {});
  }
  udp.send(line, hostPort.port, hostPort.host, () => {});
}

function writeAll(fd: number, s: string): boolean {
  try {
    fs.writeSync(fd, s);
    return true;
  } catch {
    return false;
  }
}

/** Bit mask of destinations (1<<dest) that a message at `level` from `m` reaches. */
function destMask(m: Module, level: number): number {
  let mask = 0;
  if (level <= m.levels[DEST_CONSOLE]! && consoleFd !== null) mask |= 1 << DEST_CONSOLE;
  if (level <= m.levels[DEST_SYSLOG]!) mask |= 1 << DEST_SYSLOG;
  if (level <= m.levels[DEST_FILE]! && logFd !== null) mask |= 1 << DEST_FILE;
  return mask;
}

function emitRecord(r: LogRecord, mask: number): void {
  if (mask & (1 << DEST_CONSOLE) && consoleFd !== null) {
    writeAll(consoleFd, render(compiled[DEST_CONSOLE]!, r) + '\n');
  }
  if (mask & (1 << DEST_SYSLOG)) {
    const line = render(compiled[DEST_SYSLOG]!, r);
    if (syslogMethod === 'libc') sendLibcSyslog(syslogFacility * 8 + SYSLOG_PRIORITY[r.level]!, line);
    else if (syslogMethod.startsWith('udp:')) {
      const hp = parseHostPort(syslogMethod.slice(4));
      if (hp) sendUdp(hp, render(syslogPrefix, r) + ' ' + line);
    }
    if (syslogTarget) sendUdp(syslogTarget, render(syslogPrefix, r) + ' ' + line);
  }
  if (mask & (1 << DEST_FILE) && logFd !== null) {
    writeAll(logFd, render(compiled[DEST_FILE]!, r) + '\n');
  }
}

function parseHostPort(s: string): { host: string; port: number } | null {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(s);
  if (!m) return null;
  return { host: m[1] ?? m[2]!, port: Number(m[3]) };
}

/**
 * Set by cli/daemon.ts in re-spawned stages (Node has no fork()): the child
 * continues the parent's sequence numbers and does not announce the log file
 * the parent already announced, so the log reads like the real server's.
 */
export const STAGE_ENV = 'OVSDB_TS_DAEMON_STAGE';
export const SEQ_ENV = 'OVSDB_TS_VLOG_SEQ';
let seqNo = Number(process.env[SEQ_ENV] ?? 0) || 0;
delete process.env[SEQ_ENV];
let inheritedLogFile = process.env[STAGE_ENV] !== undefined;

/** The sequence number of the last message (for handing on to a re-spawned stage). */
export function vlogSequence(): number {
  return seqNo;
}

function log(m: Module, level: number, msg: string): void {
  if (level > m.minLevel) return;
  const dst = destMask(m, level);
  if (dst === 0) return;
  emitRecord({ module: m.name, level, seq: ++seqNo, time: Date.now(), msg }, dst);
}

// ---------------------------------------------------------------------------
// Public logger API

export interface Logger {
  readonly module: string;
  emer(msg: string): void;
  err(msg: string): void;
  warn(msg: string): void;
  info(msg: string): void;
  dbg(msg: string): void;
  /** True if a message at `level` would be written somewhere (skip costly formatting otherwise). */
  isEnabled(level: Exclude<VlogLevel, 'off'>): boolean;
}

const loggers = new Map<string, Logger>();

/** The logger of module `name` (OVS module names use underscores, e.g. "ovsdb_server"). */
export function getLogger(name: string): Logger {
  let l = loggers.get(name);
  if (l) return l;
  const m = moduleFor(name);
  l = {
    module: name,
    emer: (msg) => log(m, 1, msg),
    err: (msg) => log(m, 2, msg),
    warn: (msg) => log(m, 3, msg),
    info: (msg) => log(m, 4, msg),
    dbg: (msg) => log(m, 5, msg),
    isEnabled: (level) => {
      const lv = VLOG_LEVELS.indexOf(level);
      return lv <= m.minLevel && destMask(m, lv) !== 0;
    },
  };
  loggers.set(name, l);
  return l;
}

/** Every module name known to vlog, sorted as `vlog/list` prints them. */
export function listModules(): string[] {
  return [...modules.keys()].sort();
}

for (const name of OVS_MODULES) moduleFor(name);

/** Simple token bucket, like OVS's VLOG_RATE_LIMIT_INIT(rate per minute, burst). */
export class RateLimiter {
  private tokens: number;
  private last = Date.now();
  private dropped = 0;
  constructor(
    private readonly perMinute: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }
  /** True if a message may be logged now; rate limiting can be disabled with vlog/disable-rate-limit. */
  allow(module?: string): boolean {
    if (rateLimitDisabled === 'all' || (module !== undefined && rateLimitDisabled.has(module))) return true;
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.perMinute) / 60_000);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    this.dropped++;
    return false;
  }
}

let rateLimitDisabled: Set<string> | 'all' = new Set();

// ---------------------------------------------------------------------------
// `-v` / `vlog/set` specs

export interface VlogSpec {
  kind: 'levels';
  module: string | null; // null = ANY
  destination: VlogDestination | null; // null = ANY
  level: number;
}
export interface VlogPatternSpec {
  kind: 'pattern';
  destination: VlogDestination | null;
  pattern: string | null; // null = restore the default
}
export interface VlogFacilitySpec {
  kind: 'facility';
  facility: number;
}
export type ParsedVlogSpec = VlogSpec | VlogPatternSpec | VlogFacilitySpec;

const FACILITIES: Record<string, number> = {
  kern: 0, user: 1, mail: 2, daemon: 3, auth: 4, syslog: 5, lpr: 6, news: 7, uucp: 8, clock: 9, authpriv: 10,
  ftp: 11, ntp: 12, audit: 13, alert: 14, clock2: 15, local0: 16, local1: 17, local2: 18, local3: 19,
  local4: 20, local5: 21, local6: 22, local7: 23,
};

function destinationOf(word: string): VlogDestination | null | undefined {
  const w = word.toLowerCase();
  if (w === 'any') return null;
  return (VLOG_DESTINATIONS as readonly string[]).includes(w) ? (w as VlogDestination) : undefined;
}

/**
 * Parse one spec (`module:destination:level`, words separated by spaces, commas
 * or colons, in any order, case-insensitive; also PATTERN:dest:pattern and
 * FACILITY:name).  Returns the parsed spec, or the OVS error text.
 */
export function parseVlogSpec(spec: string): ParsedVlogSpec | string {
  const upper = spec.toUpperCase();
  if (upper.startsWith('PATTERN:')) {
    const rest = spec.slice(8);
    const colon = rest.indexOf(':');
    const destWord = colon >= 0 ? rest.slice(0, colon) : rest;
    const dest = destinationOf(destWord);
    if (dest === undefined) return `unknown destination "${destWord}"`;
    return { kind: 'pattern', destination: dest, pattern: colon >= 0 ? rest.slice(colon + 1) : null };
  }
  if (upper.startsWith('FACILITY:')) {
    const f = FACILITIES[spec.slice(9).toLowerCase()];
    if (f === undefined) return 'invalid facility';
    return { kind: 'facility', facility: f };
  }
  let module: string | null | undefined;
  let destination: VlogDestination | null | undefined;
  let level: number | undefined;
  for (const word of spec.split(/[ ,:\t]+/)) {
    if (word === '') continue;
    const w = word.toLowerCase();
    if (w === 'any') continue;
    const d = destinationOf(w);
    if (d !== undefined) {
      if (destination !== undefined) return 'cannot specify multiple destinations';
      destination = d;
      continue;
    }
    const lv = (VLOG_LEVELS as readonly string[]).indexOf(w);
    if (lv >= 0) {
      if (level !== undefined) return 'cannot specify multiple levels';
      level = lv;
      continue;
    }
    if (modules.has(w)) {
      if (module !== undefined) return 'cannot specify multiple modules';
      module = w;
      continue;
    }
    return `no destination, level, or module "${word}"`;
  }
  return { kind: 'levels', module: module ?? null, destination: destination ?? null, level: level ?? LEVEL_DBG };
}

/** Apply a parsed spec. */
export function applyVlogSpec(s: ParsedVlogSpec): void {
  switch (s.kind) {
    case 'levels': {
      const dests = s.destination === null ? [0, 1, 2] : [VLOG_DESTINATIONS.indexOf(s.destination)];
      const targets = s.module === null ? [...modules.values()] : [modules.get(s.module)!];
      for (const m of targets) for (const d of dests) m.levels[d] = s.level;
      if (s.module === null) for (const d of dests) anyLevels[d] = s.level;
      updateAllMinLevels();
      break;
    }
    case 'pattern': {
      const dests = s.destination === null ? [...VLOG_DESTINATIONS] : [s.destination];
      for (const d of dests) {
        patterns[d] = s.pattern ?? DEFAULT_PATTERNS[d];
        compiled[VLOG_DESTINATIONS.indexOf(d)] = compilePattern(patterns[d]);
      }
      break;
    }
    case 'facility':
      syslogFacility = s.facility;
      break;
  }
}

/** Parse and apply one spec; returns null on success or the error text. */
export function setVlogLevels(spec: string): string | null {
  const p = parseVlogSpec(spec);
  if (typeof p === 'string') return p;
  applyVlogSpec(p);
  return null;
}

/** Reset every module and pattern to the defaults (for tests). */
export function resetVlog(): void {
  anyLevels.fill(DEFAULT_LEVEL);
  for (const m of modules.values()) m.levels.fill(DEFAULT_LEVEL);
  for (const d of VLOG_DESTINATIONS) {
    patterns[d] = DEFAULT_PATTERNS[d];
    compiled[VLOG_DESTINATIONS.indexOf(d)] = compilePattern(patterns[d]);
  }
  syslogFacility = 3;
  rateLimitDisabled = new Set();
  updateAllMinLevels();
}

// ---------------------------------------------------------------------------
// Destinations configuration

/** Where console lines go: stderr by default; null when detached (stderr is /dev/null then). */
export function setConsoleFd(fd: number | null): void {
  consoleFd = fd;
}

/** `$OVS_LOGDIR/ovsdb-server.log`, Debian's default directory otherwise. */
export function defaultLogFile(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env['OVS_LOGDIR'] || '/var/log/openvswitch', 'ovsdb-server.log');
}

function openLogFd(file: string): number {
  return fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_APPEND, 0o640);
}

/**
 * Start logging to `file`.  Logs `opened log file <file>` (the name as given;
 * --log-file without an argument gives an absolute default) when no file was
 * open or the name changes.  On failure logs
 * `vlog|WARN|failed to open <file> for logging: <reason>` and returns that text
 * (the real server then exits with status 1 without another message).
 */
export function setLogFile(file: string): string | null {
  return openLogFile(file, path.resolve(file));
}

function openLogFile(file: string, abs: string): string | null {
  let fd: number;
  try {
    fd = openLogFd(abs);
  } catch (e) {
    const text = `failed to open ${file} for logging: ${errnoText(e as NodeJS.ErrnoException)}`;
    getLogger('vlog').warn(text);
    return text;
  }
  const announce = (logFd === null || logFileAbs !== abs) && !inheritedLogFile;
  inheritedLogFile = false;
  if (logFd !== null) fs.closeSync(logFd);
  logFd = fd;
  logFileName = file;
  logFileAbs = abs; // survives the chdir('/') of --detach, for vlog/reopen
  updateAllMinLevels();
  if (announce) getLogger('vlog').info(`opened log file ${file}`);
  return null;
}

function errnoText(err: NodeJS.ErrnoException): string {
  return typeof err.errno === 'number' ? strerror(Math.abs(err.errno)) : err.message;
}

/** vlog/reopen: reopen the log file (after logrotate moved it).  Error text or null. */
export function reopenLogFile(): string | null {
  if (logFileAbs === null || logFileName === null) return 'Logging to file not configured';
  // Nothing to do if the file at that name is still the one we write to.
  if (logFd !== null) {
    try {
      const a = fs.fstatSync(logFd);
      const b = fs.statSync(logFileAbs);
      if (a.dev === b.dev && a.ino === b.ino) return null;
    } catch {
      // the file was moved or removed: reopen below
    }
  }
  return openLogFile(logFileName, logFileAbs);
}

/** vlog/close: stop writing the log file (vlog/reopen opens it again). */
export function closeLogFile(): void {
  if (logFd !== null) {
    fs.closeSync(logFd);
    logFd = null;
    updateAllMinLevels();
  }
}

/** The absolute log file name, or null when --log-file was not given. */
export function logFilePath(): string | null {
  return logFileAbs;
}

/** --syslog-method=(libc|unix:file|udp:ip:port) and --syslog-target=HOST:PORT. */
export function configureSyslog(method: string | undefined, target: string | undefined): void {
  if (method !== undefined) syslogMethod = method;
  if (target !== undefined) syslogTarget = parseHostPort(target);
}

// ---------------------------------------------------------------------------
// vlog/* unixctl commands, as plain functions.  Each returns
// { ok: true, text } (success reply) or { ok: false, text } (error reply).

export type VlogReply = { ok: boolean; text: string };

/** vlog/list */
export function vlogListText(): string {
  let s = '                 console    syslog    file\n                 -------    ------    ------\n';
  for (const name of listModules()) {
    const m = modules.get(name)!;
    const lv = (d: number) => LEVEL_UPPER[m.levels[d]!]!.padStart(4, ' ');
    s += `${name.padEnd(16, ' ')}  ${lv(0)}       ${lv(1)}       ${lv(2)}\n`;
  }
  return s;
}

/** vlog/list-pattern */
export function vlogListPatternText(): string {
  return (
    '         prefix                            format\n' +
    '         ------                            ------\n' +
    `SYSLOG   ${SYSLOG_PREFIX.padEnd(33, ' ')} ${patterns.syslog}\n` +
    `CONSOLE  ${'none'.padEnd(33, ' ')} ${patterns.console}\n` +
    `FILE     ${'none'.padEnd(33, ' ')} ${patterns.file}\n`
  );
}

export interface VlogCommand {
  name: string;
  usage: string;
  minArgs: number;
  maxArgs: number;
  run(args: string[]): VlogReply;
}

const MAX_ARGS = Number.MAX_SAFE_INTEGER;

/** The vlog/* commands for the unixctl server (names, usage strings and arg counts as in list-commands). */
export const vlogCommands: VlogCommand[] = [
  {
    name: 'vlog/set',
    usage: '{spec | PATTERN:destination:pattern}',
    minArgs: 0,
    maxArgs: MAX_ARGS,
    run(args) {
      for (const a of args) {
        const err = setVlogLevels(a);
        if (err !== null) return { ok: false, text: err };
      }
      return { ok: true, text: '' };
    },
  },
  { name: 'vlog/list', usage: '', minArgs: 0, maxArgs: 0, run: () => ({ ok: true, text: vlogListText() }) },
  {
    name: 'vlog/list-pattern',
    usage: '',
    minArgs: 0,
    maxArgs: 0,
    run: () => ({ ok: true, text: vlogListPatternText() }),
  },
  {
    name: 'vlog/reopen',
    usage: '',
    minArgs: 0,
    maxArgs: 0,
    run() {
      const err = reopenLogFile();
      return err === null ? { ok: true, text: '' } : { ok: false, text: err };
    },
  },
  {
    name: 'vlog/close',
    usage: '',
    minArgs: 0,
    maxArgs: 0,
    run() {
      closeLogFile();
      return { ok: true, text: '' };
    },
  },
  {
    name: 'vlog/enable-rate-limit',
    usage: '[module]...',
    minArgs: 0,
    maxArgs: MAX_ARGS,
    run: (args) => setRateLimit(args, true),
  },
  {
    name: 'vlog/disable-rate-limit',
    usage: '[module]...',
    minArgs: 0,
    maxArgs: MAX_ARGS,
    run: (args) => setRateLimit(args, false),
  },
];

function setRateLimit(args: string[], enable: boolean): VlogReply {
  if (args.length === 0) {
    rateLimitDisabled = enable ? new Set() : 'all';
    return { ok: true, text: '' };
  }
  for (const a of args) {
    if (!modules.has(a.toLowerCase())) return { ok: false, text: `no module named ${a}` };
  }
  if (rateLimitDisabled === 'all') rateLimitDisabled = new Set(listModules());
  for (const a of args) {
    if (enable) rateLimitDisabled.delete(a.toLowerCase());
    else rateLimitDisabled.add(a.toLowerCase());
  }
  return { ok: true, text: '' };
}
