// Waiting for a state in tests, never asserting a duration: poll until a condition holds, or until a
// count stops moving. The deadlines are generous; they only keep a broken test from hanging.

/** Polls `check` until it holds; throws after `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Waits until `read` gives the same count `polls` times in a row (a server stopped taking work), and returns it. */
export async function settled(read: () => number | Promise<number>, what: string, polls = 25): Promise<number> {
  let last = -1;
  let still = 0;
  await until(async () => {
    const now = await read();
    still = now === last ? still + 1 : 0;
    last = now;
    return still >= polls;
  }, what);
  return last;
}
