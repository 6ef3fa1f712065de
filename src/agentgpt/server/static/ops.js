"use strict";
// The operator dashboard: the monitor snapshot live over SSE, a chart, alerts with acknowledge.
const $ = (id) => document.getElementById(id);
let token = null;
const history = [];

const esc = (s) => String(s).replace(/[<>&"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" }[c]));
const ms = (v) => (v == null ? "–" : Math.round(v) + "ms");

function render(snap) {
  $("active").textContent = snap.active_sessions.toLocaleString();
  $("avg").textContent = ms(snap.latency.avg_ms);
  $("pct").textContent = `${ms(snap.latency.p95_ms)} / ${ms(snap.latency.p99_ms)}`;
  $("rate").textContent = snap.turns_per_s.toFixed(1);
  $("win").textContent = snap.window;
  $("updated").textContent = new Date().toLocaleTimeString();
  $("topics").innerHTML = snap.topics.map((t, i) =>
    `<tr><td>${i + 1}.</td><td>${esc(t.topic)}</td><td>${t.share.toFixed(0)}%</td>` +
    `<td style="width:50%"><div class="bar" style="width:${Math.min(100, t.share)}%"></div></td>` +
    `<td>${t.trend ? esc(t.trend) : ""}</td></tr>`).join("") || "<tr><td>no turns in this window</td></tr>";
  $("alerts").innerHTML = snap.alerts.map((a) =>
    `<tr><td class="sev-${esc(a.severity)}">${esc(a.severity.toUpperCase())}</td><td>${esc(a.message)}</td>` +
    `<td>${new Date(a.at * 1000).toLocaleTimeString()}</td><td>${a.acknowledged ? "acknowledged" :
      `<button class="secondary ack" data-id="${esc(a.id)}">Acknowledge</button>`}</td></tr>`).join("") ||
    "<tr><td>no open alerts</td></tr>";
  history.push({ rate: snap.turns_per_s, lat: snap.latency.avg_ms || 0 });
  if (history.length > 120) history.shift();
  draw();
}

function draw() {
  const c = $("chart"), g = c.getContext("2d");
  g.clearRect(0, 0, c.width, c.height);
  const series = [["rate", "#38bdf8"], ["lat", "#f59e0b"]];
  for (const [key, color] of series) {
    const max = Math.max(1, ...history.map((h) => h[key]));
    g.strokeStyle = color; g.lineWidth = 2; g.beginPath();
    history.forEach((h, i) => {
      const x = (i / 119) * c.width, y = c.height - 8 - (h[key] / max) * (c.height - 16);
      if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
    });
    g.stroke();
  }
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
