/**
 * Decoder for the Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`) that
 * kubectl's `create` generators send: Namespace, ConfigMap, Secret and ServiceAccount (core/v1).
 *
 * Wire format: the 4-byte magic `k8s\0`, then a `runtime.Unknown` message
 * { typeMeta(1): { apiVersion(1), kind(2) }, raw(2): bytes, contentEncoding(3), contentType(4) },
 * where `raw` is the object in the proto2 encoding of k8s.io/api (field numbers from its
 * generated.proto files). The decoder is driven by small per-kind field tables; a field it does not
 * know is refused (400), never silently dropped, and any other kind answers 415 so the client can
 * fall back to JSON.
 */
import { badRequest, unsupportedMediaType } from './errors.js';

/** The protobuf media type of the Kubernetes API. */
export const PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

type Scalar = 'string' | 'bytes' | 'int64' | 'int32' | 'bool';
type FieldType = Scalar | 'time' | 'stringMap' | 'bytesMap' | { message: MessageSpec };
interface FieldSpec {
  name: string;
  type: FieldType;
  repeated?: boolean;
  /** A pointer field in Go: present means set, even when zero (otherwise "" and 0 are omitted, as Go's JSON `omitempty` does). */
  optional?: boolean;
}
/** Field number → field. */
type MessageSpec = Record<number, FieldSpec>;

const OWNER_REFERENCE: MessageSpec = {
  1: { name: 'kind', type: 'string' },
  3: { name: 'name', type: 'string' },
  4: { name: 'uid', type: 'string' },
  5: { name: 'apiVersion', type: 'string' },
  6: { name: 'controller', type: 'bool', optional: true },
  7: { name: 'blockOwnerDeletion', type: 'bool', optional: true },
};

const OBJECT_META: MessageSpec = {
  1: { name: 'name', type: 'string' },
  2: { name: 'generateName', type: 'string' },
  3: { name: 'namespace', type: 'string' },
  4: { name: 'selfLink', type: 'string' },
  5: { name: 'uid', type: 'string' },
  6: { name: 'resourceVersion', type: 'string' },
  7: { name: 'generation', type: 'int64' },
  8: { name: 'creationTimestamp', type: 'time' },
  9: { name: 'deletionTimestamp', type: 'time' },
  10: { name: 'deletionGracePeriodSeconds', type: 'int64', optional: true },
  11: { name: 'labels', type: 'stringMap' },
  12: { name: 'annotations', type: 'stringMap' },
  13: { name: 'ownerReferences', type: { message: OWNER_REFERENCE }, repeated: true },
  14: { name: 'finalizers', type: 'string', repeated: true },
};

const OBJECT_REFERENCE: MessageSpec = {
  1: { name: 'kind', type: 'string' },
  2: { name: 'namespace', type: 'string' },
  3: { name: 'name', type: 'string' },
  4: { name: 'uid', type: 'string' },
  5: { name: 'apiVersion', type: 'string' },
  6: { name: 'resourceVersion', type: 'string' },
  7: { name: 'fieldPath', type: 'string' },
};

const KINDS: Record<string, MessageSpec> = {
  Namespace: {
    1: { name: 'metadata', type: { message: OBJECT_META } },
    2: { name: 'spec', type: { message: { 1: { name: 'finalizers', type: 'string', repeated: true } } } },
    3: { name: 'status', type: { message: { 1: { name: 'phase', type: 'string' } } } },
  },
  ConfigMap: {
    1: { name: 'metadata', type: { message: OBJECT_META } },
    2: { name: 'data', type: 'stringMap' },
    3: { name: 'binaryData', type: 'bytesMap' },
    4: { name: 'immutable', type: 'bool', optional: true },
  },
  Secret: {
    1: { name: 'metadata', type: { message: OBJECT_META } },
    2: { name: 'data', type: 'bytesMap' },
    3: { name: 'type', type: 'string' },
    4: { name: 'stringData', type: 'stringMap' },
    5: { name: 'immutable', type: 'bool', optional: true },
  },
  ServiceAccount: {
    1: { name: 'metadata', type: { message: OBJECT_META } },
    2: { name: 'secrets', type: { message: OBJECT_REFERENCE }, repeated: true },
    3: { name: 'imagePullSecrets', type: { message: { 1: { name: 'name', type: 'string' } } }, repeated: true },
    4: { name: 'automountServiceAccountToken', type: 'bool', optional: true },
  },
};

/** The kinds {@link decodeKubeProtobuf} understands (all core/v1). */
export const PROTOBUF_KINDS: readonly string[] = Object.keys(KINDS);

/** One raw field: number, wire type and value (a bigint varint/fixed, or the bytes of a length-delimited field). */
interface RawField {
  no: number;
  wire: number;
  varint?: bigint;
  bytes?: Buffer;
}

function readVarint(buf: Buffer, pos: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    if (pos >= buf.length) throw badRequest('protobuf: truncated varint');
    const b = buf[pos++] as number;
    result |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [result, pos];
    shift += 7n;
    if (shift > 63n) throw badRequest('protobuf: varint too long');
  }
}

