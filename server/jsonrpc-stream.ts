// Splits a byte stream of concatenated JSON texts (JSON-RPC 1.0 over a socket has no length prefix and no
// delimiter) into one string per message. Only structure is tracked here (nesting depth, in-string, escape);
// full syntax is checked by parseJson afterwards. Cost is linear: a message that spans chunks is decoded
// piece by piece as its chunks arrive (so the chunks are garbage at once, and no joined copy of the bytes
// is made) and its pieces joined once; string contents are skipped with memchr (Buffer.indexOf).

import { isAscii, isUtf8 } from 'node:buffer';
import { JSON_MAX_DEPTH } from '../schema/json.ts';

/**
 * Default cap on one message: 256 MiB. OVS has no limit, but a V8 string cannot exceed ~512 M characters,
 * and an initial monitor reply of a large OVN southbound database can reach hundreds of MB.
 */
export const DEFAULT_MAX_MESSAGE_SIZE = 256 * 1024 * 1024;

/** A framing error; `message` is the text OVS logs after "error parsing stream: ". */
export class JsonFramingError extends Error {
  override name = 'JsonFramingError';
}

/**
 * Receives one complete message. `careful` is true when the text holds a run of 16+ digits or an exponent
 * outside strings, i.e. when parseJson must not take its JSON.parse-only path.
 */
export type MessageSink = (text: string, careful: boolean) => void;

// The top level must be an object or array. Like OVS, report where the first token ends: a string at its
// closing quote, a number or word at the delimiter after it (approximated within this chunk).
function badStart(chunk: Buffer, at: number): string {
  let end = at;
  const first = chunk[at]!;
  if (first === 0x22) {
    end++;
    while (end < chunk.length && chunk[end] !== 0x22) end += chunk[end] === 0x5c ? 2 : 1;
  } else {
    while (end < chunk.length && /[A-Za-z0-9_.+-]/.test(String.fromCharCode(chunk[end]!))) end++;
  }
  end = Math.min(end, chunk.length);
  const word = chunk.toString('latin1', at, end);
  const what =
    /^[A-Za-z_]/.test(word) && word !== 'true' && word !== 'false' && word !== 'null'
      ? `invalid keyword '${word}'`
      : 'syntax error at beginning of input';
  return `line 0, column ${end}, byte ${end}: ${what}`;
}

// Byte classes outside strings.
const OTHER = 0;
const DIGIT = 1;
const QUOTE = 2;
const OPEN = 3;
const CLOSE = 4;
const EXP = 5;
const CLASS = new Uint8Array(256);
for (let c = 0x30; c <= 0x39; c++) CLASS[c] = DIGIT;
CLASS[0x22] = QUOTE;
CLASS[0x7b] = OPEN;
CLASS[0x5b] = OPEN;
CLASS[0x7d] = CLOSE;
CLASS[0x5d] = CLOSE;
CLASS[0x65] = EXP;
CLASS[0x45] = EXP;

/** The length of the UTF-8 sequence a lead byte starts (1 for anything else: isUtf8 judges it). */
function utf8Length(lead: number): number {
  return lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
}

/** How many trailing bytes form an incomplete UTF-8 character (0 to 3). */
function partialTail(b: Buffer): number {
  const n = b.length;
  for (let k = 1; k <= 3 && k <= n; k++) {
    const c = b[n - k]!;
    if ((c & 0xc0) === 0x80) continue; // continuation byte: look further back for its lead
    return c >= 0xc0 && utf8Length(c) > k ? k : 0;
  }
  return 0;
}

export class JsonStreamSplitter {
  private depth = 0;
  private inString = false;
  private escape = false;
  private digitRun = 0;
  private careful = false;
  /** The decoded pieces of the message in progress, and its size so far in bytes. */
  private parts: string[] = [];
  private partsSize = 0;
  /** The last piece's trailing bytes that do not yet form a whole UTF-8 character (at most 3). */
  private carry: Buffer | null = null;
  private stopped = false;
  // Per-push scratch: [start, end, careful] triples of messages completed in the current chunk.
  private marks: number[] = [];

  constructor(readonly maxMessageSize: number = DEFAULT_MAX_MESSAGE_SIZE) {}

  /** Bytes of an incomplete message held back. */
  get buffered(): number {
    return this.partsSize;
  }

  /** Deliver nothing more (e.g. the connection was closed from inside the sink). */
  stop(): void {
    this.stopped = true;
    this.parts = [];
    this.partsSize = 0;
    this.carry = null;
  }

