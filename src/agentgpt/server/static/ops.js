"use strict";
// The operator dashboard: the monitor snapshot live over SSE, a chart, alerts with acknowledge.
const $ = (id) => document.getElementById(id);
let token = null;
const history = [];

const esc = (s) => String(s).replace(/[<>&"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" }[c]));
const ms = (v) => (v == null ? "–" : Math.round(v) + "ms");
// A figure without a finite value arrives as null (strict JSON): shown as a dash.
const fixed = (v, digits) => (v == null ? "–" : v.toFixed(digits));

function render(snap) {
  $("active").textContent = snap.active_sessions.toLocaleString();
  $("avg").textContent = ms(snap.latency.avg_ms);
  $("pct").textContent = `${ms(snap.latency.p95_ms)} / ${ms(snap.latency.p99_ms)}`;
  $("rate").textContent = fixed(snap.turns_per_s, 1);
  $("win").textContent = snap.window;
  $("updated").textContent = new Date().toLocaleTimeString();
  $("topics").innerHTML = snap.topics.map((t, i) =>
    `<tr><td>${i + 1}.</td><td>${esc(t.topic)}</td><td>${fixed(t.share, 0)}%</td>` +
    `<td style="width:50%"><div class="bar" style="width:${Math.min(100, t.share || 0)}%"></div></td>` +
    `<td>${t.trend ? esc(t.trend) : ""}</td></tr>`).join("") || "<tr><td>no turns in this window</td></tr>";
  $("alerts").innerHTML = snap.alerts.map((a) =>
    `<tr><td class="sev-${esc(a.severity)}">${esc(a.severity.toUpperCase())}</td><td>${esc(a.message)}</td>` +
    `<td>${new Date(a.at * 1000).toLocaleTimeString()}</td><td>${a.acknowledged ? "acknowledged" :
      `<button class="secondary ack" data-id="${esc(a.id)}">Acknowledge</button>`}</td></tr>`).join("") ||
    "<tr><td>no open alerts</td></tr>";
  history.push({ rate: snap.turns_per_s, lat: snap.latency.avg_ms });
  if (history.length > 120) history.shift();
  draw();
}

// The last 120 refreshes, spread over the whole width from the first one on, each series
// scaled to its own maximum (its latest value written at the right); a refresh without a
// latency (no turn in the window) leaves a gap instead of a fall to zero.
function draw() {
  const c = $("chart"), g = c.getContext("2d");
  g.clearRect(0, 0, c.width, c.height);
  g.strokeStyle = "#334155"; g.lineWidth = 1;
  g.beginPath(); g.moveTo(0, c.height - 8); g.lineTo(c.width, c.height - 8); g.stroke();
  const span = Math.max(history.length - 1, 1);
  const series = [["rate", "#38bdf8", (v) => v.toFixed(1) + "/s"], ["lat", "#f59e0b", ms]];
  series.forEach(([key, color, label], row) => {
    const values = history.map((h) => h[key]).filter((v) => Number.isFinite(v));
    const max = Math.max(1, ...values);
    const at = (i, v) => [(i / span) * (c.width - 90), c.height - 8 - (v / max) * (c.height - 24)];
    g.strokeStyle = color; g.fillStyle = color; g.lineWidth = 2; g.beginPath();
    let open = false;
    history.forEach((h, i) => {
      const v = h[key];
      if (!Number.isFinite(v)) { open = false; return; }
      const [x, y] = at(i, v);
      if (open) g.lineTo(x, y); else { g.moveTo(x, y); g.fillRect(x - 2, y - 2, 4, 4); }
      open = true;
    });
    g.stroke();
    const last = history[history.length - 1][key];
    g.font = "14px sans-serif";
    g.fillText(Number.isFinite(last) ? label(last) : "–", c.width - 80, 18 + row * 18);
  });
}

$("alerts").addEventListener("click", async (ev) => {
  const btn = ev.target.closest("button.ack");
  if (!btn) return;
  await fetch(`/v1/monitor/alerts/${encodeURIComponent(btn.dataset.id)}/ack`,
              { method: "POST", headers: { authorization: "Bearer " + token } });
  btn.replaceWith("acknowledged");
});

$("signin-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const res = await fetch("/v1/demo/token", { method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ user: $("user").value, role: "operator" }) });
  const t = await res.json();
  if (!res.ok) { alert(t.detail); return; }
  token = t.token;
  $("who").textContent = "operator " + t.user;
  $("signin").hidden = true; $("dash").hidden = false;
  // EventSource cannot send headers: the token goes in the query (a short-lived demo token).
  const src = new EventSource(`/v1/monitor/stream?window=${encodeURIComponent($("window").value)}&token=${encodeURIComponent(token)}`);
  src.addEventListener("snapshot", (e) => render(JSON.parse(e.data)));
});
