import type { Socket } from 'socket.io-client';
import type { ScheduleLag } from './chat-load.ts';
import { runClosedLoop } from './closed-loop.ts';
import type { LoadRecorder } from './load-recorder.ts';
import { nowMs } from './stamp.ts';
import type { VoiceWire } from './voice-wire.ts';

/** A connected voice client; `channelFor(cycle)` is the voice channel it asks for in its cycle number `cycle`. */
export interface VoiceUser {
  socket: Socket;
  channelFor(cycle: number): string;
}

/** A seat taken before the loop starts, given back `leaveInMs` after the loop's start. */
export interface HeldSeat {
  socket: Socket;
  leaveInMs: number;
}

export interface VoiceLoopOptions {
  users: readonly VoiceUser[];
  /** Seats taken beforehand (`seatSteadyState`), given back on their schedule. */
  held: readonly HeldSeat[];
  wire: VoiceWire;
  /** Seat requests per second, all users together; leaves follow at the same rate. */
  rate: number;
  durationMs: number;
  /** Share of its cycle (users ÷ rate seconds) a user keeps its seat before leaving. */
  holdShare: number;
  ackTimeoutMs: number;
  /** Requests: latency from the scheduled time to the acknowledgement. */
  requests: LoadRecorder;
  /** Leaves: latency from the time the leave went out. */
  leaves: LoadRecorder;
  signal?: AbortSignal;
}

/** One request and the leave that gives its seat back. */
interface Seat {
  socket: Socket;
  leaveAt: number;
  /** refused: the server answered an error, so there is no seat to give back; unknown: no answer in time. */
  outcome: 'pending' | 'granted' | 'refused' | 'unknown';
  leaveDue: boolean;
}

/**
 * Open loop of seat requests, each user cycling request → leave → request…:
 * request i is due at start + i / rate, from user i mod users (so each user
 * asks once per cycle of users ÷ rate seconds, for the channel of that cycle),
 * whatever happened to the earlier ones; its latency is measured from that due
 * time, so a late generator or a slow server shows as latency. The user's
 * leave is due `holdShare` of a cycle later, and goes once the request was
 * answered (a user never leaves a seat it is still waiting for). When the
 * loop ends, the seats still held are given back at once, so the next run
 * starts from empty rooms.
 */
export async function runVoiceLoop(options: VoiceLoopOptions): Promise<ScheduleLag> {
  const { users, wire, requests, leaves, ackTimeoutMs } = options;
  const intervalMs = 1000 / options.rate;
  const total = Math.floor((options.durationMs / 1000) * options.rate);
  const holdMs = options.holdShare * users.length * intervalMs;
  const seats: Seat[] = [];
  let released = 0;
  const lags: number[] = [];

  const sendLeave = (seat: Seat) => {
    if (seat.outcome === 'refused') return;
    const sentAt = nowMs();
    leaves.sent(sentAt, 0);
    wire.leave(seat.socket, (error) => leaves.acked(sentAt, error), ackTimeoutMs);
  };
  const release = (seat: Seat) => {
    seat.leaveDue = true;
    if (seat.outcome !== 'pending') sendLeave(seat);
  };
  const request = (index: number, dueAt: number) => {
    const user = users[index % users.length]!;
    const channelId = user.channelFor(Math.floor(index / users.length));
    const seat: Seat = { socket: user.socket, leaveAt: dueAt + holdMs, outcome: 'pending', leaveDue: false };
    seats.push(seat);
    requests.sent(dueAt, 0);
    wire.request(
      user.socket,
      channelId,
      (error) => {
        requests.acked(dueAt, error);
        seat.outcome = error === undefined ? 'granted' : error === 'ack_timeout' ? 'unknown' : 'refused';
        if (seat.leaveDue) sendLeave(seat);
      },
      ackTimeoutMs,
    );
  };

  const start = nowMs();
  for (const seat of options.held) seats.push({ socket: seat.socket, leaveAt: start + seat.leaveInMs, outcome: 'granted', leaveDue: false });
  let next = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = nowMs();
      if (next < total && start + next * intervalMs <= now) lags.push(now - (start + next * intervalMs));
      while (next < total && start + next * intervalMs <= now) {
        request(next, start + next * intervalMs);
        next += 1;
      }
      while (released < seats.length && seats[released]!.leaveAt <= now) release(seats[released++]!);
      if (next >= total || options.signal?.aborted) return resolve();
      const wake = Math.min(start + next * intervalMs, seats[released]?.leaveAt ?? Number.POSITIVE_INFINITY);
      setTimeout(tick, Math.min(2, Math.max(0, wake - nowMs())));
    };
    tick();
  });
  while (released < seats.length) release(seats[released++]!);

  lags.sort((a, b) => a - b);
  return {
    ticks: lags.length,
    p99Ms: lags[Math.max(0, Math.ceil(lags.length * 0.99) - 1)] ?? Number.NaN,
    maxMs: lags.at(-1) ?? Number.NaN,
  };
}

/**
 * Takes the seats the loop's users would hold if it had been running for a
 * while: in the steady state, user u (its requests due at (u + k·users) ÷ rate)
 * is seated at the start when its previous request, one cycle before its
 * first, was less than `holdShare` of a cycle ago. Requests go `concurrency`
 * at a time, unmeasured; the loop then gives each seat back on schedule, so
 * its first window measures rooms as full as in any later one.
 */
export async function seatSteadyState(options: {
  users: readonly VoiceUser[];
  wire: VoiceWire;
  rate: number;
  holdShare: number;
  ackTimeoutMs: number;
  concurrency: number;
  signal?: AbortSignal;
}): Promise<{ held: HeldSeat[]; refused: Record<string, number> }> {
  const { users, wire, rate } = options;
  const intervalMs = 1000 / rate;
  const holdMs = options.holdShare * users.length * intervalMs;
  const first = Math.ceil(users.length * (1 - options.holdShare));
  const held: HeldSeat[] = [];
  const result = await runClosedLoop({
    workers: options.concurrency,
    total: users.length - first,
    signal: options.signal,
    operation: (offset) => {
      const index = first + offset;
      const user = users[index]!;
      return new Promise<void>((resolve, reject) =>
        wire.request(
          user.socket,
          user.channelFor(-1),
          (error) => {
            if (error) return reject(Object.assign(new Error(error), { code: error }));
            held.push({ socket: user.socket, leaveInMs: (index - users.length) * intervalMs + holdMs });
            resolve();
          },
          options.ackTimeoutMs,
        ),
      );
    },
  });
  // The loop expects its seats in the order they are given back.
  held.sort((a, b) => a.leaveInMs - b.leaveInMs);
  return { held, refused: result.errors };
}
