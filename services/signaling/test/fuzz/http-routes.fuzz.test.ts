import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schemaVerdict } from './support/event-cases.ts';
import { FuzzReport } from './support/fuzz-report.ts';
import { fuzzSettings, protocolDoc, runs } from './support/fuzz-settings.ts';
import { nest } from './support/hostile-values.ts';
import { everyStringPoisoned, mutate, mutation, type Mutation } from './support/mutations.ts';
import { changedTables, errorBodyProblem, isBadLogLine, summariseLogLine, tableState } from './support/oracles.ts';
import { rawHttp, type RawResponse } from './support/raw-http.ts';
import {
  authHeader,
  EXHAUSTIVE_SEGMENTS,
  hugeDeclaredLength,
  hostileQueries,
  hostileSegments,
  transportNames,
  transports,
  type AuthVariant,
} from './support/request-hostility.ts';
import { RestWorld } from './support/rest-world.ts';
import { documentedRoutes, routeCases, routeNames } from './support/route-cases.ts';
import { fromWireJson, toWireJson } from './support/wire-json.ts';

/**
 * Every REST route of docs/protocol.md against one in-process node, with
 * hostile bodies, path parameters, query strings, headers and transports.
 * A request must never get a 5xx or log an error; every error body must be
 * `{ error: { code, message } }` with a catalogue code whose status it has;
 * a refused request must write nothing.
 */

const RANDOM_RUNS = runs(20);
const PROPERTY_BUDGET_MS = 6000;
const report = new FuzzReport('httpRoutes', fuzzSettings.seed);
let world: RestWorld;
let barrier = 0;

beforeAll(async () => {
  world = await RestWorld.start({ RATE_LIMIT_AUTH: '100000/1m', SFU_PUBLIC_HOST: 'ws://127.0.0.1:9' });
}, 60_000);

afterAll(async () => {
  await report.write({ randomRunsPerRoute: RANDOM_RUNS });
  await world?.stop();
});

interface RestFuzzCase {
  body: Mutation;
  /** A hostile path segment (an index into `hostileSegments`) for one parameter. */
  param: { at: number; segment: number } | null;
  query: number | null;
  auth: AuthVariant;
  transport: string;
}

const restCase: fc.Arbitrary<RestFuzzCase> = fc.record({
  body: mutation,
  param: fc.option(fc.record({ at: fc.nat(), segment: fc.nat({ max: hostileSegments.length - 1 }) }), { freq: 3 }),
  query: fc.option(fc.nat({ max: hostileQueries.length - 1 }), { freq: 3 }),
  auth: fc.oneof(
    { arbitrary: fc.constant<AuthVariant>('valid'), weight: 8 },
    fc.constantFrom<AuthVariant>('none', 'unknown token', 'Basic scheme', 'huge token', 'two tokens'),
  ),
  transport: fc.oneof({ arbitrary: fc.constant('json'), weight: 10 }, fc.constantFrom(...transportNames)),
});

const plain = (overrides: Partial<RestFuzzCase> = {}): RestFuzzCase => ({
  body: { kind: 'valid' },
  param: null,
  query: null,
  auth: 'valid',
  transport: 'json',
  ...overrides,
});

