/**
 * What is in place while a command changes something, for the moment Ctrl-C is pressed a
 * second time: proxylab then exits at once, and these sentences are what it can still say
 * truthfully (which mode the ConfigMap is in, where the backup is, how to restore it).
 */
const notes = new Map<number, string>();
let next = 0;

/** Record a sentence about the state in place; call the returned function when it no longer holds. */
export function inPlace(text: string): () => void {
  const id = next++;
  notes.set(id, text);
  return () => notes.delete(id);
}

/** The sentences recorded and still true, oldest first. */
export function statesInPlace(): string[] {
  return [...notes.values()];
}

/** The sentence for an interruption: which signal, and what a person pressed. */
export function interruptedBy(sig: NodeJS.Signals | undefined): string {
  return sig === 'SIGTERM' ? 'interrupted by SIGTERM' : 'interrupted by Ctrl-C';
}

let step: string | undefined;

/** A step (a task of the progress tree) has started: the one an interrupt lands in. */
export function stepStarted(title: string): void {
  step = title;
}

/** The title of the step started last, for the sentence saying where Ctrl-C landed. */
export function currentStep(): string | undefined {
  return step;
}

/** A program in the chain of causes died of SIGINT or SIGTERM. */
function killedByInterrupt(e: unknown): boolean {
  for (let c = e, i = 0; c && i < 10; c = (c as { cause?: unknown }).cause, i++) {
    const sig = (c as { signal?: unknown }).signal;
    if (sig === 'SIGINT' || sig === 'SIGTERM') return true;
  }
  return false;
}

/**
 * Was the command interrupted? A terminal's Ctrl-C reaches the whole process group at once:
 * a program proxylab runs can die of it, and its failure reach a `catch`, before proxylab's
 * own handler has had its turn. When `e` is such a death, give that handler a moment.
 */
export async function settleInterrupt(signal: AbortSignal, e: unknown): Promise<boolean> {
  if (signal.aborted || !killedByInterrupt(e)) return signal.aborted;
  return awaitInterrupt(signal);
}

/** A program died of SIGINT or SIGTERM: is that proxylab's own interrupt (up to 0.5 s)? */
export async function awaitInterrupt(signal: AbortSignal): Promise<boolean> {
  for (let i = 0; i < 20 && !signal.aborted; i++)
    await new Promise((resolve) => setTimeout(resolve, 25));
  return signal.aborted;
}
