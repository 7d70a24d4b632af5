// raymaker console: small progressive enhancement over server-rendered pages.
// Charts are drawn with Plotly (served from /static, the plotly package's copy); logs follow;
// live facts, pictures and endpoint traffic refresh while something runs.
"use strict";

const POLL_MS = 1000;

async function getJSON(url) {
  const r = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!r.ok) throw new Error(url + " answered " + r.status);
  return r.json();
}

function draw(el, spec) {
  if (!window.Plotly) return;
  const layout = Object.assign({}, spec.figure.layout, { autosize: true });
  Plotly.react(el, spec.figure.data, layout, spec.config || { responsive: true, displaylogo: false });
  el.dataset.drawn = "true";
}

function drawCharts(root) {
  root.querySelectorAll(".chart[data-figure]").forEach((el) => draw(el, JSON.parse(el.dataset.figure)));
}

async function refreshCharts(box) {
  const data = await getJSON(box.dataset.src);
  const have = box.querySelectorAll(".chart");
  if (data.charts.length) box.querySelectorAll(".empty").forEach((e) => e.remove());
  data.charts.forEach((spec, i) => {
    let el = have[i];
    if (!el) { el = document.createElement("div"); el.className = "chart"; box.appendChild(el); }
    draw(el, spec);
  });
  return data.terminal;
}

async function followLogs(pre) {
  let offset = 0;
  for (;;) {
    let data;
    try { data = await getJSON(pre.dataset.src + "?offset=" + offset); }
    catch (e) { await sleep(POLL_MS * 3); continue; }
    if (data.reset && offset > 0) pre.textContent = "";
    if (data.text) {
      const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 8;
      pre.textContent += data.text;
      if (atEnd) pre.scrollTop = pre.scrollHeight;
    }
    offset = data.offset;
    pre.dataset.offset = String(offset);
    if (data.terminal && !data.text) {
      document.querySelectorAll(".following").forEach((e) => (e.textContent = "ended"));
      if (!pre.textContent) pre.textContent = "(no output)";
      return;
    }
    if (data.text && data.text.length >= 200000) continue; // more is waiting
    await sleep(pre.dataset.follow === "true" ? POLL_MS : POLL_MS * 3);
  }
}

function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

async function livePage(url) {
  for (;;) {
    await sleep(POLL_MS * 2);
    let data;
    try { data = await getJSON(url); } catch (e) { continue; }
    for (const [k, v] of Object.entries(data.facts || {})) {
      document.querySelectorAll('[data-fact="' + k + '"]').forEach((el) => {
        el.textContent = v;
        if (k === "status") el.className = "v status s-" + v;
      });
    }
    if (data.terminal) {
      // the job ended: one last look at its charts, then the page as it now is
      await sleep(POLL_MS);
      location.reload();
      return;
    }
  }
}

async function livePicture(box) {
  for (;;) {
    try {
      const data = await getJSON(box.dataset.src);
      box.innerHTML = data.svg; // raymaker's own SVG: every text in it is escaped
      if (data.terminal || box.dataset.live !== "true") return;
    } catch (e) { /* try again */ }
    await sleep(POLL_MS * 2);
  }
}

async function liveEndpoint(box) {
  const series = {};
  let last = null;
  const charts = { rate: null, latency: null, errors: null };
  for (;;) {
    try {
      const data = await getJSON(box.dataset.src);
      const t = new Date(data.time * 1000);
      for (const [variant, f] of Object.entries(data.variants || {})) {
        const s = (series[variant] = series[variant] || { t: [], rate: [], p50: [], p99: [], err: [] });
        if (last && last.variants && last.variants[variant]) {
          const dt = data.time - last.time;
          const prev = last.variants[variant];
          s.t.push(t);
          s.rate.push(Math.max(0, (f.requests - prev.requests) / dt));
          s.err.push(Math.max(0, (f.errors_4xx + f.errors_5xx - prev.errors_4xx - prev.errors_5xx) / dt));
          s.p50.push(f.latency_p50_ms);
          s.p99.push(f.latency_p99_ms);
        }
      }
      last = data;
      const cap = data.capture || {};
      if (cap.written !== undefined) {
        let line = box.querySelector(".capture-line");
        if (!line) { line = document.createElement("p"); line.className = "muted capture-line"; box.prepend(line); }
        line.textContent = "capture: " + cap.written + " records written, " + cap.dropped + " dropped (the gateway's, since it started)";
      }
      if (data.note) {
        let line = box.querySelector(".note-line");
        if (!line) { line = document.createElement("p"); line.className = "muted note-line"; box.prepend(line); }
        line.textContent = data.note;
      }
      if (window.Plotly && Object.values(series).some((s) => s.t.length)) {
        box.querySelectorAll(".empty").forEach((e) => e.remove());
        for (const key of ["rate", "latency", "errors"]) {
          if (!charts[key]) {
            charts[key] = document.createElement("div");
            charts[key].className = "chart";
            box.classList.add("charts");
            box.appendChild(charts[key]);
          }
          const traces = [];
          for (const [variant, s] of Object.entries(series)) {
            if (key === "rate") traces.push({ x: s.t, y: s.rate, name: variant + " req/s", mode: "lines" });
            if (key === "errors") traces.push({ x: s.t, y: s.err, name: variant + " errors/s", mode: "lines" });
            if (key === "latency") {
              traces.push({ x: s.t, y: s.p50, name: variant + " p50 ms", mode: "lines" });
              traces.push({ x: s.t, y: s.p99, name: variant + " p99 ms", mode: "lines", line: { dash: "dot" } });
            }
          }
          const titles = { rate: "requests per second", latency: "latency (ms, gateway)", errors: "errors per second" };
          Plotly.react(charts[key], traces, { title: { text: titles[key] }, height: 260,
            margin: { l: 50, r: 16, t: 36, b: 36 } }, { displaylogo: false, responsive: true });
        }
      }
    } catch (e) { /* the gateway may be away; keep trying */ }
    await sleep(POLL_MS * 2);
  }
}

async function clusterBox(pre) {
  try { const data = await getJSON(pre.dataset.src); pre.textContent = data.status || "-"; }
  catch (e) { pre.textContent = String(e); }
}

function start() {
  drawCharts(document);
  document.querySelectorAll("form[data-confirm]").forEach((f) =>
    f.addEventListener("submit", (ev) => { if (!confirm(f.dataset.confirm)) ev.preventDefault(); }));
  document.querySelectorAll("pre.logs[data-src]").forEach((pre) => followLogs(pre));
  document.querySelectorAll(".picture[data-src]").forEach((box) => livePicture(box));
  document.querySelectorAll(".endpoint-live[data-src]").forEach((box) => liveEndpoint(box));
  document.querySelectorAll("pre.cluster[data-src]").forEach((pre) => clusterBox(pre));
  document.querySelectorAll('.charts[data-live="true"]').forEach(async (box) => {
    for (;;) {
      await sleep(POLL_MS * 2);
      try { if (await refreshCharts(box)) return; } catch (e) { /* again */ }
    }
  });
  if (document.body.dataset.live) livePage(document.body.dataset.live);
}

document.addEventListener("DOMContentLoaded", start);
