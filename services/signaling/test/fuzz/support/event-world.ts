import type { Database } from '@parley/db';
import type { Channel, ServerWithChannels } from '@parley/protocol';
import { deleteRedisKeys, startCluster, type Cluster } from '@parley/testkit';
import { createTestDatabase, redisUrl, type TestDatabase } from '@parley/testkit/vitest';
import { addMember } from '../../support/communities.ts';
import { registerUser, type TestUser } from '../../support/users.ts';
import type { EventContext } from './event-cases.ts';
import { RawSocket } from './raw-socket.ts';

const PODS = 3;

interface Person {
  user: TestUser;
  /** One device per pod, `<name>-<pod>`. */
  devices: Array<RawSocket | undefined>;
}

/**
 * Three real pods; the fuzzing user with a device on each, and a reader (a
 * second member of the fuzzing user's community) with a device on each too:
 * whatever one pod relays, the other two decode. Every pod's log lines are
 * kept whole, for attributing an error line to the case that caused it.
 */
export class EventWorld {
  readonly cluster: Cluster;
  readonly #database: TestDatabase;
  readonly db: Database;
  readonly lines: string[][];
  readonly fuzzer: Person;
  readonly reader: Person;
  readonly server: ServerWithChannels;
  readonly voiceChannel: Channel;
  messageId = '';
  #marker = 0;

  private constructor(init: {
    cluster: Cluster;
    database: TestDatabase;
    db: Database;
    lines: string[][];
    fuzzer: TestUser;
    reader: TestUser;
    server: ServerWithChannels;
    voiceChannel: Channel;
  }) {
    this.cluster = init.cluster;
    this.#database = init.database;
    this.db = init.db;
    this.lines = init.lines;
    this.fuzzer = { user: init.fuzzer, devices: [] };
    this.reader = { user: init.reader, devices: [] };
    this.server = init.server;
    this.voiceChannel = init.voiceChannel;
  }

  static async start(env: Record<string, string>): Promise<EventWorld> {
    const database = await createTestDatabase();
    const lines: string[][] = Array.from({ length: PODS }, () => []);
    const cluster = await startCluster({
      pods: PODS,
      databaseUrl: database.url,
      redisUrl: redisUrl(),
      env,
      onLine: (pod, line) => lines[pod]!.push(line),
    });
    const db = await database.open();
    const fuzzer = await registerUser(cluster.url(0), `fuzzer_${Date.now().toString(36)}`);
    const reader = await registerUser(cluster.url(1), `reader_${Date.now().toString(36)}`);
    const server = await fuzzer.http.createServer({ name: 'Fuzzed community' });
    const voiceChannel = await fuzzer.http.request<Channel>('POST', `/api/servers/${server.id}/channels`, { name: 'Voice', type: 'voice' });
    await addMember(db, server.id, reader.session.id);
    const world = new EventWorld({ cluster, database, db, lines, fuzzer, reader, server, voiceChannel });
    await world.heal();
    world.messageId = await world.context(0).freshMessage();
    return world;
  }

  get textChannelId(): string {
    return this.server.channels[0]!.id;
  }

  /** The fuzzing user's device on `pod`. */
  device(pod: number): RawSocket {
    const socket = this.fuzzer.devices[pod];
    if (!socket?.open) throw new Error(`the fuzzing user's device on pod ${pod} is not connected`);
    return socket;
  }

  /** Restarts pods that exited and reconnects closed devices; the reader's device on the last pod owns its voice. Returns the pods restarted. */
  async heal(): Promise<number[]> {
    const restarted: number[] = [];
    for (const pod of this.cluster.pods) {
      if (pod.running) continue;
      await this.cluster.restart(pod.index);
      restarted.push(pod.index);
    }
    let readerReconnected = false;
    for (const [name, person] of [['fuzzer', this.fuzzer], ['reader', this.reader]] as const) {
      for (let pod = 0; pod < PODS; pod++) {
        if (person.devices[pod]?.open) continue;
        person.devices[pod] = await RawSocket.connect(this.cluster.url(pod), {
          token: person.user.session.token,
          clientInstanceId: `${name}-${pod}`,
        });
        if (name === 'reader') readerReconnected = true;
      }
    }
    if (readerReconnected || restarted.length > 0) await this.#request(this.reader.devices[PODS - 1]!, 'voice_client_takeover', {});
    return restarted;
  }

