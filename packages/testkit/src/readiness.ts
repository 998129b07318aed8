/** Polls `<url>/ready` until it answers 200; throws with the last answer after `timeoutMs`. */
export async function waitUntilReady(
  url: string,
  options: { timeoutMs?: number; abandonWhen?: () => boolean; describeFailure?: () => string } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let last = '';
  while (Date.now() < deadline && !options.abandonWhen?.()) {
    try {
      const response = await fetch(`${url}/ready`);
      if (response.ok) return;
      last = `${response.status} ${await response.text()}`;
    } catch (error) {
      last = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not become ready (${last})\n${options.describeFailure?.() ?? ''}`);
}
