// Preloaded with `node --require` into a server that bench/run.ts profiles with --cpu-prof.
// Node writes the .cpuprofile only when the process exits by itself (or calls process.exit), not
// when a signal's default action kills it. So on SIGTERM: exit at once if the server does not
// handle the signal; if it does, let its graceful shutdown run and exit anyway after 5 s.
function onSigterm(): void {
  if (process.listenerCount('SIGTERM') > 1) {
    setTimeout(() => process.exit(0), 5000).unref();
    return;
  }
  process.exit(0);
}

process.on('SIGTERM', onSigterm);
