/**
 * JSON text for fuzz payloads, written without recursion: the payloads nest up
 * to 10,000 deep, past what `JSON.stringify` (and so socket.io-client) can
 * encode on a default stack. Binary values become Socket.IO attachment
 * placeholders, as socket.io-parser's `deconstructPacket` does.
 */
export interface WireJson {
  text: string;
  /** The binary attachments, in placeholder order. */
  attachments: Buffer[];
}

function binaryOf(value: unknown): Buffer | undefined {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof ArrayBuffer) return Buffer.from(value);
  if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  return undefined;
}

/** What `JSON.stringify` makes of a scalar; undefined for what it leaves out. */
function scalarText(value: unknown): string | undefined {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : 'null';
    case 'bigint':
      return JSON.stringify(value.toString());
    default:
      return undefined;
  }
}

const isOmitted = (value: unknown) => value === undefined || typeof value === 'function' || typeof value === 'symbol';

/** Serialises `value` as socket.io-client would send it (placeholders for binary data). */
export function toWireJson(value: unknown): WireJson {
  const attachments: Buffer[] = [];
  const out: string[] = [];
  // A stack of things still to write: a value, or literal text.
  const stack: Array<{ value: unknown } | { text: string }> = [{ value }];
  while (stack.length > 0) {
    const task = stack.pop()!;
    if ('text' in task) {
      out.push(task.text);
      continue;
    }
    const current = task.value;
    const binary = binaryOf(current);
    if (binary) {
      out.push(`{"_placeholder":true,"num":${attachments.length}}`);
      attachments.push(binary);
      continue;
    }
    if (current instanceof Date) {
      out.push(JSON.stringify(current));
      continue;
    }
    const scalar = scalarText(current);
    if (scalar !== undefined) {
      out.push(scalar);
      continue;
    }
    if (isOmitted(current)) {
      out.push('null');
      continue;
    }
    const tasks: Array<{ value: unknown } | { text: string }> = [];
    if (Array.isArray(current)) {
      tasks.push({ text: '[' });
      current.forEach((item, index) => {
        if (index > 0) tasks.push({ text: ',' });
        tasks.push({ value: isOmitted(item) ? null : item });
      });
      tasks.push({ text: ']' });
    } else {
      tasks.push({ text: '{' });
      let first = true;
      for (const key of Object.keys(current as object)) {
        const item = (current as Record<string, unknown>)[key];
        if (isOmitted(item)) continue;
        tasks.push({ text: `${first ? '' : ','}${JSON.stringify(key)}:` }, { value: item });
        first = false;
      }
      tasks.push({ text: '}' });
    }
    for (let index = tasks.length - 1; index >= 0; index--) stack.push(tasks[index]!);
  }
  return { text: out.join(''), attachments };
}

/** UTF-8 bytes of the JSON text, the measure of the 64 KiB caps. */
export function wireBytes(value: unknown): number {
  return Buffer.byteLength(toWireJson(value).text);
}

/** The value as the server decodes it (binary placeholders back to Buffers); throws when JSON.parse cannot (nesting past its stack). */
export function fromWireJson({ text, attachments }: WireJson): unknown {
  return JSON.parse(text, (_key, value: unknown) => {
    const placeholder = value as { _placeholder?: unknown; num?: unknown } | null;
    if (placeholder && placeholder._placeholder === true && typeof placeholder.num === 'number' && placeholder.num < attachments.length) {
      return attachments[placeholder.num];
    }
    return value;
  });
}
