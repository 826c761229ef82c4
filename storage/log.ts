// The OVSDB record log (ovsdb(5), reference §7): a file of `OVSDB JSON <len> <sha1>\n` headers, each
// followed by <len> bytes of JSON object text. Clustered files (raft.md §1.1) differ only in the magic
// (`OVSDB CLUSTER`), chosen with the `magic` option. This module only frames, checks,
// appends and atomically replaces records; what the records mean is the database layer's business.
//
// Corruption policy. A crash can tear only the tail: the last append may be cut short (EOF in its
// header or body) or, on some file systems, leave a zero-filled or garbage block with a bad hash.
// Such a tail is always dropped with a warning, and cut off before the next append. Damage with
// a valid record after it cannot come from a crash, so it is "corruption in the middle":
//   - 'strict' (default): reading throws the reference's error (it names the offset). Dropping the
//     rest would destroy records that were acknowledged to clients, so we refuse to guess; the
//     operator can inspect the file (ovsdb-tool show-log) and reopen with 'reference' to accept loss.
//   - 'reference': what ovsdb-server 3.1 does: report the error, use the records before it, and
//     truncate the file there on the next write.
import fs from 'node:fs';
import path from 'node:path';
import { createHash, hash } from 'node:crypto';
import { parseJson, type JsonObject, type JsonValue } from '../schema/json.ts';
import { parseJsonChunked, type Slicer } from '../schema/json-chunked.ts';
import { LogError, ioError } from './log-error.ts';
import {
  MAGIC_CLUSTERED,
  MAGIC_STANDALONE,
  MAX_HEADER_BYTES,
  displayHeaderLine,
  parseHeaderLine,
  type RecordHeader,
} from './log-header.ts';

export { LogError, strerror } from './log-error.ts';
export type { LogErrorTag } from './log-error.ts';

/** Parses one JSON text; throws an Error whose message goes into "are not valid JSON (<message>)". */
export type ParseJson = (text: string) => JsonValue;

export type CorruptionPolicy = 'strict' | 'reference';

export interface LogRecord {
  /** File offset of the record's header line. */
  offset: number;
  /** Bytes of header plus body, so the next record starts at offset + length. */
  length: number;
  json: JsonObject;
}

export interface LogRecovery {
  /** 'torn-tail': nothing valid follows (crash leftovers). 'corrupt': a valid record follows. */
  kind: 'torn-tail' | 'corrupt';
  error: LogError;
  /** End of the last good record: the file is cut here before the next append. */
  offset: number;
  /** Bytes from `offset` to the end of the file that are not used. */
  discardedBytes: number;
  /** For 'corrupt': offset of the first valid record found after the damage. */
  nextValidOffset?: number;
}

export interface LogStats {
  /** Records in the file now, the schema record included (read + appended, reset by replaceWith). */
  records: number;
  /** Records read at open plus records appended since open; not reset by replaceWith. */
  recordsSinceOpen: number;
  /** Bytes of good data: the offset the next record goes to. */
  size: number;
  /** `size` right after the file was loaded, created or last replaced. */
  baseSize: number;
}

/** The fs calls the log makes; tests replace some to inject faults. */
export interface LogFs {
  openSync(p: string, flags: string, mode?: number): number;
  closeSync(fd: number): void;
  readSync(fd: number, buf: Uint8Array, offset: number, length: number, position: number): number;
  writeSync(fd: number, buf: Uint8Array, offset: number, length: number, position: number): number;
  ftruncateSync(fd: number, len: number): void;
  fdatasyncSync(fd: number): void;
  fsyncSync(fd: number): void;
  fdatasync(fd: number, cb: (err: NodeJS.ErrnoException | null) => void): void;
  write(fd: number, buf: Uint8Array, offset: number, length: number, position: number, cb: (err: NodeJS.ErrnoException | null, written: number) => void): void;
  fstatSync(fd: number): { size: number };
  renameSync(from: string, to: string): void;
  unlinkSync(p: string): void;
  realpathSync(p: string): string;
}

const nodeFs: LogFs = {
  openSync: (p, flags, mode) => fs.openSync(p, flags, mode),
  closeSync: (fd) => fs.closeSync(fd),
  readSync: (fd, buf, off, len, pos) => fs.readSync(fd, buf, off, len, pos),
  writeSync: (fd, buf, off, len, pos) => fs.writeSync(fd, buf, off, len, pos),
  ftruncateSync: (fd, len) => fs.ftruncateSync(fd, len),
  fdatasyncSync: (fd) => fs.fdatasyncSync(fd),
  fsyncSync: (fd) => fs.fsyncSync(fd),
  fdatasync: (fd, cb) => fs.fdatasync(fd, cb),
  write: (fd, buf, off, len, pos, cb) => fs.write(fd, buf, off, len, pos, cb),
  fstatSync: (fd) => fs.fstatSync(fd),
  renameSync: (a, b) => fs.renameSync(a, b),
  unlinkSync: (p) => fs.unlinkSync(p),
  realpathSync: (p) => fs.realpathSync(p),
};

