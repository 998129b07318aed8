import type { Socket } from 'socket.io-client';
import type { ChatWire } from './chat-wire.ts';
import { nowMs, sentAtOf } from './stamp.ts';

/**
 * Counts sends, acknowledgements and deliveries, and keeps the latency of
 * those inside the measured window [from, to): a send and its acknowledgement
 * belong to the window by send time, a delivery's latency by the send time in
 * its text, a delivery's throughput by the time it arrived.
 */
export class LoadRecorder {
  #from = Number.POSITIVE_INFINITY;
  #to = Number.NEGATIVE_INFINITY;
  sends = 0;
  /** Deliveries the window's sends should cause (the sum of their peers). */
  expectedDeliveries = 0;
  acksOk = 0;
  ackErrors: Record<string, number> = {};
  ackLatenciesMs: number[] = [];
  /** Deliveries that arrived inside the window, whenever sent. */
  deliveriesArrived = 0;
  /** Deliveries of messages sent inside the window, whenever they arrive. */
  deliveriesOfWindow = 0;
  receiveLatenciesMs: number[] = [];
  /** Sends since the window opened (the window's and later ones) still waiting for their acknowledgement. */
  pendingAcks = 0;
  totalDeliveries = 0;
  /** Every send ever made minus every acknowledgement ever received. */
  outstandingAcks = 0;
  lastDeliveryAt = Number.NEGATIVE_INFINITY;

  /** Starts a new window; everything counted so far is forgotten. */
  open(from: number, to: number): void {
    this.#from = from;
    this.pendingAcks = 0;
    this.#to = to;
    this.sends = 0;
    this.expectedDeliveries = 0;
    this.acksOk = 0;
    this.ackErrors = {};
    this.ackLatenciesMs = [];
    this.deliveriesArrived = 0;
    this.deliveriesOfWindow = 0;
    this.receiveLatenciesMs = [];
  }

  /** Records every message `socket` receives. */
  listen(socket: Socket, wire: ChatWire): void {
    wire.onReceive(socket, (text) => {
      const at = nowMs();
      this.totalDeliveries += 1;
      this.lastDeliveryAt = at;
      if (at >= this.#from && at < this.#to) this.deliveriesArrived += 1;
      const sentAt = sentAtOf(text);
      if (sentAt >= this.#from && sentAt < this.#to) {
        this.deliveriesOfWindow += 1;
        this.receiveLatenciesMs.push(at - sentAt);
      }
    });
  }

  /** A message stamped `sentAt` is on its way to `peers` other clients. */
  sent(sentAt: number, peers: number): void {
    this.outstandingAcks += 1;
    if (sentAt >= this.#from) this.pendingAcks += 1;
    if (sentAt >= this.#from && sentAt < this.#to) {
      this.sends += 1;
      this.expectedDeliveries += peers;
    }
  }

  acked(sentAt: number, error: string | undefined): void {
    this.outstandingAcks -= 1;
    if (sentAt >= this.#from) this.pendingAcks -= 1;
    if (!(sentAt >= this.#from && sentAt < this.#to)) return;
    if (error) this.ackErrors[error] = (this.ackErrors[error] ?? 0) + 1;
    else {
      this.acksOk += 1;
      this.ackLatenciesMs.push(nowMs() - sentAt);
    }
  }

  /** Every acknowledgement is in and every delivery of the window's sends has arrived. */
  get settled(): boolean {
    return this.pendingAcks === 0 && this.deliveriesOfWindow >= this.expectedDeliveries;
  }
}
