import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * Signature Version 4 checks for the test S3 server. s3rver 3.7 accepts any
 * well-formed V4 signature without computing it, and serves anonymous
 * requests, so a tampered presigned URL would pass; real S3 refuses both.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-authenticating-requests.html
 */

export interface S3Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface SignedRequest {
  readonly method: string;
  /** The request target as received: path and query, still percent-encoded. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
}

/** Why a request is refused, in S3's terms. */
export interface SignatureRefusal {
  readonly status: number;
  readonly code: string;
  readonly message: string;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
const MAX_EXPIRES_SECONDS = 604_800;

const refuse = (code: string, message: string, status = 403): SignatureRefusal => ({ status, code, message });

/** Undefined when `request` is signed with `credentials` (and not expired); else why not. */
export function checkSignature(request: SignedRequest, credentials: S3Credentials, now = new Date()): SignatureRefusal | undefined {
  const [path = '/', rawQuery = ''] = splitTarget(request.url);
  const query = parseQuery(rawQuery);
  if (!query) return refuse('InvalidArgument', 'The query string is not well formed', 400);
  const authorization = header(request.headers, 'authorization');
  const presigned = query.some(([name]) => name === 'X-Amz-Signature');

  let fields: SignatureFields | SignatureRefusal;
  if (authorization !== undefined && presigned) return refuse('InvalidArgument', 'Only one auth mechanism allowed', 400);
  else if (authorization !== undefined) fields = fromHeader(authorization, request.headers);
  else if (presigned) fields = fromQuery(query, now);
  else if (isFormUpload(request, path)) return undefined; // its policy is signed inside the form (s3rver does not check it)
  else return refuse('AccessDenied', 'Access Denied');
  if ('code' in fields) return fields;

  const [accessKeyId, date, region, service, terminator] = fields.credential.split('/');
  if (accessKeyId !== credentials.accessKeyId) return refuse('InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
  if (!date || !region || service !== 's3' || terminator !== 'aws4_request' || !fields.amzDate.startsWith(date)) {
    return refuse('AuthorizationHeaderMalformed', 'The credential scope is malformed', 400);
  }
  const signedHeaders = fields.signedHeaders.split(';');
  if (!signedHeaders.includes('host')) return refuse('AccessDenied', 'The host header must be signed');
  const canonicalHeaders: string[] = [];
  for (const name of signedHeaders) {
    const value = header(request.headers, name);
    if (value === undefined) return refuse('AccessDenied', `The signed header ${name} is missing`);
    canonicalHeaders.push(`${name}:${value.trim().replace(/ +/g, ' ')}\n`);
  }
  const canonicalQuery = query
    .filter(([name]) => !(presigned && name === 'X-Amz-Signature'))
    .map(([name, value]) => [encode(name), encode(value)] as const)
    .sort(([a, aValue], [b, bValue]) => compare(a, b) || compare(aValue, bValue))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
  const canonicalRequest = [request.method, path, canonicalQuery, canonicalHeaders.join(''), fields.signedHeaders, fields.payloadHash].join('\n');
  const scope = `${date}/${region}/s3/aws4_request`;
  const stringToSign = [ALGORITHM, fields.amzDate, scope, sha256(canonicalRequest)].join('\n');
  const expected = signature(credentials.secretAccessKey, date, region, stringToSign);
  const given = Buffer.from(fields.signature, 'utf8');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return refuse('SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
  }
  return undefined;
}

interface SignatureFields {
  readonly credential: string;
  readonly amzDate: string;
  readonly signedHeaders: string;
  readonly signature: string;
  readonly payloadHash: string;
}

function fromHeader(authorization: string, headers: IncomingHttpHeaders): SignatureFields | SignatureRefusal {
  const match = /^AWS4-HMAC-SHA256 Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/.exec(authorization);
  const amzDate = header(headers, 'x-amz-date');
  const payloadHash = header(headers, 'x-amz-content-sha256');
  if (!match || !amzDate || !payloadHash) return refuse('AuthorizationHeaderMalformed', 'The authorization header is malformed', 400);
  const [, credential = '', signedHeaders = '', signature = ''] = match;
  return { credential, amzDate, signedHeaders, signature, payloadHash };
}

function fromQuery(query: ReadonlyArray<readonly [string, string]>, now: Date): SignatureFields | SignatureRefusal {
  const get = (name: string) => query.find(([key]) => key === name)?.[1];
  const [algorithm, credential, amzDate, expires, signedHeaders, signature] = [
    'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Amz-Signature',
  ].map(get);
  if (algorithm !== ALGORITHM || !credential || !amzDate || !expires || !signedHeaders || !signature) {
    return refuse('AuthorizationQueryParametersError', 'Query-string authentication requires every X-Amz-* parameter', 400);
  }
  const signedAt = parseAmzDate(amzDate);
  const seconds = Number(expires);
  if (signedAt === undefined || !Number.isInteger(seconds) || seconds < 1 || seconds > MAX_EXPIRES_SECONDS) {
    return refuse('AuthorizationQueryParametersError', 'X-Amz-Date or X-Amz-Expires is malformed', 400);
  }
  if (now.getTime() > signedAt + seconds * 1000) return refuse('AccessDenied', 'Request has expired');
  return { credential, amzDate, signedHeaders, signature, payloadHash: get('X-Amz-Content-Sha256') ?? 'UNSIGNED-PAYLOAD' };
}

/** A browser form POST to the bucket: S3's own authentication is the signed policy in its fields. */
function isFormUpload(request: SignedRequest, path: string): boolean {
  return request.method === 'POST' && /^\/[^/]+\/?$/.test(path) && /^multipart\/form-data\b/i.test(header(request.headers, 'content-type') ?? '');
}

function splitTarget(url: string): [string, string] {
  const index = url.indexOf('?');
  return index === -1 ? [url, ''] : [url.slice(0, index), url.slice(index + 1)];
}

/** Name and value pairs, decoded; undefined when an escape is malformed. */
function parseQuery(raw: string): Array<[string, string]> | undefined {
  try {
    return raw
      .split('&')
      .filter(Boolean)
      .map((pair) => {
        const index = pair.indexOf('=');
        const [name, value] = index === -1 ? [pair, ''] : [pair.slice(0, index), pair.slice(index + 1)];
        return [decodeURIComponent(name), decodeURIComponent(value)];
      });
  } catch {
    return undefined;
  }
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function parseAmzDate(value: string): number | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second] = match.map(Number);
  return Date.UTC(year!, month! - 1, day!, hour!, minute!, second!);
}

/** RFC 3986 percent-encoding, as SigV4 wants it. */
function encode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sha256(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

function signature(secret: string, date: string, region: string, stringToSign: string): Buffer {
  let key: Buffer = Buffer.from(`AWS4${secret}`, 'utf8');
  for (const part of [date, region, 's3', 'aws4_request']) key = createHmac('sha256', key).update(part, 'utf8').digest();
  return Buffer.from(createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex'), 'utf8');
}
