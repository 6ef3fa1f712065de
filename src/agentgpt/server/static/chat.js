"use strict";
// The customer chat: demo sign-in, create a session, talk over the WebSocket.
const $ = (id) => document.getElementById(id);
let token = null, sessionId = null, ws = null;
// Customers see replies only; operators debugging the agent open the page with ?debug=1
// to see what it understood (intent, topic, sentiment) under each reply.
const DEBUG = new URLSearchParams(location.search).get("debug") === "1";

async function api(path, opts = {}) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = "Bearer " + token;
  const res = await fetch(path, { ...opts, headers });
  const body = res.status === 204 ? null : await res.json();
  if (!res.ok) throw new Error(body && body.detail ? body.detail : res.statusText);
  return body;
}

function add(kind, text, meta) {
  const div = document.createElement("div");
  div.className = "msg " + kind;
  div.textContent = text;
  if (meta) { const m = document.createElement("div"); m.className = "meta"; m.innerHTML = meta; div.appendChild(m); }
  $("log").appendChild(div);
  $("log").scrollTop = $("log").scrollHeight;
}

function banner(kind, text) {
  const div = document.createElement("div");
  div.className = "banner " + kind; div.textContent = text;
  $("banners").replaceChildren(div);
}

const esc = (s) => String(s).replace(/[<>&"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" }[c]));
function chip(label, value) { return `<span class="chip">${label}: ${esc(value)}</span>`; }

function onTurn(turn) {
  const meta = DEBUG ? [chip("intent", turn.intent || "?"), chip("topic", turn.topic || "?"),
                        chip("sentiment", turn.sentiment.label)].join("") : null;
  add("bot", turn.reply, meta);
  if (turn.actions.includes("escalate_to_human")) banner("escalate", "A human advisor is joining this conversation.");
  else if (turn.actions.includes("require_verification")) banner("verify", "Please verify your identity to continue (one-time passcode).");
}

function connect() {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  ws = new WebSocket(`${proto}://${location.host}/v1/sessions/${sessionId}/ws`, ["bearer", token]);
  ws.onmessage = (ev) => {
    const data = JSON.parse(ev.data);
    if (data.type === "renewed") return;
    if (data.type === "turn") onTurn(data); else $("error").textContent = data.problem.detail;
    $("send").disabled = false;
  };
  // 4401: the token expired or was refused; 4403: it may not send messages.
  ws.onclose = (ev) => {
    $("error").textContent = ev.code === 4401 ? "your sign-in expired: reload the page and sign in again"
      : ev.code === 4403 ? "this sign-in may not send messages" : "connection closed";
    $("send").disabled = true;
  };
  return new Promise((resolve) => { ws.onopen = resolve; });
}

// The socket closes when its token expires: fetch a new one a minute before and hand it
// over on the open socket.
function scheduleRenewal(expiresIn) {
  setTimeout(async () => {
    try {
      const t = await api("/v1/demo/token", { method: "POST", body: JSON.stringify({ user: $("user").value, role: "customer" }) });
      token = t.token;
      if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "renew", token }));
      scheduleRenewal(t.expires_in);
    } catch (e) { $("error").textContent = "could not renew the sign-in: " + e.message; }
  }, Math.max(5, expiresIn - 60) * 1000);
}

$("signin-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  try {
    const t = await api("/v1/demo/token", { method: "POST", body: JSON.stringify({ user: $("user").value, role: "customer" }) });
    token = t.token;
    scheduleRenewal(t.expires_in);
    const s = await api("/v1/sessions", { method: "POST" });
    sessionId = s.id;
    $("who").textContent = "signed in as " + t.user;
    $("sid").textContent = sessionId;
    $("signin").hidden = true; $("chat").hidden = false;
    await connect();
    $("text").focus();
  } catch (e) { alert(e.message); }
});

$("send-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const text = $("text").value.trim();
  if (!text || !ws) return;
  $("error").textContent = "";
  add("me", text);
  $("send").disabled = true;
  ws.send(JSON.stringify({ text }));
  $("text").value = "";
});

$("otp-fail").addEventListener("click", async () => {
  try {
    const r = await api(`/v1/sessions/${sessionId}/auth-events`, { method: "POST", body: JSON.stringify({ success: false, method: "otp" }) });
    if (r.flagged) banner("verify", "Too many failed verification attempts: an advisor will verify your identity.");
  } catch (e) { $("error").textContent = e.message; }
});
