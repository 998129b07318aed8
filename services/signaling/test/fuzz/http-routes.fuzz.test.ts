import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/users.ts';
import { schemaVerdict } from './support/event-cases.ts';
import { FuzzReport } from './support/fuzz-report.ts';
import { fuzzSettings, protocolDoc, runs } from './support/fuzz-settings.ts';
import { UPLOAD_MAX_BYTES } from './support/multipart-hostility.ts';
import { changedTables, errorBodyProblem, isBadLogLine, summariseLogLine, tableState } from './support/oracles.ts';
import { rawHttp, type RawResponse } from './support/raw-http.ts';
import { authHeader, hugeDeclaredLength, hostileSegments, type Encoded } from './support/request-hostility.ts';
import { encodeBody, examplesFor, queriesOf, restCase, type RestFuzzCase } from './support/rest-fuzz-case.ts';
import { RestWorld } from './support/rest-world.ts';
import { documentedRoutes, routeCases, routeNames } from './support/route-cases.ts';
import {
  downloadProblems,
  fileInfosIn,
  fileNameProblem,
  inconsistencies,
  newInconsistencies,
  refusedStorageProblems,
  storageState,
} from './support/storage-oracles.ts';
import { UPLOAD_QUOTA_BYTES } from './support/upload-route-cases.ts';
import { fromWireJson } from './support/wire-json.ts';

/**
 * Every REST route of docs/protocol.md against one in-process node, with
 * hostile bodies (multipart ones for uploads), path parameters, query
 * strings, headers and transports. A request must never get a 5xx or log an
 * error; every error body must be `{ error: { code, message } }` with a
 * catalogue code whose status it has; a refused request must write nothing,
 * neither a row nor an object in the bucket.
 */

const RANDOM_RUNS = runs(20);
const PROPERTY_BUDGET_MS = 6000;
const report = new FuzzReport('httpRoutes', fuzzSettings.seed);
const HUNG_UPLOAD = 'a cut-off upload never ends';
let world: RestWorld;
let barrier = 0;

beforeAll(async () => {
  world = await RestWorld.start({
    RATE_LIMIT_AUTH: '100000/1m',
    RATE_LIMIT_UPLOAD: '100000/1m',
    UPLOAD_MAX_BYTES: String(UPLOAD_MAX_BYTES),
    UPLOAD_QUOTA_BYTES: String(UPLOAD_QUOTA_BYTES),
    SFU_PUBLIC_HOST: 'ws://127.0.0.1:9',
  });
}, 60_000);

afterAll(async () => {
  await report.write({ randomRunsPerRoute: RANDOM_RUNS });
  await world?.stop();
});