/** Cases every route gets: each hostile segment on each parameter, each transport, each string poisoned, deep bodies. */
function examplesFor(route: string, sampleBody: unknown): RestFuzzCase[] {
  const params = route.match(/:\w+/g) ?? [];
  const segments = params.flatMap((_, at) =>
    Array.from({ length: EXHAUSTIVE_SEGMENTS }, (_, segment) => plain({ param: { at, segment } })),
  );
  const takesBody = sampleBody !== undefined;
  const bodies = takesBody
    ? [
        ...transportNames.map((transport) => plain({ transport })),
        ...everyStringPoisoned(sampleBody).map((body) => plain({ body })),
        ...([['array', 4000], ['array', 10_000], ['object', 10_000]] as const).map(([shape, depth]) =>
          plain({ body: { kind: 'add', at: -1, key: { value: 'nested', label: '"nested"' }, value: { value: nest(depth, shape), label: `${shape} nested ${depth} deep` } } }),
        ),
      ]
    : ['Content-Encoding: gzip on a plain body', 'aborted half-way'].map((transport) => plain({ transport }));
  return [...segments, ...bodies, plain({ auth: 'none' }), plain({ query: 0 })];
}

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
  const sample = await spec.sample(world);
  const mutated = fuzz.body.kind === 'valid' ? { payload: sample.body, label: 'its valid body' } : mutate(sample.body ?? {}, fuzz.body);
  const params = template.match(/:\w+/g) ?? [];
  const hostileParam = fuzz.param && params.length > 0 ? params[fuzz.param.at % params.length] : undefined;
  const segment = fuzz.param ? hostileSegments[fuzz.param.segment]! : '';
  const path = template.replace(/:(\w+)/g, (name, key: string) =>
    name === hostileParam ? segment : encodeURIComponent(sample.params?.[key] ?? ''),
  );
  const query = [new URLSearchParams(sample.query ?? {}).toString(), fuzz.query === null ? '' : hostileQueries[fuzz.query]]
    .filter(Boolean)
    .join('&');
  const target = query ? `${path}?${query}` : path;
  const json = mutated.payload === undefined ? undefined : toWireJson(mutated.payload).text;
  const encoded = transports[fuzz.transport]!(json);
  const headers = [...authHeader(fuzz.auth, sample.token), ...encoded.headers];

  const describeCase = [
    `${method} ${target.length > 200 ? `${target.slice(0, 200)}…(${target.length})` : target}`,
    `auth: ${fuzz.auth}`,
    `body: ${mutated.label}`,
    `transport: ${fuzz.transport}`,
    encoded.body ? `sent: ${encoded.body.length > 240 ? `${encoded.body.toString('latin1', 0, 240)}…(${encoded.body.length} bytes)` : encoded.body.toString('latin1')}` : 'no body',
  ].join('; ');
  const label = [hostileParam ? `${hostileParam} ← ${segment.slice(0, 30)}` : '', fuzz.query === null ? '' : `?${hostileQueries[fuzz.query]!.slice(0, 30)}`, mutated.label, fuzz.transport, fuzz.auth]
    .filter(Boolean)
    .join(', ');
  const fail = (kind: string, detail: string) => report.fail(route, kind, detail, describeCase, label);

  const before = await tableState(world.node.database);
  const mark = world.lines.length;
  let response: RawResponse | undefined;
  try {
    response = await rawHttp(world.url, { method, target, headers, body: encoded.body, abortAfterBytes: encoded.abortAfterBytes });
  } catch (error) {
    fail('no HTTP response', (error as Error).message);
  }
  await logBarrier();
  const after = await tableState(world.node.database);

  const seen = new Set<string>();
  // pino-http's own line for every 5xx repeats what the status check reports.
  const errorLines = world.lines.slice(mark).filter((line) => isBadLogLine(line) && !line.includes('"msg":"request errored"'));
  for (const line of errorLines) {
    const summary = summariseLogLine(line);
    if (seen.has(summary)) continue;
    seen.add(summary);
    fail(`error logged: ${summary.replace(/\(at .*\)$/, '').slice(0, 140)}`, summary);
  }
  if (!response) {
    report.count(route, encoded.abortAfterBytes === undefined ? 'no response' : 'aborted by the client');
    if (changedTables(before, after).length > 0 && encoded.abortAfterBytes !== undefined) fail('rows written by an aborted request', changedTables(before, after).join(', '));
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
    const changed = changedTables(before, after);
    if (changed.length > 0) fail('rows written by a refused request', `${response.status} ${text.slice(0, 120)}; ${changed.join(', ')}`);
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
    const sampleBody = (await routeCases[route]!.sample(world)).body;
    const examples = examplesFor(route, sampleBody).map((fuzz): [RestFuzzCase] => [fuzz]);
    const deadline = Date.now() + PROPERTY_BUDGET_MS;
    const run = await fc.check(
      fc.asyncProperty(restCase, async (fuzz) => {
        if (Date.now() > deadline) {
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

  it('answers a body declared past the limit with 413 at once, without waiting for it', async () => {
    const started = Date.now();
    const response = await rawHttp(
      world.url,
      { method: 'POST', target: '/api/servers', headers: [...authHeader('valid', world.ownerAccount.token), ...hugeDeclaredLength.headers], body: hugeDeclaredLength.body },
      5000,
    ).catch((error: Error) => error);
    report.count('POST /api/servers (Content-Length: 10^12)', response instanceof Error ? 'no response' : String(response?.status));
    const outcome = response instanceof Error ? response.message : { status: response?.status, body: response?.body.toString('utf8') };
    expect(outcome, `after ${Date.now() - started} ms`).toMatchObject({ status: 413, body: expect.stringContaining('payload_too_large') });
  });

  it('still answers /health and /ready after everything', async () => {
    expect((await fetch(`${world.url}/health`)).status).toBe(200);
    expect((await fetch(`${world.url}/ready`)).status).toBe(200);
  });
});