export interface LogOpenOptions {
  /** Open for appending (default false: read-only, the file is never changed). */
  writable?: boolean;
  /**
   * The magic(s) accepted (MAGIC_STANDALONE, MAGIC_CLUSTERED). Default: standalone only, and a clustered
   * file is refused with a hint. With a list, another magic gets "cannot identify file type" (as OVS).
   */
  magic?: string | readonly string[];
  /** What to do about damage in the middle of the file (default 'strict', see the file comment). */
  policy?: CorruptionPolicy;
  /** Default: parseJson of schema/json.ts. */
  parseJson?: ParseJson;
  /** Called once when reading stops early on a torn tail, or on corruption under 'reference'. */
  onRecovery?: (r: LogRecovery) => void;
  /** Called for problems that do not fail the operation (e.g. directory fsync after a rename). */
  onWarning?: (message: string) => void;
  fs?: Partial<LogFs>;
}

export interface LogCreateOptions extends Omit<LogOpenOptions, 'writable' | 'policy' | 'onRecovery' | 'magic'> {
  /** The magic of every record (default MAGIC_STANDALONE). */
  magic?: string;
}

// Exact int64 (bigint beyond 2^53) and OVS-worded syntax errors.
const defaultParse: ParseJson = (text) => parseJson(text);
const utf8 = new TextDecoder('utf-8', { fatal: true });
const READ_CHUNK = 1 << 20;
/** Records at least this long are read by recordsAsync() over several event-loop turns. */
const ASYNC_RECORD_BYTES = 512 * 1024;
const NEW_FILE_MODE = 0o660; // the kernel applies the umask, as the reference's creat() does
const HEADER_PREFIX = 'OVSDB JSON ';

function headerPrefix(magic: string): string {
  return magic === MAGIC_STANDALONE ? HEADER_PREFIX : `OVSDB ${magic} `;
}

// One-shot hash: a Hash object per record cost as much as the hashing itself.
/** fs sets whose writeSync is node's: appends may then write strings directly (see writeRecordString). */
const nativeWrites = new WeakSet<LogFs>();

function makeIo(overrides: Partial<LogFs> | undefined): LogFs {
  const io: LogFs = { ...nodeFs, ...overrides };
  // A replaced writeSync (fault injection) must see every write.
  if (!overrides?.writeSync) nativeWrites.add(io);
  return io;
}

function sha1Hex(data: Uint8Array | string): string {
  return hash('sha1', data, 'hex');
}

/** Header plus body of one record holding `text` (one line of JSON, "\n" added), as one buffer. */
export function encodeRecord(text: string): Buffer {
  return encodeRecordAs(text, MAGIC_STANDALONE);
}

/** encodeRecord with another magic (MAGIC_CLUSTERED for a clustered file). */
export function encodeRecordAs(text: string, magic: string): Buffer {
  const prefix = headerPrefix(magic);
  const bodyLen = Buffer.byteLength(text, 'utf8') + 1;
  const lenStr = String(bodyLen);
  const headerLen = prefix.length + lenStr.length + 42; // " " + 40 hex + "\n"
  const buf = Buffer.allocUnsafe(headerLen + bodyLen);
  buf.write(text, headerLen, 'utf8');
  buf[headerLen + bodyLen - 1] = 0x0a;
  const sha = sha1Hex(buf.subarray(headerLen));
  buf.write(`${prefix}${lenStr} ${sha}\n`, 0, 'latin1');
  return buf;
}

// Positional reads through a reusable window; a returned view is valid until the next call.
class Reader {
  private buf = Buffer.alloc(0);
  private start = 0;
  private len = 0;
  constructor(
    private readonly io: LogFs,
    private readonly fd: number,
    private readonly fileName: string,
  ) {}

  /** Up to `n` bytes at `offset`; fewer only at end of file. */
  bytes(offset: number, n: number): Buffer {
    if (offset >= this.start && offset + n <= this.start + this.len) {
      return this.buf.subarray(offset - this.start, offset - this.start + n);
    }
    const want = Math.max(n, READ_CHUNK);
    if (this.buf.length < want) this.buf = Buffer.allocUnsafe(want);
    let got = 0;
    while (got < want) {
      let r: number;
      try {
        r = this.io.readSync(this.fd, this.buf, got, want - got, offset + got);
      } catch (err) {
        throw ioError(`${this.fileName}: error reading ${n} bytes starting at offset ${offset}`, err, offset);
      }
      if (r === 0) break;
      got += r;
    }
    this.start = offset;
    this.len = got;
    return this.buf.subarray(0, Math.min(n, got));
  }
}

type ReadResult =
  | { ok: true; record: LogRecord }
  | { ok: false; error: LogError; torn: boolean }
  | null; // clean end of file

export class RecordLog {
  /** The file name as given; it appears in every error message. */
  readonly path: string;
  /** Resolved at open: the daemon's chdir('/') after --detach must not break a later compaction. */
  private readonly absPath: string;
  readonly writable: boolean;
  readonly policy: CorruptionPolicy;
  /** The file's magic (every record has it): MAGIC_STANDALONE or MAGIC_CLUSTERED. */
  readonly magic: string;
  /** Set when reading stopped before the end of the file. */
  recovery: LogRecovery | null = null;

