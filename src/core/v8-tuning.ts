/**
 * V8 settings for a process that parses a large output once (`parse`, `inspect`), set
 * before the parsers run. Both are flags V8 reads when it uses them, so setting them at
 * run time takes effect; they are set only in the processes of those two commands.
 */
import { setFlagsFromString } from 'node:v8';

/**
 * The optimizing compiler without inlining. A parse runs a few loops over every byte once,
 * in a fresh process: V8 spends more CPU inlining their helpers into them (and again after
 * each deoptimization) than the inlined code saves. Measured: ~100 ms less CPU for `parse
 * iptables` of a 5,000-Service iptables-save (`npm run bench -- parse-cli`), ~250 ms less
 * for inspect's work on 3 nodes of it.
 */
export function tuneForOneParse(): void {
  setFlagsFromString('--no-turbo-inlining');
}

/**
 * V8's young generation kept at its first size. A streaming parse allocates many small
 * objects that die at once (a rule's strings, a piece of JSON) and keeps few: grown to 16 MiB
 * a half, as V8 grows it by default for such a load, it costs more memory (each grown half
 * stays resident) and more time (every GC copies more) than it saves. Measured by `npm run
 * bench -- parse-cli`: 14–20 MB less peak memory and ~25% less CPU for a 5,000-Service
 * iptables-save or a 10,000-service ipvsadm -Ln. (Read at each resize.)
 */
export function keepYoungGenerationSmall(): void {
  setFlagsFromString('--semi-space-growth-factor=1');
}

/**
 * WebAssembly compiled by the baseline compiler only (Liftoff), never again by the
 * optimizing one. The compiled iptables-save writer (wasm/save.ts) runs once per process,
 * for a fraction of a second: by default V8 compiles its hot functions a second time, with
 * TurboFan, on other threads, which costs more CPU than the faster code saves. Measured by
 * `npm run bench -- parse-cli` on a 5,000-Service iptables-save: 210 → 150 ms of work.
 */
export function compileWasmOnce(): void {
  setFlagsFromString('--liftoff-only');
}