function readFields(buf: Buffer): RawField[] {
  const out: RawField[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const [key, afterKey] = readVarint(buf, pos);
    pos = afterKey;
    const no = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (wire === 0) {
      const [v, next] = readVarint(buf, pos);
      out.push({ no, wire, varint: v });
      pos = next;
    } else if (wire === 2) {
      const [len, next] = readVarint(buf, pos);
      const end = next + Number(len);
      if (end > buf.length) throw badRequest('protobuf: truncated length-delimited field');
      out.push({ no, wire, bytes: buf.subarray(next, end) });
      pos = end;
    } else if (wire === 1 || wire === 5) {
      const size = wire === 1 ? 8 : 4;
      if (pos + size > buf.length) throw badRequest('protobuf: truncated fixed field');
      out.push({ no, wire, varint: wire === 1 ? buf.readBigUInt64LE(pos) : BigInt(buf.readUInt32LE(pos)) });
      pos += size;
    } else {
      throw badRequest(`protobuf: unsupported wire type ${wire}`);
    }
  }
  return out;
}

const signed64 = (v: bigint): bigint => BigInt.asIntN(64, v);

function decodeTime(buf: Buffer): string | null {
  let seconds = 0n;
  for (const f of readFields(buf)) if (f.no === 1 && f.varint !== undefined) seconds = signed64(f.varint);
  if (buf.length === 0) return null;
  return new Date(Number(seconds) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function decodeMapEntry(buf: Buffer, valueAsBytes: boolean): [string, string] {
  let key = '';
  let value = '';
  for (const f of readFields(buf)) {
    if (f.no === 1 && f.bytes) key = f.bytes.toString('utf8');
    else if (f.no === 2 && f.bytes) value = valueAsBytes ? f.bytes.toString('base64') : f.bytes.toString('utf8');
  }
  return [key, value];
}

function decodeMessage(buf: Buffer, spec: MessageSpec, path: string): Record<string, unknown> {
  const obj: Record<string, unknown> = {};
  for (const f of readFields(buf)) {
    const field = spec[f.no];
    if (!field) throw badRequest(`protobuf: field ${f.no} of ${path || 'the object'} is not supported by the emulator; send JSON instead`);
    const where = path ? `${path}.${field.name}` : field.name;
    const wantBytes = typeof field.type === 'object' || ['string', 'bytes', 'time', 'stringMap', 'bytesMap'].includes(field.type);
    if (wantBytes !== (f.wire === 2)) throw badRequest(`protobuf: wrong wire type ${f.wire} for ${where}`);
    let value: unknown;
    switch (field.type) {
      case 'string':
        value = (f.bytes as Buffer).toString('utf8');
        break;
      case 'bytes':
        value = (f.bytes as Buffer).toString('base64');
        break;
      case 'int64':
        value = Number(signed64(f.varint as bigint));
        break;
      case 'int32':
        value = Number(BigInt.asIntN(32, f.varint as bigint));
        break;
      case 'bool':
        value = f.varint !== 0n;
        break;
      case 'time':
        value = decodeTime(f.bytes as Buffer);
        break;
      case 'stringMap':
      case 'bytesMap': {
        const [k, v] = decodeMapEntry(f.bytes as Buffer, field.type === 'bytesMap');
        const map = (obj[field.name] ?? {}) as Record<string, string>;
        map[k] = v;
        obj[field.name] = map;
        continue;
      }
      default:
        value = decodeMessage(f.bytes as Buffer, field.type.message, where);
    }
    if (value === null) continue;
    if (!field.optional && !field.repeated && (value === '' || value === 0 || value === false)) continue;
    if (field.repeated) ((obj[field.name] ??= []) as unknown[]).push(value);
    else obj[field.name] = value;
  }
  return obj;
}

/**
 * Decodes a protobuf request body into the JSON form of the object (with `apiVersion`/`kind`).
 * Throws a 415 Status for kinds other than {@link PROTOBUF_KINDS}, 400 for malformed bodies.
 */
export function decodeKubeProtobuf(body: Buffer, contentType: string): Record<string, unknown> {
  if (body.length < MAGIC.length || !body.subarray(0, MAGIC.length).equals(MAGIC)) throw badRequest('protobuf: missing the k8s\\0 prefix');
  let apiVersion = '';
  let kind = '';
  let raw: Buffer | undefined;
  for (const f of readFields(body.subarray(MAGIC.length))) {
    if (f.no === 1 && f.bytes) {
      for (const t of readFields(f.bytes)) {
        if (t.no === 1 && t.bytes) apiVersion = t.bytes.toString('utf8');
        if (t.no === 2 && t.bytes) kind = t.bytes.toString('utf8');
      }
    } else if (f.no === 2 && f.bytes) raw = f.bytes;
    else if (f.no === 3 && f.bytes && f.bytes.length > 0) throw badRequest('protobuf: contentEncoding is not supported');
  }
  const spec = KINDS[kind];
  if (apiVersion !== 'v1' || !spec) throw unsupportedMediaType(contentType, ['application/json', 'application/yaml', `${PROTOBUF_MEDIA_TYPE} (v1 ${PROTOBUF_KINDS.join(', ')})`]);
  return { apiVersion, kind, ...decodeMessage(raw ?? Buffer.alloc(0), spec, '') };
}
