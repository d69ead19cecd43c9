// The page's part: with `?identity`, what the page is (cross-origin isolation and the tick of
// performance.now(), which browsers coarsen unless isolated); otherwise start the guest's
// worker, send on what it reports, in order, and report a worker that fails to load.
async function post(path, body) {
  await fetch(path, { method: 'POST', body });
}

function tickNs() {
  // The smallest step between distinct readings over 50 ms of reading.
  let best = Infinity;
  let last = performance.now();
  const end = last + 50;
  for (;;) {
    const now = performance.now();
    if (now !== last) {
      best = Math.min(best, now - last);
      last = now;
    }
    if (now >= end) break;
  }
  return Math.round(best * 1e6);
}

if (location.search === '?identity') {
  post('/identity', JSON.stringify({
    cross_origin_isolated: self.crossOriginIsolated,
    performance_now_tick_ns: tickNs(),
    user_agent: navigator.userAgent,
  }));
} else {
  const w = new Worker('/worker.js', { type: 'module' });
  let chain = Promise.resolve();
  w.onmessage = (e) => {
    const { path, body } = e.data;
    chain = chain.then(() => post(path, body));
  };
  w.onerror = (e) => {
    e.preventDefault();
    post('/result', JSON.stringify({ page_error: `the worker failed: ${e.message || 'load error'}` }));
  };
}