  private readonly io: LogFs;
  private readonly parse: ParseJson;
  private readonly onRecovery: ((r: LogRecovery) => void) | undefined;
  private readonly onWarning: (message: string) => void;
  private fd: number;
  private fileSize: number;
  private state: 'reading' | 'ready' | 'failed' | 'closed';
  private end = 0;
  private truncatePending = false;
  private lastRecordOffset = -1;
  private nRecords = 0;
  private nSinceOpen = 0;
  private base = 0;
  /** Set while replaceWithAsync runs: no appends or syncs until it settles. */
  private replacing = false;

  private constructor(p: string, fd: number, fileSize: number, io: LogFs, opts: LogOpenOptions, state: 'reading' | 'ready', magic: string) {
    this.path = p;
    this.absPath = path.resolve(p);
    this.fd = fd;
    this.fileSize = fileSize;
    this.io = io;
    this.writable = opts.writable ?? false;
    this.policy = opts.policy ?? 'strict';
    this.parse = opts.parseJson ?? defaultParse;
    this.onRecovery = opts.onRecovery;
    this.onWarning = opts.onWarning ?? (() => {});
    this.state = state;
    this.magic = magic;
  }

  /**
   * Opens an existing standalone log and checks its first header line. Records are then read with
   * records() (or readAll()); appending is allowed once reading has finished.
   */
  static open(p: string, opts: LogOpenOptions = {}): RecordLog {
    const io = makeIo(opts.fs);
    let fd: number;
    try {
      fd = io.openSync(p, opts.writable ? 'r+' : 'r');
    } catch (err) {
      throw ioError(`${p}: open failed`, err);
    }
    try {
      const size = io.fstatSync(fd).size;
      const head = new Reader(io, fd, p).bytes(0, MAX_HEADER_BYTES);
      if (head.length === 0) throw new LogError('ovsdb error', `${p}: cannot identify file type`);
      const nl = head.indexOf(0x0a);
      const hdr = nl < 0 ? null : parseHeaderLine(head.subarray(0, nl));
      if (opts.magic === undefined) {
        if (hdr?.magic === MAGIC_CLUSTERED) {
          throw new LogError('ovsdb error', `${p}: clustered databases are not supported (this is a clustered OVSDB file; convert it with "ovsdb-tool cluster-to-standalone")`);
        }
        if (hdr?.magic !== MAGIC_STANDALONE) throw new LogError('ovsdb error', `${p}: unexpected file format`);
        return new RecordLog(p, fd, size, io, opts, 'reading', MAGIC_STANDALONE);
      }
      if (hdr === null) throw new LogError('ovsdb error', `${p}: unexpected file format`);
      const accepted = typeof opts.magic === 'string' ? [opts.magic] : opts.magic;
      if (!accepted.includes(hdr.magic)) throw new LogError('ovsdb error', `${p}: cannot identify file type`);
      return new RecordLog(p, fd, size, io, opts, 'reading', hdr.magic);
    } catch (err) {
      io.closeSync(fd);
      throw err;
    }
  }

  /**
   * Creates a new log holding only `schemaText` (record 0) and returns it ready for appends.
   * Fails if the file exists. The file is fsynced before returning.
   */
  static create(p: string, schemaText: string, opts: LogCreateOptions = {}): RecordLog {
    const io = makeIo(opts.fs);
    const magic = opts.magic ?? MAGIC_STANDALONE;
    let fd: number;
    try {
      fd = io.openSync(p, 'wx+', NEW_FILE_MODE);
    } catch (err) {
      throw ioError(`${p}: create failed`, err);
    }
    const rec = encodeRecordAs(schemaText, magic);
    try {
      writeFully(io, fd, rec, 0);
      io.fsyncSync(fd);
    } catch (err) {
      // The file is ours (O_EXCL): remove the half-made one so a retry can succeed.
      try { io.closeSync(fd); } catch { /* already failing */ }
      try { io.unlinkSync(p); } catch { /* already failing */ }
      throw ioError(`${p}: write failed`, err);
    }
    fsyncDir(io, p, opts.onWarning);
    const log = new RecordLog(p, fd, rec.length, io, { ...opts, writable: true, magic }, 'ready', magic);
    log.end = rec.length;
    log.base = rec.length;
    log.nRecords = 1;
    log.nSinceOpen = 1;
    return log;
  }

  /**
   * Yields every good record from record 0 on. Stops early on a torn tail (with onRecovery) or,
   * under 'reference', on corruption; under 'strict' corruption throws the reference's error.
   * Errors in record 0 always throw. Breaking out of the loop leaves the log unusable for appends.
   */
  *records(): Generator<LogRecord, void, undefined> {
    if (this.state !== 'reading') throw new Error(`${this.path}: records() may be called once, right after open()`);
    const reader = new Reader(this.io, this.fd, this.path);
    let pos = 0;
    for (;;) {
      const r = this.readAt(reader, pos);
      if (r === null) break;
      if (!r.ok) {
        this.stopOnError(pos, r.error, r.torn);
        return;
      }
      pos += r.record.length;
      this.end = pos;
      this.lastRecordOffset = r.record.offset;
      this.nRecords++;
      this.nSinceOpen++;
      yield r.record;
      if (this.state !== 'reading') return; // unreadLast() was called
    }
    this.finishReading();
  }