  /** Pods that are not running. */
  exitedPods(): number[] {
    return this.cluster.pods.filter((pod) => !pod.running).map((pod) => pod.index);
  }

  /** Where each pod's log stands now. */
  logMark(): number[] {
    return this.lines.map((lines) => lines.length);
  }

  /** The log lines written since `mark`, with their pod. */
  linesSince(mark: number[]): Array<{ pod: number; line: string }> {
    return this.lines.flatMap((lines, pod) => lines.slice(mark[pod]).map((line) => ({ pod, line })));
  }

  /**
   * Waits until everything a case sent from `pod` has been handled
   * everywhere: a marker `account_sync` from the same device travels the
   * same Redis connection as the case's relays, so when the other pods
   * deliver it they have decoded what came before; then a request to each pod
   * logs a line, after which its earlier lines have been read. Returns a
   * problem, or undefined.
   */
  async barrier(pod: number): Promise<string | undefined> {
    const marker = ++this.#marker;
    const sender = this.fuzzer.devices[pod];
    try {
      if (sender?.open && this.cluster.pod(pod).running) {
        const receivers = this.fuzzer.devices.filter((device, index) => index !== pod && device?.open && this.cluster.pod(index).running);
        const arrivals = receivers.map((device) =>
          device!.waitFor((event) => event.name === 'account_sync' && event.text.includes(`"fuzzMarker":${marker}}`), 10_000, `marker ${marker}`),
        );
        await this.#request(sender, 'account_sync', { payload: { type: 'friend-added', fuzzMarker: marker } });
        await Promise.all(arrivals);
      }
      await Promise.all(
        this.cluster.pods
          .filter((each) => each.running)
          .map(async (each) => {
            const path = `/fuzz-log-barrier-${marker}`;
            await fetch(`${each.url}${path}`).then((response) => response.arrayBuffer());
            const deadline = Date.now() + 10_000;
            while (!this.lines[each.index]!.slice(-50).some((line) => line.includes(path))) {
              if (Date.now() > deadline || !each.running) throw new Error(`pod ${each.index} did not log ${path}`);
              await new Promise((resolve) => setTimeout(resolve, 5));
            }
          }),
      );
      return undefined;
    } catch (error) {
      return (error as Error).message;
    }
  }

  /** What the cases of the fuzzing user's device on `pod` may use. */
  context(pod: number): EventContext {
    const device = () => this.device(pod);
    return {
      serverId: this.server.id,
      textChannelId: this.textChannelId,
      voiceChannelId: this.voiceChannel.id,
      messageId: this.messageId,
      peerUserId: this.reader.user.session.id,
      freshMessage: async () => {
        const ack = await this.#request(device(), 'chat:send', { conversationId: this.textChannelId, text: 'a message to act on' });
        return (ack as { message: { id: string } }).message.id;
      },
      takeVoice: async () => void (await this.#request(device(), 'voice_client_takeover', {})),
      takeSeat: async () => {
        await this.#request(device(), 'voice_client_takeover', {});
        await this.#request(device(), 'voice:room:request', this.voiceChannel.id);
      },
    };
  }

  async stop(): Promise<void> {
    for (const device of [...this.fuzzer.devices, ...this.reader.devices]) device?.close();
    await this.cluster.stop();
    await this.#database.drop();
    await deleteRedisKeys(redisUrl(), this.cluster.redisKeyPrefix);
  }

  /** A set-up request that must succeed. */
  async #request(socket: RawSocket, event: string, payload: unknown): Promise<unknown> {
    const outcome = await socket.emit(event, [payload], { ack: true });
    const response = outcome.kind === 'ack' ? (outcome.response as { ok?: boolean }) : undefined;
    if (!response?.ok) throw new Error(`set-up ${event} failed: ${JSON.stringify(outcome)}`);
    return response;
  }
}
