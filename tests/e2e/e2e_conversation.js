// A 50-message conversation run by the chat page's code (AgentE2E) against a service that
// requires end-to-end encryption, over REST or the WebSocket: three messages delivered out
// of order in every ten, a replayed and a tampered message (refused by the service), a
// tampered and a replayed answer (refused by the page), plain text (refused), then a forced
// rotation of the idle ratchet key. Used by tests/e2e/test_browser_e2e.py (page.evaluate).
async ([transport, user, marker, rotation]) => {
  const E = AgentE2E;
  async function call(method, path, body, token) {
    const headers = { "content-type": "application/json" };
    if (token) headers.authorization = "Bearer " + token;
    const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return [res.status, res.status === 204 ? null : await res.json()];
  }
  const [, tok] = await call("POST", "/v1/demo/token", { user, role: "customer" });
  const token = tok.token;
  const [, session] = await call("POST", "/v1/sessions", undefined, token);
  const sid = session.id;
  const [, bundle] = await call("GET", "/v1/e2e/bundle", undefined, token);
  const { handshake, channel } = await E.connect(bundle, rotation, null);
  const [hs] = await call("POST", `/v1/sessions/${sid}/e2e`,
    { protocol: "double_ratchet", key_rotation: rotation + "s", handshake }, token);
  if (hs !== 200) throw new Error("handshake: " + hs);

  // One frame out, its answer back: {status, body} for either transport.
  let send;
  if (transport === "rest") {
    send = async (frame) => {
      const [status, body] = await call("POST", `/v1/sessions/${sid}/messages`, frame, token);
      return { status, body };
    };
  } else {
    const ws = new WebSocket(`ws://${location.host}/v1/sessions/${sid}/ws`, ["bearer", token]);
    const waiting = [];
    ws.onmessage = (ev) => waiting.shift()(JSON.parse(ev.data));
    await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
    send = (frame) => new Promise((resolve) => {
      waiting.push((data) => resolve(data.type === "turn" ? { status: 200, body: data }
                                                          : { status: data.problem.status, body: data.problem }));
      ws.send(JSON.stringify(frame));
    });
  }
  const problem = (r) => r.status + " " + String(r.body.type).split(":").pop();
  const flip = (wire, i) => { const raw = E.unb64(wire); raw[i] ^= 1; return E.b64(raw); };
  const turnOf = async (r) => {
    if (r.status !== 200) throw new Error("refused: " + problem(r) + " " + r.body.detail);
    const turn = JSON.parse(await channel.decrypt(r.body.e2e));
    if (turn.session_id !== sid || turn.seq !== r.body.seq) throw new Error("answer of another turn");
    return turn;
  };

  const seqs = [], refused = [];
  let sent = 0;
  while (sent < 50) {
    if (sent % 10 === 5) {
      const wires = [];
      for (let i = 0; i < 3; i++) wires.push(await channel.encrypt(`${marker} card blocked ${sent + i}`));
      for (const w of [wires[2], wires[0], wires[1]]) seqs.push((await turnOf(await send({ e2e: w }))).seq);
      sent += 3;
      continue;
    }
    const r = await send({ e2e: await channel.encrypt(`${marker} my card is blocked, message ${sent}`) });
    if (sent === 20) {  // the answer tampered with, then replayed: the page refuses both
      for (const i of [0, 3, 50]) {
        try { await channel.decrypt(flip(r.body.e2e, i)); refused.push("accepted"); }
        catch (e) { refused.push(e.code); }
      }
    }
    const turn = await turnOf(r);
    if (sent === 20) {
      try { await channel.decrypt(r.body.e2e); refused.push("accepted"); } catch (e) { refused.push(e.code); }
    }
    if (!turn.redacted_input.includes(marker)) throw new Error("the agent did not read the text");
    seqs.push(turn.seq);
    sent += 1;
  }

  // A replay, then tampered copies: refused by the service, the chain goes on.
  const wire = await channel.encrypt(`${marker} transfer 10 EUR`);
  seqs.push((await turnOf(await send({ e2e: wire }))).seq);
  refused.push(problem(await send({ e2e: wire })));
  const next = await channel.encrypt(`${marker} transfer 20 EUR`);
  for (const i of [0, 5, 40, E.unb64(next).length - 1]) refused.push(problem(await send({ e2e: flip(next, i) })));
  seqs.push((await turnOf(await send({ e2e: next }))).seq);
  refused.push(problem(await send({ text: `${marker} in plain text` })));

  // Forced rotation: the idle ratchet key is replaced once the period is over.
  const before = E.b64(channel.state.dhsPub);
  await new Promise((resolve) => setTimeout(resolve, rotation * 1000 + 200));
  const rotated = await channel.encrypt(`${marker} still there?`);
  const changed = E.b64(E.parseHeader(E.unb64(rotated))[0]) !== before;
  seqs.push((await turnOf(await send({ e2e: rotated }))).seq);
  return { sid, seqs, refused, changed };
}