  /**
   * records() without blocking the event loop: a large record (a snapshot) is hashed, decoded and parsed
   * over several turns (parseJsonChunked), and the caller's turn may end between records (`slicer`).
   * The same records, recovery and errors as records().
   */
  async *recordsAsync(slicer: Slicer): AsyncGenerator<LogRecord, void, undefined> {
    if (this.state !== 'reading') throw new Error(`${this.path}: records() may be called once, right after open()`);
    const reader = new Reader(this.io, this.fd, this.path);
    let pos = 0;
    for (;;) {
      if (slicer.due()) await slicer.yield();
      const r = await this.readAtAsync(reader, pos, slicer);
      if (r === null) break;
      if (!r.ok) {
        this.stopOnError(pos, r.error, r.torn);
        return;
      }
      pos += r.record.length;
      this.end = pos;
      this.lastRecordOffset = r.record.offset;
      this.nRecords++;
      this.nSinceOpen++;
      yield r.record;
      if (this.state !== 'reading') return;
    }
    this.finishReading();
  }

  /**
   * Ends reading after the records yielded so far (as the reference does when it stops reading a file
   * early): anything after them is cut off before the next append.
   */
  endReading(): void {
    if (this.state !== 'reading') throw new Error(`${this.path}: not reading`);
    this.finishReading();
  }

  /** All records, as records() would yield them. */
  readAll(): LogRecord[] {
    return Array.from(this.records());
  }

  /**
   * Forgets the record records() yielded last and ends reading, as the reference does with a
   * record that fails to apply: the file is cut at that record's offset before the next append.
   */
  unreadLast(): void {
    if (this.state !== 'reading' || this.lastRecordOffset < 0) throw new Error(`${this.path}: no record to unread`);
    if (this.lastRecordOffset === 0) throw new Error(`${this.path}: cannot unread the schema record`);
    this.end = this.lastRecordOffset;
    this.nRecords--;
    this.nSinceOpen--;
    this.finishReading();
  }

  /**
   * Appends one record holding `text` (one line of compact JSON, without the final "\n") with a
   * single write (a huge one, ≥ 4 Mi characters, with one write per MiB). On return the record is in the
   * OS (not necessarily on disk: see sync()).
   * On failure the partial bytes are cut off and a LogError "<file>: write failed" is thrown.
   */
  append(text: string): { offset: number; length: number } {
    this.checkWritable();
    this.truncateIfPending();
    const offset = this.end;
    let length: number;
    try {
      // Big records go through one buffer: the string path copies and encodes a big text several times.
      // Huge ones are encoded a slice at a time, twice (hash, then write): not one more copy of their size.
      length =
        text.length >= SLICED_RECORD_CHARS
          ? writeRecordSliced(this.io, this.fd, text, offset, headerPrefix(this.magic))
          : nativeWrites.has(this.io) && text.length < BIG_RECORD_CHARS
            ? writeRecordString(this.io, this.fd, text, offset, headerPrefix(this.magic))
            : writeRecordBuffer(this.io, this.fd, text, offset, this.magic);
    } catch (err) {
      try {
        this.io.ftruncateSync(this.fd, offset);
      } catch {
        this.truncatePending = true; // retried before the next append
      }
      throw ioError(`${this.path}: write failed`, err);
    }
    this.end = offset + length;
    if (this.end > this.fileSize) this.fileSize = this.end;
    this.nRecords++;
    this.nSinceOpen++;
    return { offset, length };
  }

  /**
   * append() of several records; small ones leave in one write(2) (a follower's entry and commit-index
   * records, or a backlog of entries). Returns where the first starts and how many bytes all take.
   */
  appendMany(texts: readonly string[]): { offset: number; length: number } {
    const offset = this.end;
    let total = 0;
    for (const t of texts) total += t.length;
    if (texts.length === 1 || total >= BIG_RECORD_CHARS || !nativeWrites.has(this.io)) {
      for (const t of texts) this.append(t);
      return { offset, length: this.end - offset };
    }
    this.checkWritable();
    this.truncateIfPending();
    const prefix = headerPrefix(this.magic);
    let rec = '';
    for (const t of texts) {
      const body = t + '\n';
      rec += prefix + Buffer.byteLength(body, 'utf8') + ' ' + sha1Hex(body) + '\n' + body;
    }
    let length: number;
    try {
      length = Buffer.byteLength(rec, 'utf8');
      const n = fs.writeSync(this.fd, rec, offset, 'utf8');
      if (n < length) {
        if (n <= 0) throw Object.assign(new Error('short write'), { code: 'EIO' });
        writeFully(this.io, this.fd, Buffer.from(rec, 'utf8').subarray(n), offset + n);
      }
    } catch (err) {
      try {
        this.io.ftruncateSync(this.fd, offset);
      } catch {
        this.truncatePending = true;
      }
      throw ioError(`${this.path}: write failed`, err);
    }
    this.end = offset + length;
    if (this.end > this.fileSize) this.fileSize = this.end;
    this.nRecords += texts.length;
    this.nSinceOpen += texts.length;
    return { offset, length };
  }