  /**
   * Feed one chunk; every message it completes goes to `sink`, in order. Throws JsonFramingError for a bad
   * stream; messages before the bad spot have been delivered by then.
   */
  push(chunk: Buffer, sink: MessageSink): void {
    if (this.stopped) return;
    const marks = this.marks;
    marks.length = 0;
    let error: string | null = null;
    const n = chunk.length;
    let depth = this.depth;
    let inString = this.inString;
    let escape = this.escape;
    let digitRun = this.digitRun;
    let careful = this.careful;
    let start = 0;
    let i = 0;
    scan: while (i < n) {
      if (inString) {
        if (escape) {
          escape = false;
          i++;
          continue;
        }
        const q = chunk.indexOf(0x22, i);
        if (q < 0) {
          // String continues in the next chunk; is its last byte an unfinished escape?
          let b = n;
          while (b > i && chunk[b - 1] === 0x5c) b--;
          escape = (n - b) % 2 === 1;
          i = n;
          break;
        }
        let b = q;
        while (b > i && chunk[b - 1] === 0x5c) b--;
        i = q + 1;
        if ((q - b) % 2 === 0) inString = false; // else the quote is escaped
        continue;
      }
      const c = chunk[i++]!;
      if (depth === 0) {
        if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue;
        if (c !== 0x7b && c !== 0x5b) {
          error = badStart(chunk, i - 1);
          break;
        }
        depth = 1;
        start = i - 1;
        careful = false;
        digitRun = 0;
        continue;
      }
      switch (CLASS[c]) {
        case DIGIT:
          if (++digitRun >= 16) careful = true;
          continue;
        case EXP:
          if (digitRun > 0) careful = true;
          break;
        case QUOTE:
          inString = true;
          break;
        case OPEN:
          if (++depth > JSON_MAX_DEPTH) {
            error = `line 0, column ${i}, byte ${i}: input exceeds maximum nesting depth ${JSON_MAX_DEPTH}`;
            break scan;
          }
          break;
        case CLOSE:
          if (--depth === 0) {
            if (this.partsSize + (i - start) > this.maxMessageSize) {
              error = this.sizeError();
              break scan;
            }
            marks.push(start, i, careful ? 1 : 0);
          }
          break;
        default:
          break;
      }
      digitRun = 0;
    }
    this.depth = depth;
    this.inString = inString;
    this.escape = escape;
    this.digitRun = digitRun;
    this.careful = careful;

    if (marks.length > 0) this.deliver(chunk, marks, sink);
    if (this.stopped) return;
    if (error === null && depth > 0) {
      const rest = marks.length > 0 || start > 0 ? chunk.subarray(start) : chunk;
      this.partsSize += rest.length;
      if (this.partsSize > this.maxMessageSize) error = this.sizeError();
      else {
        const piece = this.decodePiece(rest);
        if (piece === null) error = 'invalid UTF-8 sequence';
        else if (piece !== '') this.parts.push(piece);
      }
    }
    if (error !== null) {
      this.stop();
      throw new JsonFramingError(error);
    }
  }

  private sizeError(): string {
    return `message exceeds maximum size of ${this.maxMessageSize} bytes`;
  }

  private deliver(chunk: Buffer, marks: number[], sink: MessageSink): void {
    let k = 0;
    if (this.partsSize > 0) {
      // The first message began in earlier chunks: its last piece, then the pieces joined once.
      const last = this.decodePiece(chunk.subarray(0, marks[1]!));
      const parts = this.parts;
      this.parts = [];
      this.partsSize = 0;
      if (last === null || this.carry !== null) {
        this.stop();
        throw new JsonFramingError('invalid UTF-8 sequence');
      }
      parts.push(last);
      sink(parts.length === 1 ? parts[0]! : parts.join(''), marks[2] === 1);
      if (this.stopped) return;
      k = 3;
    }
    if (k >= marks.length) return;
    // Several messages in one chunk: if the span is ASCII (the usual case), decode it once and cut substrings.
    const first = marks[k]!;
    const last = marks[marks.length - 2]!;
    if (marks.length - k > 3) {
      const span = chunk.subarray(first, last);
      if (isAscii(span)) {
        const text = span.toString('latin1');
        for (; k < marks.length; k += 3) {
          sink(text.slice(marks[k]! - first, marks[k + 1]! - first), marks[k + 2] === 1);
          if (this.stopped) return;
        }
        return;
      }
    }
    for (; k < marks.length; k += 3) {
      if (!this.deliverOne(chunk.subarray(marks[k]!, marks[k + 1]!), marks[k + 2] === 1, sink)) return;
    }
  }

  /**
   * Decodes the bytes of a message in progress, after the carried partial character; keeps a partial
   * character at the end for the next piece. null if the bytes are not UTF-8.
   */
  private decodePiece(bytes: Buffer): string | null {
    let head = '';
    let b = bytes;
    const carry = this.carry;
    if (carry !== null) {
      const need = utf8Length(carry[0]!) - carry.length;
      if (b.length < need) {
        this.carry = Buffer.concat([carry, b]);
        return '';
      }
      const whole = Buffer.concat([carry, b.subarray(0, need)]);
      if (!isUtf8(whole)) return null;
      head = whole.toString('utf8');
      b = b.subarray(need);
      this.carry = null;
    }
    const tail = partialTail(b);
    const body = tail === 0 ? b : b.subarray(0, b.length - tail);
    if (tail > 0) this.carry = Buffer.from(b.subarray(b.length - tail)); // a copy: the chunk may go
    if (isAscii(body)) return head + body.toString('latin1');
    if (!isUtf8(body)) return null;
    return head + body.toString('utf8');
  }

  private deliverOne(buf: Buffer, careful: boolean, sink: MessageSink): boolean {
    if (!isUtf8(buf)) {
      this.stop();
      throw new JsonFramingError('invalid UTF-8 sequence');
    }
    sink(buf.toString('utf8'), careful);
    return !this.stopped;
  }
}
