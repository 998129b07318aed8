import { RTCPeerConnection, type RTCDataChannel, type RTCPeerConnectionConfig } from 'werift';

/** One trickled ICE candidate, in the browser's `RTCIceCandidateInit` shape; `candidate: ''` marks the end of candidates. */
export interface IceCandidateInit {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
  usernameFragment?: string | null;
}

/**
 * ICE on 127.0.0.1 only. werift never gathers loopback from the machine's
 * interfaces, so IPv4/IPv6 interface gathering is switched off and 127.0.0.1
 * is added by hand; the UDP socket is bound to it rather than to 0.0.0.0.
 * werift's default ICE server is Google's STUN server, hence the empty list.
 * werift has no mDNS candidates of its own (it only resolves remote `.local` ones).
 */
const loopbackOnly: RTCPeerConnectionConfig = {
  iceServers: [],
  iceUseIpv4: false,
  iceUseIpv6: false,
  iceAdditionalHostAddresses: ['127.0.0.1'],
  iceInterfaceAddresses: { udp4: '127.0.0.1' },
  iceUseTcp: false,
};

type ChannelMessage = { kind: 'ping' | 'pong'; id: number; text: string };

/**
 * A real WebRTC peer (werift) for tests, talking over loopback only. Offer,
 * answer and candidates are plain values, so a test can carry them through
 * Parley's relay or hand them over directly.
 *
 * werift gathers every candidate before `setLocalDescription` resolves and
 * writes them into the SDP. The descriptions this class hands out have those
 * lines removed, so the peers can only connect through the candidates passed
 * to `onIceCandidate` listeners: a relay that drops `ice_candidate` fails the test.
 */
export class TestPeer {
  readonly #pc: RTCPeerConnection;
  readonly #listeners: Array<(candidate: IceCandidateInit) => void> = [];
  /** Candidates already passed to listeners, replayed to a listener added late. */
  readonly #released: IceCandidateInit[] = [];
  /** Candidates gathered while the local description is not yet in the caller's hands. */
  #held: IceCandidateInit[] | null = [];
  #releaseTimer: NodeJS.Immediate | undefined;
  #lastCandidate: IceCandidateInit | undefined;
  /** The offerer's own channel, or the one the answerer receives. */
  readonly #channel = Promise.withResolvers<RTCDataChannel>();
  #nextPingId = 0;
  readonly #pendingPongs = new Map<number, PromiseWithResolvers<string>>();
  readonly #received: string[] = [];
  #closed = false;

  private constructor() {
    this.#pc = new RTCPeerConnection(loopbackOnly);
    this.#pc.onicecandidate = ({ candidate }) => this.#gathered(candidate);
    this.#pc.ondatachannel = ({ channel }) => this.#useChannel(channel);
  }

  /** A peer whose ICE uses host candidates on 127.0.0.1 only: no STUN, no TURN, no other interface. */
  static create(): TestPeer {
    return new TestPeer();
  }

  /** Opens a data channel (so there is something to negotiate) and returns the offer SDP, without candidates. */
  async createOffer(): Promise<string> {
    this.#useChannel(this.#pc.createDataChannel('parley-test'));
    await this.#pc.setLocalDescription(await this.#pc.createOffer());
    return this.#handOut();
  }

  /** Applies a remote offer and returns the answer SDP, without candidates. */
  async acceptOffer(sdp: string): Promise<string> {
    await this.#pc.setRemoteDescription({ type: 'offer', sdp });
    await this.#pc.setLocalDescription(await this.#pc.createAnswer());
    return this.#handOut();
  }

  /** Applies the remote answer to this peer's offer; ICE checks start here. */
  async acceptAnswer(sdp: string): Promise<void> {
    await this.#pc.setRemoteDescription({ type: 'answer', sdp });
  }

  /** Adds a candidate trickled by the remote peer; werift keeps it if the remote description is not applied yet. */
  async addIceCandidate(candidate: IceCandidateInit): Promise<void> {
    await this.#pc.addIceCandidate(candidate);
  }