  /** fdatasync: makes every appended record durable. */
  sync(): void {
    this.checkWritable();
    try {
      this.io.fdatasyncSync(this.fd);
    } catch (err) {
      throw ioError(`${this.path}: fdatasync failed`, err);
    }
  }

  /** sync() without blocking the event loop. */
  syncAsync(): Promise<void> {
    this.checkWritable();
    return new Promise((resolve, reject) => {
      this.io.fdatasync(this.fd, (err) => (err ? reject(ioError(`${this.path}: fdatasync failed`, err)) : resolve()));
    });
  }

  /**
   * Compaction: writes `records` (texts, record 0 = schema) to "<real file>.tmp", fdatasyncs it,
   * renames it over the real file (a symlink is followed, not replaced), fsyncs the directory,
   * and continues appending to the new file. A crash leaves the old or the new file, complete.
   * On failure before the rename, the old file stays in use and a LogError is thrown.
   */
  replaceWith(records: readonly string[]): void {
    this.checkWritable();
    if (records.length === 0) throw new Error('replaceWith: the schema record is required');
    const io = this.io;
    let real: string;
    try {
      real = io.realpathSync(this.absPath);
    } catch (err) {
      throw ioError(`${this.path}: realpath failed`, err);
    }
    const tmp = `${real}.tmp`;
    try { io.unlinkSync(tmp); } catch { /* usually absent; a stale one is overwritten below anyway */ }
    let fd: number;
    try {
      fd = io.openSync(tmp, 'wx+', NEW_FILE_MODE);
    } catch (err) {
      throw ioError(`${tmp}: create failed`, err);
    }
    let size = 0;
    const fail = (what: string, err: unknown): LogError => {
      try { io.closeSync(fd); } catch { /* already failing */ }
      try { io.unlinkSync(tmp); } catch { /* already failing */ }
      return ioError(`${tmp}: ${what}`, err);
    };
    try {
      // Batch small records into large writes.
      let batch: Buffer[] = [];
      let batchBytes = 0;
      for (const text of records) {
        const rec = encodeRecordAs(text, this.magic);
        batch.push(rec);
        batchBytes += rec.length;
        if (batchBytes >= READ_CHUNK) {
          writeFully(io, fd, Buffer.concat(batch, batchBytes), size);
          size += batchBytes;
          batch = [];
          batchBytes = 0;
        }
      }
      if (batchBytes > 0) {
        writeFully(io, fd, Buffer.concat(batch, batchBytes), size);
        size += batchBytes;
      }
    } catch (err) {
      throw fail('write failed', err);
    }
    try {
      io.fdatasyncSync(fd);
    } catch (err) {
      throw fail('fdatasync failed', err);
    }
    try {
      io.renameSync(tmp, real);
    } catch (err) {
      throw fail(`rename to ${real} failed`, err);
    }
    // The new file is live from here on.
    try { io.closeSync(this.fd); } catch { /* the old file is gone from the namespace anyway */ }
    this.fd = fd;
    this.end = size;
    this.fileSize = size;
    this.base = size;
    this.truncatePending = false;
    this.nRecords = records.length;
    this.nSinceOpen += records.length;
    fsyncDir(io, real, this.onWarning);
  }

  /**
   * replaceWith without blocking the event loop on the writes and the fdatasync (a snapshot can be large).
   * Until it settles, append() and sync() throw: the caller holds back its records (raft/log.ts queues them).
   * Same guarantees: on failure before the rename the old file stays in use.
   */
  async replaceWithAsync(records: readonly string[]): Promise<void> {
    this.checkWritable();
    if (records.length === 0) throw new Error('replaceWithAsync: the first record is required');
    const io = this.io;
    let real: string;
    try {
      real = io.realpathSync(this.absPath);
    } catch (err) {
      throw ioError(`${this.path}: realpath failed`, err);
    }
    const tmp = `${real}.tmp`;
    try { io.unlinkSync(tmp); } catch { /* usually absent */ }
    let fd: number;
    try {
      fd = io.openSync(tmp, 'wx+', NEW_FILE_MODE);
    } catch (err) {
      throw ioError(`${tmp}: create failed`, err);
    }
    this.replacing = true;
    let size = 0;
    try {
      const fail = (what: string, err: unknown): LogError => {
        try { io.closeSync(fd); } catch { /* already failing */ }
        try { io.unlinkSync(tmp); } catch { /* already failing */ }
        return ioError(`${tmp}: ${what}`, err);
      };
      try {
        let batch: Buffer[] = [];
        let batchBytes = 0;
        const flush = async () => {
          if (batchBytes === 0) return;
          await writeFullyAsync(io, fd, Buffer.concat(batch, batchBytes), size);
          size += batchBytes;
          batch = [];
          batchBytes = 0;
        };
        for (let i = 0; i < records.length; i++) {
          const text = records[i]!;
          if (text.length >= SLICED_RECORD_CHARS) {
            // A snapshot: hashed and written a slice per event-loop turn (one buffer of its size, hashed
            // in one go, would hold the loop for tens of ms per 10 MB).
            await flush();
            size += await writeRecordSlicedAsync(io, fd, text, size, headerPrefix(this.magic));
            continue;
          }
          const rec = encodeRecordAs(text, this.magic);
          batch.push(rec);
          batchBytes += rec.length;
          if (batchBytes >= READ_CHUNK) await flush();
        }
        await flush();
      } catch (err) {
        throw fail('write failed', err);
      }
      try {
        await new Promise<void>((resolve, reject) => io.fdatasync(fd, (err) => (err ? reject(err) : resolve())));
      } catch (err) {
        throw fail('fdatasync failed', err);
      }
      if (this.state === 'closed') throw fail('rename skipped', new Error('log closed'));
      try {
        io.renameSync(tmp, real);
      } catch (err) {
        throw fail(`rename to ${real} failed`, err);
      }
    } finally {
      this.replacing = false;
    }
    try { io.closeSync(this.fd); } catch { /* the old file is gone from the namespace anyway */ }
    this.fd = fd;
    this.end = size;
    this.fileSize = size;
    this.base = size;
    this.truncatePending = false;
    this.nRecords = records.length;
    this.nSinceOpen += records.length;
    fsyncDir(io, real, this.onWarning);
  }

