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