  /**
   * Calls `listener` with each local candidate, then once with the end marker
   * (`candidate: ''`). Candidates are released on the turn after
   * `createOffer`/`acceptOffer` resolves, so a caller that sends the SDP
   * straight away sends it before them, as a browser app would.
   */
  onIceCandidate(listener: (candidate: IceCandidateInit) => void): void {
    this.#listeners.push(listener);
    for (const candidate of this.#released) listener(candidate);
  }

  /** Resolves once the connection state is `connected`; rejects on `failed`/`closed` or after `timeoutMs` (default 5000). */
  connected(timeoutMs = 5_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const settle = (state: string): boolean => {
        if (state === 'connected') resolve();
        else if (state === 'failed' || state === 'closed') reject(new Error(`peer connection ${state}`));
        else return false;
        return true;
      };
      if (settle(this.#pc.connectionState)) return;
      const timer = setTimeout(() => {
        subscription.unSubscribe();
        reject(new Error(`peer connection still ${this.#pc.connectionState} after ${timeoutMs} ms`));
      }, timeoutMs);
      const subscription = this.#pc.connectionStateChange.subscribe((state) => {
        if (!settle(state)) return;
        clearTimeout(timer);
        subscription.unSubscribe();
      });
    });
  }

  /**
   * Sends `text` over the data channel and resolves with the text the remote
   * peer received, as the remote sends it back: proof that traffic flows both
   * ways. Rejects after `timeoutMs` (default 2000) or when the peer closes.
   */
  async exchangeOverDataChannel(text: string, timeoutMs = 2_000): Promise<string> {
    if (this.#closed) throw new Error('peer is closed');
    const id = this.#nextPingId++;
    const pong = Promise.withResolvers<string>();
    this.#pendingPongs.set(id, pong);
    const timer = setTimeout(() => pong.reject(new Error(`no reply over the data channel after ${timeoutMs} ms`)), timeoutMs);
    this.#channel.promise
      .then(opened)
      .then((channel) => channel.send(JSON.stringify({ kind: 'ping', id, text } satisfies ChannelMessage)))
      .catch(pong.reject);
    try {
      return await pong.promise;
    } finally {
      clearTimeout(timer);
      this.#pendingPongs.delete(id);
    }
  }

  /** Texts the remote peer sent with `exchangeOverDataChannel`, in order of arrival. */
  get received(): readonly string[] {
    return this.#received;
  }

  /** Closes the connection and its UDP socket. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearImmediate(this.#releaseTimer);
    for (const pong of this.#pendingPongs.values()) pong.reject(new Error('peer closed'));
    await this.#pc.close();
  }

  #handOut(): string {
    const sdp = this.#pc.localDescription?.sdp;
    if (!sdp) throw new Error('no local description');
    // Released after the caller's continuation has run, i.e. after it sent the SDP.
    this.#releaseTimer = setImmediate(() => {
      const held = this.#held ?? [];
      this.#held = null;
      for (const candidate of held) this.#release(candidate);
    });
    return withoutCandidates(sdp);
  }

  #gathered(candidate: IceCandidateInit | undefined): void {
    let init: IceCandidateInit;
    if (candidate?.candidate) {
      init = { candidate: candidate.candidate, sdpMid: candidate.sdpMid, sdpMLineIndex: candidate.sdpMLineIndex, usernameFragment: candidate.usernameFragment };
      this.#lastCandidate = init;
    } else {
      // werift signals the end with no candidate; browsers send '' with the m-section, which a spec-following addIceCandidate requires.
      if (!this.#lastCandidate) return;
      init = { ...this.#lastCandidate, candidate: '' };
    }
    if (this.#held) this.#held.push(init);
    else this.#release(init);
  }

  #release(candidate: IceCandidateInit): void {
    this.#released.push(candidate);
    for (const listener of this.#listeners) listener(candidate);
  }

  #useChannel(channel: RTCDataChannel): void {
    channel.onMessage.subscribe((data) => {
      const message = JSON.parse(data.toString()) as ChannelMessage;
      if (message.kind === 'ping') {
        this.#received.push(message.text);
        channel.send(JSON.stringify({ kind: 'pong', id: message.id, text: message.text } satisfies ChannelMessage));
      } else {
        this.#pendingPongs.get(message.id)?.resolve(message.text);
      }
    });
    this.#channel.resolve(channel);
  }
}

/** Removes candidate lines from an SDP, so that ICE relies on trickled candidates alone. */
export function withoutCandidates(sdp: string): string {
  return sdp
    .split('\r\n')
    .filter((line) => !line.startsWith('a=candidate:') && line !== 'a=end-of-candidates')
    .join('\r\n');
}

function opened(channel: RTCDataChannel): Promise<RTCDataChannel> {
  if (channel.readyState === 'open') return Promise.resolve(channel);
  if (channel.readyState === 'closed') return Promise.reject(new Error('data channel closed'));
  return new Promise((resolve, reject) => {
    const subscription = channel.stateChanged.subscribe((state) => {
      if (state === 'open') resolve(channel);
      else if (state === 'closed') reject(new Error('data channel closed'));
      else return;
      subscription.unSubscribe();
    });
  });
}
