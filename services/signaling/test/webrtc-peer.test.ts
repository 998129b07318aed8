import { describe, it, type TestContext } from 'vitest';
import { TestPeer, type IceCandidateInit } from './support/webrtc-peer.ts';

/** Two peers closed when the test ends; `candidates` records what each trickled. */
function peers({ onTestFinished }: TestContext) {
  const offerer = TestPeer.create();
  const answerer = TestPeer.create();
  onTestFinished(() => Promise.all([offerer.close(), answerer.close()]).then(() => undefined));
  const candidates = { offerer: [] as IceCandidateInit[], answerer: [] as IceCandidateInit[] };
  offerer.onIceCandidate((candidate) => candidates.offerer.push(candidate));
  answerer.onIceCandidate((candidate) => candidates.answerer.push(candidate));
  return { offerer, answerer, candidates };
}

/** Hands each peer's trickled candidates to the other, as the relay's `ice_candidate` would. */
function trickleBetween(a: TestPeer, b: TestPeer): void {
  a.onIceCandidate((candidate) => void b.addIceCandidate(candidate));
  b.onIceCandidate((candidate) => void a.addIceCandidate(candidate));
}

/** Replaces the value of the first `a=<attribute>:` line of an SDP. */
function tamper(sdp: string, attribute: string, change: (value: string) => string): string {
  const pattern = new RegExp(`^a=${attribute}:(.*)$`, 'm');
  if (!pattern.test(sdp)) throw new Error(`no a=${attribute} line to tamper with`);
  return sdp.replace(pattern, (_line, value: string) => `a=${attribute}:${change(value)}`);
}

// The failure cases wait for a timeout each; running them side by side keeps the file fast.
// Concurrent tests must use the context's `expect` and `onTestFinished`.
describe.concurrent('TestPeer (werift over loopback)', () => {
  it('connects through trickled candidates and carries data-channel messages both ways', async (context) => {
    const { expect } = context;
    const { offerer, answerer, candidates } = peers(context);
    trickleBetween(offerer, answerer);

    const offer = await offerer.createOffer();
    const answer = await answerer.acceptOffer(offer);
    await offerer.acceptAnswer(answer);
    await Promise.all([offerer.connected(), answerer.connected()]);

    expect(await offerer.exchangeOverDataChannel('hello from the offerer')).toBe('hello from the offerer');
    expect(await answerer.exchangeOverDataChannel('hello from the answerer')).toBe('hello from the answerer');
    expect(answerer.received).toEqual(['hello from the offerer']);
    expect(offerer.received).toEqual(['hello from the answerer']);
    // The descriptions carry no address: every candidate went through the trickle path.
    expect(`${offer}${answer}`).not.toMatch(/a=candidate|a=end-of-candidates/);
    for (const trickled of [candidates.offerer, candidates.answerer]) {
      expect(trickled.at(-1)).toMatchObject({ candidate: '', sdpMid: '0', sdpMLineIndex: 0 });
      const gathered = trickled.slice(0, -1);
      expect(gathered.length).toBeGreaterThan(0);
      for (const { candidate } of gathered) expect(candidate).toMatch(/ udp \d+ 127\.0\.0\.1 \d+ typ host /);
    }
  });

  it('trickles its one loopback candidate after handing out the description, as a browser app would', async (context) => {
    const { expect } = context;
    const { offerer } = peers(context);
    const events: string[] = [];
    offerer.onIceCandidate(({ candidate }) => events.push(candidate === '' ? 'end of candidates' : 'candidate'));

    await offerer.createOffer();
    events.push('offer handed out');

    await expect.poll(() => events).toEqual(['offer handed out', 'candidate', 'end of candidates']);
    const late: IceCandidateInit[] = [];
    offerer.onIceCandidate((candidate) => late.push(candidate));
    expect(late.map(({ candidate }) => candidate === '')).toEqual([false, true]);
  });

  it('does not connect when no candidate is trickled', async (context) => {
    const { expect } = context;
    const { offerer, answerer } = peers(context);

    await offerer.acceptAnswer(await answerer.acceptOffer(await offerer.createOffer()));

    await expect(offerer.connected(800)).rejects.toThrow(/after 800 ms/);
  });

  it('does not connect when the answer carries the wrong ICE password', async (context) => {
    const { expect } = context;
    const { offerer, answerer } = peers(context);
    trickleBetween(offerer, answerer);

    const answer = await answerer.acceptOffer(await offerer.createOffer());
    await offerer.acceptAnswer(tamper(answer, 'ice-pwd', (password) => [...password].reverse().join('')));

    // werift keeps retrying the checks rather than failing, hence the timeout.
    await expect(offerer.connected(800)).rejects.toThrow(/after 800 ms/);
  });

  it('does not connect when the answer carries the wrong DTLS fingerprint', async (context) => {
    const { expect } = context;
    const { offerer, answerer } = peers(context);
    trickleBetween(offerer, answerer);

    const answer = await answerer.acceptOffer(await offerer.createOffer());
    await offerer.acceptAnswer(tamper(answer, 'fingerprint', (value) => value.replace(/[0-9A-F]{2}$/, (last) => (last === '00' ? '01' : '00'))));

    // ICE succeeds; the DTLS handshake then meets a certificate that does not match. The wait ends when the
    // connection fails; its bound only has to outlast both handshakes on a loaded machine.
    await expect(offerer.connected(10_000)).rejects.toThrow('peer connection failed');
  });

  it('fails an exchange, within its timeout, once the remote peer has closed', async (context) => {
    const { expect } = context;
    const { offerer, answerer } = peers(context);
    trickleBetween(offerer, answerer);
    await offerer.acceptAnswer(await answerer.acceptOffer(await offerer.createOffer()));
    // Connected first: the exchange's own timeout is not meant to cover the handshakes.
    await offerer.connected(10_000);
    expect(await offerer.exchangeOverDataChannel('still there?')).toBe('still there?');

    await answerer.close();

    await expect(offerer.exchangeOverDataChannel('anyone there?', 800)).rejects.toThrow();
  });
});