async function logBarrier(): Promise<void> {
  const path = `/fuzz-log-barrier-${++barrier}`;
  await fetch(`${world.url}${path}`).then((response) => response.arrayBuffer());
  const deadline = Date.now() + 5000;
  while (!world.lines.slice(-20).some((line) => line.includes(path))) {
    if (Date.now() > deadline) throw new Error(`the node did not log ${path}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

async function runCase(route: string, fuzz: RestFuzzCase): Promise<void> {
  const spec = routeCases[route]!;
  const [method, template] = route.split(' ') as [string, string];
  const situations = Object.entries(spec.situations ?? {});
  const situation = fuzz.situation === null || situations.length === 0 ? undefined : situations[fuzz.situation % situations.length]!;
  const sample = await (situation ? situation[1](world) : spec.sample(world));
  const params = template.match(/:\w+/g) ?? [];
  const hostileParam = fuzz.param && params.length > 0 ? params[fuzz.param.at % params.length] : undefined;
  const segment = fuzz.param ? hostileSegments[fuzz.param.segment]! : '';
  const path = template.replace(/:(\w+)/g, (name, key: string) =>
    name === hostileParam ? segment : encodeURIComponent(sample.params?.[key] ?? ''),
  );
  const queries = queriesOf(spec);
  const hostileQuery = fuzz.query === null ? undefined : queries[fuzz.query % queries.length]!;
  const query = [new URLSearchParams(sample.query ?? {}).toString(), hostileQuery].filter(Boolean).join('&');
  const target = query ? `${path}?${query}` : path;
  const { encoded, json, label: bodyLabel } = encodeBody(sample, fuzz);
  const headers = [...authHeader(fuzz.auth, sample.token), ...encoded.headers];

  const describeCase = [
    `${method} ${target.length > 200 ? `${target.slice(0, 200)}…(${target.length})` : target}`,
    ...(situation ? [`situation: ${situation[0]}`] : []),
    `auth: ${fuzz.auth}`,
    `body: ${bodyLabel}`,
    `transport: ${fuzz.transport}`,
    encoded.body ? `sent: ${encoded.body.length > 240 ? `${encoded.body.toString('latin1', 0, 240)}…(${encoded.body.length} bytes)` : encoded.body.toString('latin1')}` : 'no body',
  ].join('; ');
  const label = [situation?.[0], hostileParam ? `${hostileParam} ← ${segment.slice(0, 30)}` : '', hostileQuery ? `?${hostileQuery.slice(0, 30)}` : '', bodyLabel, fuzz.transport, fuzz.auth]
    .filter(Boolean)
    .join(', ');
  const fail = (kind: string, detail: string) => report.fail(route, kind, detail, describeCase, label);
  // The pending upload a refusal may remove (as documented), when the request names it.
  const removable = spec.refusalRemovesTarget && !hostileParam ? sample.params?.fileId : undefined;

  const before = await tableState(world.node.database);
  const storageBefore = spec.storage ? await storageState(world.node.database, world.bucket) : undefined;
  // A multipart upload cut off by its client still reaches its handler (signed in, its path well-formed), which must end.
  const cutOffUpload = sample.upload !== undefined && (encoded.abortAfterBytes !== undefined || encoded.truncated === true) && fuzz.auth === 'valid' && !hostileParam;
  const uploadsEnded = cutOffUpload ? await world.uploadsEnded() : 0;
  const mark = world.lines.length;
  let response: RawResponse | undefined;
  try {
    response = await rawHttp(world.url, { method, target, headers, body: encoded.body, abortAfterBytes: encoded.abortAfterBytes });
  } catch (error) {
    fail('no HTTP response', (error as Error).message);
  }
  await logBarrier();
  const after = await tableState(world.node.database);
  const storageAfter = spec.storage ? await storageState(world.node.database, world.bucket) : undefined;
  // Storage routes have their files table judged row by row, with the bucket (a documented removal is no write).
  const written = () => changedTables(before, after).filter((table) => !(spec.storage && table.startsWith('files ')));
  const storageProblems = () => (storageBefore && storageAfter ? refusedStorageProblems(storageBefore, storageAfter, removable) : []);
  if (storageBefore && storageAfter) {
    for (const problem of newInconsistencies(storageBefore, storageAfter)) fail('storage inconsistent', problem);
  }

  const seen = new Set<string>();
  // pino-http's own line for every 5xx repeats what the status check reports.
  const errorLines = world.lines.slice(mark).filter((line) => isBadLogLine(line) && !line.includes('"msg":"request errored"'));
  for (const line of errorLines) {
    const summary = summariseLogLine(line);
    if (seen.has(summary)) continue;
    seen.add(summary);
    fail(`error logged: ${summary.replace(/\(at .*\)$/, '').slice(0, 140)}`, summary);
  }
  // One hung upload per route tells enough: later ones are not waited for.
  if (cutOffUpload && !report.failuresOf(route).some((failure) => failure.kind === HUNG_UPLOAD)) {
    await eventually(async () => (await world.uploadsEnded()) > uploadsEnded, 5000).catch(() =>
      fail(HUNG_UPLOAD, 'parley_upload_duration_seconds did not count it within 5 s: its handler still waits for the rest of the body'),
    );
  }
  if (!response) {
    report.count(route, encoded.abortAfterBytes === undefined ? 'no response' : 'aborted by the client');
    if (encoded.abortAfterBytes !== undefined) {
      if (written().length > 0) fail('rows written by an aborted request', written().join(', '));
      for (const problem of storageProblems()) fail('storage written by an aborted request', problem);
    }
    return;
  }
  report.count(route, String(response.status));
  const text = response.body.toString('utf8');
  let body: { error?: unknown } | undefined;
  try {
    body = text ? (JSON.parse(text) as { error?: unknown }) : undefined;
  } catch {
    body = undefined;
  }
  if (response.status >= 500) fail(`HTTP ${response.status}`, text.slice(0, 300));
  if (response.status >= 400) {
    const problem = body && typeof body === 'object' && 'error' in body ? errorBodyProblem(body.error, response.status) : `body is not { error }: ${JSON.stringify(text.slice(0, 120))}`;
    if (problem && response.status < 500) fail('malformed error body', `${response.status}: ${problem}`);
    const changed = written();
    if (changed.length > 0) fail('rows written by a refused request', `${response.status} ${text.slice(0, 120)}; ${changed.join(', ')}`);
    for (const problem of storageProblems()) fail('storage written by a refused request', `${response.status} ${text.slice(0, 120)}; ${problem}`);
  }
  if (spec.storage && response.status < 400) {
    for (const file of fileInfosIn(body)) {
      const problem = fileNameProblem(file.name);
      if (problem) fail('an unclean file name in a response', problem);
    }
    if (spec.download) {
      for (const problem of await downloadProblems(response, world.bucket.endpoint)) fail('an unsafe download', problem);
    }
  }
  const honest = fuzz.transport === 'json' || fuzz.transport === 'real gzip';
  if (spec.bodySchema && honest && fuzz.auth === 'valid' && !hostileParam && json !== undefined && response.status < 300) {
    let verdict: ReturnType<typeof schemaVerdict> = 'unknown';
    try {
      verdict = schemaVerdict(spec.bodySchema, fromWireJson({ text: json, attachments: [] }));
    } catch {
      // Too deep to parse here: no verdict.
    }
    if (verdict === 'invalid') fail('accepted a body its protocol schema refuses', `${response.status} ${text.slice(0, 200)}`);
  }
}

describe('every REST route, fuzzed', () => {
  it('covers exactly the routes of the protocol document', () => {
    expect([...routeNames].sort()).toEqual(documentedRoutes(protocolDoc()).sort());
  });

  it.each(routeNames)('%s: hostile requests get a 4xx with a catalogue error and write nothing', async (route) => {
    const spec = routeCases[route]!;
    const sample = await spec.sample(world);
    const examples = examplesFor(route, spec, sample).map((fuzz): [RestFuzzCase] => [fuzz]);
    const deadline = Date.now() + PROPERTY_BUDGET_MS;
    let ran = 0;
    const run = await fc.check(
      fc.asyncProperty(restCase(sample.upload !== undefined), async (fuzz) => {
        // The examples (run first) always run; the budget bounds the random runs after them.
        if (ran++ >= examples.length && Date.now() > deadline) {
          report.count(route, 'skipped (time budget spent)');
          return true;
        }
        await runCase(route, fuzz);
        return true;
      }),
      { seed: fuzzSettings.seed, numRuns: RANDOM_RUNS + examples.length, examples },
    );
    // A case that threw (its set-up failed) ends the property: that is a failure too.
    expect(run.failed, run.failed ? `${fc.defaultReportMessage(run)}\n${String(run.errorInstance)}\n(seed ${fuzzSettings.seed})` : '').toBe(false);
    const failures = report.failuresOf(route);
    expect(failures, report.describe(failures)).toEqual([]);
  }, 60_000);

  const declaredPastTheLimit: Array<[string, Encoded]> = [
    ['/api/servers', hugeDeclaredLength],
    ['/api/uploads', { ...hugeDeclaredLength, headers: [['Content-Type', 'multipart/form-data; boundary=x'], ['Content-Length', String(10 ** 12)]] }],
  ];
  it.each(declaredPastTheLimit)('answers POST %s with a body declared past the limit with 413 at once, without waiting for it', async (path, declared) => {
    const started = Date.now();
    const response = await rawHttp(
      world.url,
      { method: 'POST', target: path, headers: [...authHeader('valid', world.ownerAccount.token), ...declared.headers], body: declared.body },
      5000,
    ).catch((error: Error) => error);
    report.count(`POST ${path} (Content-Length: 10^12)`, response instanceof Error ? 'no response' : String(response?.status));
    const outcome = response instanceof Error ? response.message : { status: response?.status, body: response?.body.toString('utf8') };
    expect(outcome, `after ${Date.now() - started} ms`).toMatchObject({ status: 413, body: expect.stringContaining('payload_too_large') });
  });

  it('leaves every object in the bucket with its files row, and every stored file with its object', async () => {
    expect(inconsistencies(await storageState(world.node.database, world.bucket))).toEqual([]);
  });

  it('still answers /health and /ready after everything', async () => {
    expect((await fetch(`${world.url}/health`)).status).toBe(200);
    expect((await fetch(`${world.url}/ready`)).status).toBe(200);
  });
});