  stats(): LogStats {
    return { records: this.nRecords, recordsSinceOpen: this.nSinceOpen, size: this.end, baseSize: this.base };
  }

  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.io.closeSync(this.fd);
  }

  // ---- internals ----

  private finishReading(): void {
    this.state = 'ready';
    this.base = this.end;
    if (this.fileSize > this.end) this.truncatePending = true;
  }

  private stopOnError(pos: number, error: LogError, torn: boolean): void {
    if (pos === 0) {
      this.state = 'failed';
      throw error; // no schema, no database
    }
    const nextValid = this.findValidRecord(pos + 1);
    const kind = torn && nextValid < 0 ? 'torn-tail' : 'corrupt';
    const recovery: LogRecovery = { kind, error, offset: pos, discardedBytes: this.fileSize - pos };
    if (nextValid >= 0) recovery.nextValidOffset = nextValid;
    this.recovery = recovery;
    if (kind === 'corrupt' && this.policy === 'strict') {
      this.state = 'failed';
      throw error;
    }
    this.end = pos;
    this.finishReading();
    this.onRecovery?.(recovery);
  }

  /**
   * Reads the record at `pos`. `torn` marks errors a cut-short or garbage tail can cause (bad
   * header, EOF, bad hash); a body whose hash matches but is not a JSON object was written so.
   */
  private readAt(reader: Reader, pos: number): ReadResult {
    const head = reader.bytes(pos, MAX_HEADER_BYTES);
    if (head.length === 0) return null;
    const nl = head.indexOf(0x0a);
    const line = nl < 0 ? head : head.subarray(0, nl);
    const hdr: RecordHeader | null = nl < 0 ? null : parseHeaderLine(line);
    if (hdr === null || hdr.magic !== this.magic) {
      const msg = `${this.path}: parse error at offset ${pos} in header line "${displayHeaderLine(line)}"`;
      return { ok: false, error: new LogError('syntax error', msg, { offset: pos }), torn: true };
    }
    const bodyStart = pos + nl + 1;
    const len = hdr.length;
    if (typeof len === 'bigint' || bodyStart + len > this.fileSize) {
      const msg = `${this.path}: error reading ${len} bytes starting at offset ${bodyStart}`;
      return { ok: false, error: new LogError('I/O error', msg, { ioError: 'End of file', offset: pos }), torn: true };
    }
    const body = reader.bytes(bodyStart, len);
    if (body.length < len) {
      const msg = `${this.path}: error reading ${len} bytes starting at offset ${bodyStart}`;
      return { ok: false, error: new LogError('I/O error', msg, { ioError: 'End of file', offset: pos }), torn: true };
    }
    const actual = sha1Hex(body);
    if (actual !== hdr.sha1) {
      const msg = `${this.path}: ${len} bytes starting at offset ${bodyStart} have SHA-1 hash ${actual} but should have hash ${hdr.sha1}`;
      return { ok: false, error: new LogError('syntax error', msg, { offset: pos }), torn: true };
    }
    let json: JsonValue;
    try {
      let text: string;
      try {
        text = utf8.decode(body);
      } catch {
        throw new Error('invalid UTF-8 sequence');
      }
      json = this.parse(text);
    } catch (err) {
      const why = errorText(err);
      const msg = `${this.path}: ${len} bytes starting at offset ${bodyStart} are not valid JSON (${why})`;
      return { ok: false, error: new LogError('syntax error', msg, { offset: pos }), torn: false };
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json) || typeof json === 'bigint') {
      const msg = `${this.path}: ${len} bytes starting at offset ${bodyStart} are not a JSON object`;
      return { ok: false, error: new LogError('syntax error', msg, { offset: pos }), torn: false };
    }
    return { ok: true, record: { offset: pos, length: nl + 1 + len, json } };
  }

  /** readAt, with a large body hashed, decoded and parsed in slices. */
  private async readAtAsync(reader: Reader, pos: number, slicer: Slicer): Promise<ReadResult> {
    const head = reader.bytes(pos, MAX_HEADER_BYTES);
    if (head.length === 0) return null;
    const nl = head.indexOf(0x0a);
    const line = nl < 0 ? head : head.subarray(0, nl);
    const hdr: RecordHeader | null = nl < 0 ? null : parseHeaderLine(line);
    if (hdr === null || typeof hdr.length === 'bigint' || hdr.length < ASYNC_RECORD_BYTES || this.parse !== defaultParse) {
      return this.readAt(reader, pos);
    }
    const bodyStart = pos + nl + 1;
    const len = hdr.length;
    if (hdr.magic !== this.magic || bodyStart + len > this.fileSize) return this.readAt(reader, pos);
    // A reader of its own: the body must stay valid across the turns below.
    const body = new Reader(this.io, this.fd, this.path).bytes(bodyStart, len);
    if (body.length < len) return this.readAt(reader, pos);
    const sha1 = createHash('sha1');
    for (let at = 0; at < len; at += READ_CHUNK) {
      sha1.update(body.subarray(at, Math.min(len, at + READ_CHUNK)));
      if (slicer.due()) await slicer.yield();
    }
    const actual = sha1.digest('hex');
    if (actual !== hdr.sha1) {
      const msg = `${this.path}: ${len} bytes starting at offset ${bodyStart} have SHA-1 hash ${actual} but should have hash ${hdr.sha1}`;
      return { ok: false, error: new LogError('syntax error', msg, { offset: pos }), torn: true };
    }
    let json: JsonValue;
    try {
      let text: string;
      try {
        const decoder = new TextDecoder('utf-8', { fatal: true });
        const parts: string[] = [];
        for (let at = 0; at < len; at += READ_CHUNK) {
          const end = Math.min(len, at + READ_CHUNK);
          parts.push(decoder.decode(body.subarray(at, end), { stream: end < len }));
          if (slicer.due()) await slicer.yield();
        }
        text = parts.join('');
      } catch {
        throw new Error('invalid UTF-8 sequence');
      }
      json = await parseJsonChunked(text, true, slicer);
    } catch (err) {
      const why = errorText(err);
      const msg = `${this.path}: ${len} bytes starting at offset ${bodyStart} are not valid JSON (${why})`;
      return { ok: false, error: new LogError('syntax error', msg, { offset: pos }), torn: false };
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json) || typeof json === 'bigint') {
      const msg = `${this.path}: ${len} bytes starting at offset ${bodyStart} are not a JSON object`;
      return { ok: false, error: new LogError('syntax error', msg, { offset: pos }), torn: false };
    }
    return { ok: true, record: { offset: pos, length: nl + 1 + len, json } };
  }

  /** Offset of the first record at or after `from` whose header parses and whose hash matches, or -1. */
  private findValidRecord(from: number): number {
    const needle = Buffer.from(headerPrefix(this.magic), 'latin1');
    const scan = new Reader(this.io, this.fd, this.path);
    const probe = new Reader(this.io, this.fd, this.path);
    let pos = from;
    while (pos < this.fileSize) {
      const chunk = scan.bytes(pos, READ_CHUNK);
      if (chunk.length === 0) break;
      let i = chunk.indexOf(needle);
      while (i >= 0) {
        if (this.hashMatchesAt(probe, pos + i)) return pos + i;
        i = chunk.indexOf(needle, i + 1);
      }
      if (chunk.length < needle.length) break;
      pos += chunk.length - needle.length + 1; // overlap so a split needle is seen
    }
    return -1;
  }

  private hashMatchesAt(reader: Reader, pos: number): boolean {
    const head = reader.bytes(pos, MAX_HEADER_BYTES);
    const nl = head.indexOf(0x0a);
    if (nl < 0) return false;
    const hdr = parseHeaderLine(head.subarray(0, nl));
    if (hdr === null || hdr.magic !== this.magic || typeof hdr.length === 'bigint' || pos + nl + 1 + hdr.length > this.fileSize) return false;
    const body = reader.bytes(pos + nl + 1, hdr.length);
    return body.length === hdr.length && sha1Hex(body) === hdr.sha1;
  }

  private checkWritable(): void {
    if (this.state === 'closed') throw new Error(`${this.path}: log is closed`);
    if (!this.writable) throw new Error(`${this.path}: log was opened read-only`);
    if (this.state === 'reading') throw new Error(`${this.path}: read the log to the end before writing`);
    if (this.state === 'failed') throw new Error(`${this.path}: log failed to load`);
    if (this.replacing) throw new Error(`${this.path}: the file is being replaced`);
  }

  private truncateIfPending(): void {
    if (!this.truncatePending) return;
    try {
      this.io.ftruncateSync(this.fd, this.end);
    } catch (err) {
      throw ioError(`${this.path}: cannot truncate to length ${this.end}`, err);
    }
    this.truncatePending = false;
    this.fileSize = this.end;
  }
}

