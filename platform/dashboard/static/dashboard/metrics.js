// The Metrics tab: fetch the app's points once and draw them with uPlot (vendored,
// uplot.min.js). Empty times are drawn as 0 requests and as gaps in the other charts;
// each release made in the range is a dashed marker labelled with its version.
(function () {
  const root = document.getElementById("metrics");
  if (!root || typeof uPlot === "undefined") return;
  const STATUS_COLORS = { "2xx": "#15803d", "3xx": "#1d4ed8", "4xx": "#b45309", "5xx": "#b42318" };
  const PALETTE = ["#1d4ed8", "#b42318", "#15803d", "#7c3aed", "#b45309", "#0e7490", "#be185d"];
  const MARKER = "#6b7280";

  const epoch = (iso) => Date.parse(iso) / 1000;

  function markers(releases) {
    return {
      hooks: {
        draw: [(u) => {
          const ctx = u.ctx;
          ctx.save();
          ctx.strokeStyle = ctx.fillStyle = MARKER;
          ctx.setLineDash([5, 4]);
          ctx.font = `${11 * devicePixelRatio}px sans-serif`;
          for (const r of releases) {
            const x = u.valToPos(r.t, "x", true);
            if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
            ctx.beginPath();
            ctx.moveTo(x, u.bbox.top);
            ctx.lineTo(x, u.bbox.top + u.bbox.height);
            ctx.stroke();
            const label = `v${r.version}`;
            const w = ctx.measureText(label).width;
            const right = x + 4 + w > u.bbox.left + u.bbox.width;  // keep it inside the plot
            ctx.fillText(label, right ? x - 4 - w : x + 4, u.bbox.top + 12 * devicePixelRatio);
          }
          ctx.restore();
        }],
      },
    };
  }

  function chart(id, xs, series, range, releases, opts = {}) {
    const el = document.getElementById(id);
    const width = Math.max(280, el.clientWidth || 600);
    return new uPlot({
      width, height: 180, plugins: [markers(releases)],
      scales: { x: { time: true, range: () => range }, y: { range: (u, min, max) => [0, Math.max(max || 0, opts.floor || 1)] } },
      axes: [{}, { size: 56 }],
      // Points are drawn too: a lone bucket between gaps would otherwise be invisible.
    series: [{}, ...series.map(({ data, ...s }) => ({ width: 2, points: { show: true, size: 4 }, ...s }))],
      ...opts.extra,
    }, [xs, ...series.map((s) => s.data)], el);
  }

  function summary(data) {
    const s = data.summary;
    const ms = (v) => (v === null ? "–" : `${Math.round(v)} ms`);
    const items = [
      ["Requests", `${s.requests} (${s.rps.toFixed(2)}/s)`],
      ["p50 / p95 / p99", `${ms(s.p50)} / ${ms(s.p95)} / ${ms(s.p99)}`],
      ["2xx / 3xx / 4xx / 5xx", ["2xx", "3xx", "4xx", "5xx"].map((k) => s.status[k]).join(" / ")],
      ["Restarts / OOM kills", `${s.restarts} / ${s.oom_kills}`],
    ];
    const dl = document.getElementById("metrics-summary");
    dl.replaceChildren(...items.map(([term, value]) => {
      const item = document.createElement("div");
      const dt = document.createElement("dt");
      const dd = document.createElement("dd");
      dt.textContent = term;
      dd.textContent = value;
      item.append(dt, dd);
      return item;
    }));
  }

  function draw(data) {
    const step = data.step;
    const start = Math.floor(epoch(data.since) / step) * step;
    const now = Date.now() / 1000;
    const xs = [];
    for (let t = start; t <= now; t += step) xs.push(t);
    const byT = new Map(data.points.map((p) => [Math.floor(epoch(p.time) / step) * step, p]));
    const at = (fn, empty) => xs.map((t) => (byT.has(t) ? fn(byT.get(t)) : empty));
    const range = [start, now];
    const releases = data.releases.map((r) => ({ version: r.version, t: epoch(r.time) }));
    const dynos = [...new Set(data.points.flatMap((p) => Object.keys(p.processes)))].sort();
    const color = (i) => PALETTE[i % PALETTE.length];

    chart("chart-requests", xs, Object.entries(STATUS_COLORS).map(([k, c]) => ({
      label: k, stroke: c, points: { show: false }, data: at((p) => p.status[k] / step, 0),
    })), range, releases);
    chart("chart-latency", xs, [["p50", "#15803d"], ["p95", "#b45309"], ["p99", "#b42318"]].map(
      ([k, c]) => ({ label: k, stroke: c, data: at((p) => p[k], null) })), range, releases, { floor: 10 });
    const limit = Math.max(0, ...data.points.flatMap((p) => Object.values(p.processes).map((v) => v.memory_limit_mb || 0)));
    chart("chart-memory", xs, [
      ...dynos.map((d, i) => ({ label: d, stroke: color(i), data: at((p) => p.processes[d]?.memory_mb ?? null, null) })),
      ...(limit ? [{ label: "limit", stroke: MARKER, dash: [6, 6], width: 1, points: { show: false }, data: xs.map(() => limit) }] : []),
    ], range, releases, { floor: 10 });
    chart("chart-cpu", xs, dynos.map((d, i) => ({
      label: d, stroke: color(i), data: at((p) => p.processes[d]?.cpu_percent ?? null, null),
    })), range, releases, { floor: 5 });

    summary(data);
    document.getElementById("metrics-releases").textContent =
      data.releases.map((r) => `v${r.version} (${new Date(r.time).toLocaleString()})`).join(", ") || "none";
    const n = data.points.length;
    const apart = step < 120 ? `${step} s` : step < 7200 ? `${step / 60} min` : `${step / 3600} h`;
    document.getElementById("metrics-status").textContent = n
      ? `${n} point${n === 1 ? "" : "s"}, ${apart} apart`
      : "No requests or processes measured in this range yet.";
  }

  fetch(root.dataset.source, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then((r) => r.json().then((body) => (r.ok ? body : Promise.reject(new Error(body.message)))))
    .then(draw)
    .catch((e) => { document.getElementById("metrics-status").textContent = `Metrics could not be loaded: ${e.message}`; });
})();
