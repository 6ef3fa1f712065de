"use strict";
// The customer chat: demo sign-in, create a session, talk over the WebSocket (end to end
// encrypted when the service publishes a prekey bundle).
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
  if (!res.ok) {
    const err = new Error(body && body.detail ? body.detail : res.statusText);
    err.type = body && body.type ? String(body.type) : "";
    throw err;
  }
  return body;
}

// End-to-end encryption (issue 17, e2ee.js): the page runs X3DH against the service's
// prekey bundle and every message and answer is a Double Ratchet message, unless the
// service publishes no bundle (sessions.end_to_end: off). The service's signing key is
// pinned in this origin's storage on first use: a later bundle signed by another key
// is refused (someone rewriting the bundle in transit).
const PIN = "agentgpt.e2e.signing_key";
let channel = null;

async function startEndToEnd() {
  let bundle;
  try {
    bundle = await api("/v1/e2e/bundle");
  } catch (e) {
    if (e.type.endsWith(":e2e-unknown-protocol")) return false;  // off on this service
    throw e;
  }
  const pinned = localStorage.getItem(PIN);
  const started = await AgentE2E.connect(bundle, 86400, pinned);
  await api(`/v1/sessions/${sessionId}/e2e`, { method: "POST",
    body: JSON.stringify({ protocol: "double_ratchet", key_rotation: "daily", handshake: started.handshake }) });
  if (pinned === null) localStorage.setItem(PIN, bundle.signing_key);
  channel = started.channel;
  return true;
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
  ws.onmessage = async (ev) => {
    const data = JSON.parse(ev.data);
    if (data.type === "renewed") return;
    try {
      if (data.type !== "turn") $("error").textContent = data.problem.detail;
      else onTurn(channel ? JSON.parse(await channel.decrypt(data.e2e)) : data);
    } catch (e) { $("error").textContent = "an answer could not be decrypted: " + e.message; }
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
    const e2e = await startEndToEnd();
    $("e2e").textContent = e2e ? "end-to-end encrypted" : "not end-to-end encrypted (off on this service)";
    $("e2e").className = e2e ? "e2e on" : "e2e off";
    $("signin").hidden = true; $("chat").hidden = false;
    await connect();
    $("text").focus();
  } catch (e) { $("signin-error").textContent = e.message; }
});

$("send-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const text = $("text").value.trim();
  if (!text || !ws) return;
  $("error").textContent = "";
  add("me", text);
  $("send").disabled = true;
  $("text").value = "";
  try {
    ws.send(JSON.stringify(channel ? { e2e: await channel.encrypt(text) } : { text }));
  } catch (e) { $("error").textContent = "the message could not be encrypted: " + e.message; $("send").disabled = false; }
});

$("otp-fail").addEventListener("click", async () => {
  try {
    const r = await api(`/v1/sessions/${sessionId}/auth-events`, { method: "POST", body: JSON.stringify({ success: false, method: "otp" }) });
    if (r.flagged) banner("verify", "Too many failed verification attempts: an advisor will verify your identity.");
  } catch (e) { $("error").textContent = e.message; }
});