/** Records at least this long (in UTF-16 units) are encoded into a buffer before hashing and writing. */
const BIG_RECORD_CHARS = 64 * 1024;

/** Records at least this long are hashed and written a slice at a time (see writeRecordSliced). */
const SLICED_RECORD_CHARS = 4 * 1024 * 1024;
const RECORD_SLICE_CHARS = 1024 * 1024;

/** Calls `each` with the UTF-8 bytes of `text` a slice at a time (the buffer is reused between calls). */
function encodeSlices(text: string, each: (bytes: Buffer) => void): void {
  const buf = Buffer.allocUnsafe(RECORD_SLICE_CHARS * 3);
  for (let at = 0; at < text.length; ) {
    let end = Math.min(at + RECORD_SLICE_CHARS, text.length);
    const c = text.charCodeAt(end - 1);
    if (end < text.length && c >= 0xd800 && c <= 0xdbff) end--; // a surrogate pair stays in one slice
    each(buf.subarray(0, buf.write(text.slice(at, end), 0, 'utf8')));
    at = end;
  }
}

/** The same record as encodeRecord writes, without a buffer the size of the record. */
function writeRecordSliced(io: LogFs, fd: number, text: string, position: number, prefix: string): number {
  const sha1 = createHash('sha1');
  let bodyLen = 1; // the final "\n"
  encodeSlices(text, (bytes) => {
    sha1.update(bytes);
    bodyLen += bytes.length;
  });
  sha1.update('\n');
  const header = Buffer.from(`${prefix}${bodyLen} ${sha1.digest('hex')}\n`, 'latin1');
  let at = position;
  writeFully(io, fd, header, at);
  at += header.length;
  encodeSlices(text, (bytes) => {
    writeFully(io, fd, bytes, at);
    at += bytes.length;
  });
  writeFully(io, fd, Buffer.from('\n'), at);
  return header.length + bodyLen;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** writeRecordSliced without blocking: one slice per event-loop turn, hashed, then written asynchronously. */
async function writeRecordSlicedAsync(io: LogFs, fd: number, text: string, position: number, prefix: string): Promise<number> {
  const sha1 = createHash('sha1');
  let bodyLen = 1;
  for (let at = 0; at < text.length; ) {
    const end = sliceEnd(text, at);
    const bytes = Buffer.from(text.slice(at, end), 'utf8');
    sha1.update(bytes);
    bodyLen += bytes.length;
    at = end;
    await nextTurn();
  }
  sha1.update('\n');
  const header = Buffer.from(`${prefix}${bodyLen} ${sha1.digest('hex')}\n`, 'latin1');
  let pos = position;
  await writeFullyAsync(io, fd, header, pos);
  pos += header.length;
  for (let at = 0; at < text.length; ) {
    const end = sliceEnd(text, at);
    const bytes = Buffer.from(text.slice(at, end), 'utf8');
    await writeFullyAsync(io, fd, bytes, pos);
    pos += bytes.length;
    at = end;
  }
  await writeFullyAsync(io, fd, Buffer.from('\n'), pos);
  return header.length + bodyLen;
}

/** The end of the slice of `text` that starts at `at` (never between the halves of a surrogate pair). */
function sliceEnd(text: string, at: number): number {
  let end = Math.min(at + RECORD_SLICE_CHARS, text.length);
  const c = text.charCodeAt(end - 1);
  if (end < text.length && c >= 0xd800 && c <= 0xdbff) end--;
  return end;
}

function writeRecordBuffer(io: LogFs, fd: number, text: string, position: number, magic: string): number {
  const rec = encodeRecordAs(text, magic);
  writeFully(io, fd, rec, position);
  return rec.length;
}

/**
 * encodeRecord + writeFully without building buffers: the sha1 is taken over the string and the record is
 * written as one string (a small commit's buffer work cost more than the write itself). A short write
 * finishes from a buffer.
 */
function writeRecordString(io: LogFs, fd: number, text: string, position: number, prefix: string): number {
  const body = text + '\n';
  const header = prefix + Buffer.byteLength(body, 'utf8') + ' ' + sha1Hex(body) + '\n';
  const rec = header + body;
  const total = Buffer.byteLength(rec, 'utf8');
  const n = fs.writeSync(fd, rec, position, 'utf8');
  if (n < total) {
    if (n <= 0) throw Object.assign(new Error('short write'), { code: 'EIO' });
    const buf = Buffer.from(rec, 'utf8');
    writeFully(io, fd, buf.subarray(n), position + n);
  }
  return total;
}

function writeFully(io: LogFs, fd: number, buf: Uint8Array, position: number): void {
  let done = 0;
  while (done < buf.length) {
    const n = io.writeSync(fd, buf, done, buf.length - done, position + done);
    if (n <= 0) throw Object.assign(new Error('short write'), { code: 'EIO' });
    done += n;
  }
}

async function writeFullyAsync(io: LogFs, fd: number, buf: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const n = await new Promise<number>((resolve, reject) =>
      io.write(fd, buf, done, buf.length - done, position + done, (err, written) => (err ? reject(err) : resolve(written))),
    );
    if (n <= 0) throw Object.assign(new Error('short write'), { code: 'EIO' });
    done += n;
  }
}

/** fsync the directory holding `file`, so a create or rename survives a crash. */
function fsyncDir(io: LogFs, file: string, warn: ((m: string) => void) | undefined): void {
  const dir = path.dirname(file);
  let fd: number | undefined;
  try {
    fd = io.openSync(dir, 'r');
    io.fsyncSync(fd);
  } catch (err) {
    warn?.(`${dir}: fsync failed (${errorText(err)})`);
  } finally {
    if (fd !== undefined) {
      try { io.closeSync(fd); } catch { /* nothing to do */ }
    }
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
