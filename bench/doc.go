// Package bench measures admit and refuses regressions: the workloads of
// `admit bench`, their HDR-histogram figures, the result file, the
// comparison of two results, and the gate that holds checked-in budgets.
//
// # Workloads
//
// A [Config] names the workloads and their sizes; [Run] runs them Runs
// times, each run on a fresh copy of a cached fixture of N synthetic tickets
// (index/indextest; built once, rebuilt when its version changes or a copy
// does not hold what it should), and reports every figure as the median of
// the runs with their range. Each workload is also a Run… function of its
// own, which the Go benchmarks of this package call under `go test -bench`.
//
//   - fsync ([RunFsync]): the disk's floor, 4 KiB overwrite + fdatasync in
//     the data directory. Every durable figure of the same run is also given
//     as a ratio to it (p50/fsync, p99/fsync), because a shared
//     disk's latency moves from minute to minute.
//   - validate ([RunValidate]): in process, the gate.Validator as the
//     daemon holds it: unknown barcodes ([RunUnknown]: a bloom miss),
//     already used ones ([RunAlreadyUsed]) and first uses, durable
//     ([RunFirstUse]), from concurrent lanes, with allocations and CPU per
//     scan. First uses run at every lane count asked (1, 8, 64); the
//     CPU-only steps stop at GOMAXPROCS lanes, since a lane that never
//     waits keeps a core and more of them would only measure Go's run
//     queue. Right before the first uses, the floor of the durable path
//     ([RunRaw], "validate/first-use/raw"): Pebble's Get and Sync commit
//     alone at one lane on the naive store of the same tickets; the first
//     use at one lane is also given as a ratio to its p50 (p50/raw).
//     With a store set up by [SetupCodes] (Run does), the codes that prove
//     themselves: one bare Ed25519 verify ([RunVerify]), a forged signed
//     code ([RunForged], p50/verify), rotating codes of used tickets
//     ([RunRotating]) and, beside the first use at one lane, signed codes
//     admitted on their first sight ([RunFirstUseSigned],
//     p50-over-first-use).
//   - http ([RunHTTP]): POST /v1/scan on a real socket with the mix
//     (70% first use, 20% unknown, 10% already used), against an in-process
//     appliance ([ServeFunc]; cmd/admit starts the daemon itself) or any
//     target URL. Closed-loop at each connection count, in slices taking
//     turns with a trivial fasthttp handler and, beside an in-process
//     appliance, the naive floor ([ServeNaive]: the durable check-in
//     server a user would write instead, on its own store of the same
//     tickets) so all see the same machine: the scan step's ratios to the
//     naive one (rate/naive, p99/naive) and its CPU beyond trivial's and
//     the in-process first use's (cpu-over-floor). Open-loop
//     ([RunOpenLoop]) at fixed rates, each request's latency counted from
//     its scheduled start, so a stall is charged to every request due
//     during it (no coordinated omission).
//   - import ([RunImport], [RunImportWhileScanning]): SecuTix files of 1 M
//     and 10 M lines through the parser into an empty store, with the
//     process's peak RSS; and first-use scans while 1 M lines import.
//   - relay ([WorkloadRelay]) is not run here: the scan-to-relay latency
//     needs the emulated USB bus of the tests, so internal/e2e's
//     BenchmarkScanToRelay measures it and writes a [Result] ([NewResult],
//     [LatencyObservation]) that the gate holds like any other.
//
// Every answer is checked (a first use must admit, an unknown barcode must
// be unknown, the API must answer 200 with a decision): a wrong one is
// counted in the measurement's errors and fails the gate; speed bought
// with wrong answers does not count.
//
// # Results, comparison, gate
//
// A [Result] is written as JSON ([Result.WriteFile]) with the machine (CPU
// model, cores, Go version, disk, load before and after) and printed as a
// table ([Result.WriteTable]). [Compare] lines up two results and calls a
// change "better" or "worse" only when the runs of the two do not overlap;
// [Result.WriteBenchfmt] writes Go benchmark lines for benchstat.
//
// [Gate] holds [Budget]s (bench/budgets.toml, embedded: [DefaultBudgets])
// against a result's medians. Budgets of durable and HTTP paths are ratios
// to floors measured in the same run (bare Pebble, the naive server);
// budgets of CPU-only paths are absolute with headroom. A context budget is
// reported and never fails the gate. The short profile ([ProfileShort]) is the gate `make test` runs
// in CI in well under a minute. Config.InjectDelay (the env var
// ADMIT_BENCH_INJECT_DELAY of `admit bench`) adds a busy wait to every scan
// of the validate workload, never to a product path, to show that the gate
// fails a slowdown.
package bench
