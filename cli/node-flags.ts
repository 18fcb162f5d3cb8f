/**
 * The V8 flags every tessera process runs with. The #! line of cli/bin.ts names them (`env -S`, so
 * `tessera …`, `npx tessera …` and the containers' entrypoints get them; test/unit/bin-executable
 * checks the line), `tessera run` passes them to the workers it starts, and the benchmarks start
 * tessera with them. They cannot come later: V8 reads them when the heap is set up (setting
 * --single-threaded-gc at run time aborts the process), and NODE_OPTIONS refuses them.
 *
 * --single-threaded-gc: no parallel or concurrent GC helper threads. A worker keeps a core busy, and
 * a master shares the machine with workers, so helpers only compete with them for the cores: on the
 * full-scene benchmark (2 cores, master + 2 workers, 2026-12-02) the run took 6.1–6.4 s instead of
 * 7.0–7.1 s and 9.6–10.2 s of user CPU instead of 11.1–11.2 s.
 *
 * --initial-old-space-size=64: V8 otherwise starts a full collection whenever the old generation
 * grows a few MB past its ~16 MB live size, and a process handling strips makes a steady trickle of
 * small objects; over a full-scene run the three processes made 43–47 mark-compacts (1.5–1.8 s of
 * CPU). With a 64 MB starting limit: 25 (0.75–0.83 s), the run 4.8–5.0 s instead of 5.0–6.3 s, and
 * the largest process's peak RSS 363–371 MB against 369–377 MB (its memory is ArrayBuffers, outside
 * this limit). 128 MB saved a little more but let a worker reach 387 MB.
 *
 * The price, for a tiny request: `tessera run` on samples/L7_ETMs.tif (NDVI, 2 workers) took a median
 * 1.10 s instead of 1.02 s (6 runs each, interleaved): start-up garbage is marked on the main thread.
 */
export const NODE_FLAGS: readonly string[] = ['--single-threaded-gc', '--initial-old-space-size=64'];

/** `execArgv` with NODE_FLAGS added where missing (for a child node process of the same program). */
export function withNodeFlags(execArgv: readonly string[]): string[] {
  return [...execArgv, ...NODE_FLAGS.filter((flag) => !execArgv.includes(flag))];
}
