"use strict";
// End-to-end encryption of the chat (issue 17): X3DH and the Double Ratchet on WebCrypto.
// Byte for byte the protocol of agentgpt.security.ratchet (primitives.py, x3dh.py,
// double_ratchet.py): same curve (X25519), signature (Ed25519), KDFs (HKDF-SHA256 with
// the info strings below, HMAC-SHA256 chain), AEAD (AES-256-GCM, key and nonce from
// the message key), header (version | ratchet key | PN | N) in the associated data.
// Written on WebCrypto rather than taken from npm: the Signal libraries there use XEdDSA
// and their own wire format, and WebCrypto has every primitive this protocol needs.
// Private keys are non-extractable CryptoKeys: page scripts can use them, never read them.
(function (global) {
  const subtle = global.crypto.subtle;
  const utf8 = new TextEncoder();
  const KEY_BYTES = 32;
  const X3DH_INFO = utf8.encode("agentgpt-x3dh-v1");
  const ROOT_INFO = utf8.encode("agentgpt-dr-root-v1");
  const MESSAGE_INFO = utf8.encode("agentgpt-dr-message-v1");
  const SIGNATURE_CONTEXT = utf8.encode("agentgpt-spk-v1");
  const ZERO_SALT = new Uint8Array(KEY_BYTES);
  const VERSION = 1;
  const HEADER_BYTES = 1 + KEY_BYTES + 4 + 4;
  const MAX_SKIP = 100, MAX_SKIPPED = 200, SKIPPED_TTL = 24 * 3600, OLD_CHAINS = 8;

  // code: the service's problem type for the same failure (e2e-broken-message ...).
  class E2EError extends Error {
    constructor(code, message) { super(message); this.name = "E2EError"; this.code = code; }
  }
  const broken = (message) => new E2EError("e2e-broken-message", message);

  function concat(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  }
  function equal(a, b) {
    if (!a || !b || a.length !== b.length) return false;
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
    return diff === 0;
  }
  const u64 = (n) => { const out = new Uint8Array(8); new DataView(out.buffer).setBigUint64(0, BigInt(n)); return out; };
  const u32 = (n) => { const out = new Uint8Array(4); new DataView(out.buffer).setUint32(0, n); return out; };
  const readU32 = (bytes, at) => new DataView(bytes.buffer, bytes.byteOffset).getUint32(at);

  // Unpadded base64url, as x3dh.b64 writes it.
  function b64(bytes) {
    let s = "";
    for (const b of bytes) s += String.fromCharCode(b);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function unb64(text, what = "a key") {
    try {
      const s = atob(String(text).replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
      return Uint8Array.from(s, (c) => c.charCodeAt(0));
    } catch (e) { throw broken(`${what} is not unpadded base64url`); }
  }

  // --- primitives (primitives.py) ------------------------------------------------------
  async function hkdf(ikm, salt, info, length) {
    const key = await subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
    const bits = await subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt, info }, key, length * 8);
    return new Uint8Array(bits);
  }
  async function kdfRoot(rootKey, dhOut) {
    const out = await hkdf(dhOut, rootKey, ROOT_INFO, 2 * KEY_BYTES);
    return [out.slice(0, KEY_BYTES), out.slice(KEY_BYTES)];
  }
  async function kdfChain(chainKey) {
    const key = await subtle.importKey("raw", chainKey, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    const [next, message] = await Promise.all([
      subtle.sign("HMAC", key, new Uint8Array([2])), subtle.sign("HMAC", key, new Uint8Array([1]))]);
    return [new Uint8Array(next), new Uint8Array(message)];
  }
  async function newPair() {
    const pair = await subtle.generateKey({ name: "X25519" }, false, ["deriveBits"]);
    return { priv: pair.privateKey, pub: new Uint8Array(await subtle.exportKey("raw", pair.publicKey)) };
  }
  async function dh(priv, pub) {
    if (pub.length !== KEY_BYTES) throw broken("a public key in the message is not 32 bytes");
    try {
      const key = await subtle.importKey("raw", pub, { name: "X25519" }, true, []);
      return new Uint8Array(await subtle.deriveBits({ name: "X25519", public: key }, priv, 256));
    } catch (e) {  // the all-zero output of a low-order point
      throw broken("a public key in the message is not a valid X25519 key");
    }
  }
  async function messageCipher(messageKey, usage) {
    // Every message key is used once, so a nonce derived with the key is never reused.
    const out = await hkdf(messageKey, ZERO_SALT, MESSAGE_INFO, KEY_BYTES + 12);
    const key = await subtle.importKey("raw", out.slice(0, KEY_BYTES), "AES-GCM", false, [usage]);
    return [key, out.slice(KEY_BYTES)];
  }
  async function seal(messageKey, plaintext, additionalData) {
    const [key, iv] = await messageCipher(messageKey, "encrypt");
    return new Uint8Array(await subtle.encrypt({ name: "AES-GCM", iv, additionalData }, key, plaintext));
  }
  async function open(messageKey, ciphertext, additionalData) {
    const [key, iv] = await messageCipher(messageKey, "decrypt");
    try {
      return new Uint8Array(await subtle.decrypt({ name: "AES-GCM", iv, additionalData }, key, ciphertext));
    } catch (e) {
      throw broken("the end-to-end message failed authentication (altered in transit, or not " +
                   "encrypted for this session); it was not processed");
    }
  }
  const x3dhSecret = (outputs) =>
    hkdf(concat(new Uint8Array(KEY_BYTES).fill(0xff), ...outputs), ZERO_SALT, X3DH_INFO, KEY_BYTES);

  // --- X3DH (x3dh.py) --------------------------------------------------------------------
  function signedPayload(identityKey, prekeyId, prekey, expires) {
    return concat(SIGNATURE_CONTEXT, identityKey, u32(prekeyId), prekey, u64(Math.trunc(expires)));
  }

  // pinned: the signing key (base64url) the bundle must carry, or null to accept any.
  async function verifyBundle(bundle, pinned = null) {
    if (pinned !== null && bundle.signing_key !== pinned) {
      throw new E2EError("e2e-identity-changed",
        "the service's identity key is not the one pinned for it (" + pinned.slice(0, 12) +
        "...): someone may be in the middle; if the bank announced a new key, clear this " +
        "site's data and sign in again");
    }
    const spk = bundle.signed_prekey;
    const payload = signedPayload(unb64(bundle.identity_key), spk.id, unb64(spk.key), spk.expires);
    let ok = false;
    try {
      const key = await subtle.importKey("raw", unb64(bundle.signing_key), { name: "Ed25519" }, false, ["verify"]);
      ok = await subtle.verify({ name: "Ed25519" }, key, unb64(spk.signature), payload);
    } catch (e) { ok = false; }
    if (!ok) throw broken("the prekey bundle's signature does not verify");
  }

  // The initiator's X3DH: {handshake (to POST), state (this side's ratchet)}.
  async function initiate(bundle, rotation, pinned = null) {
    await verifyBundle(bundle, pinned);
    const ikB = unb64(bundle.identity_key), spkB = unb64(bundle.signed_prekey.key);
    const ikA = await newPair(), ekA = await newPair();
    const outputs = [await dh(ikA.priv, spkB), await dh(ekA.priv, ikB), await dh(ekA.priv, spkB)];
    const opk = bundle.one_time_prekey || null;
    if (opk !== null) outputs.push(await dh(ekA.priv, unb64(opk.key)));
    const shared = await x3dhSecret(outputs);
    const state = await initiator(shared, concat(ikA.pub, ikB), spkB, rotation);
    const handshake = {
      identity_key: b64(ikA.pub), ephemeral_key: b64(ekA.pub),
      signed_prekey_id: bundle.signed_prekey.id, one_time_prekey_id: opk === null ? null : opk.id,
    };
    return { handshake, state };
  }

  // --- the Double Ratchet (double_ratchet.py) --------------------------------------------
  // A state is a plain object; byte arrays in it are never changed in place, so a copy
  // needs only its lists copied. Every operation works on a copy and returns it: the
  // caller adopts it on success only (a refused message leaves the state as it was).
  const copy = (s) => ({ ...s, skipped: s.skipped.slice(), oldDhr: s.oldDhr.slice() });
  const now_ = () => Date.now() / 1000;

  async function initiator(shared, ad, peerRatchetKey, rotation) {
    const pair = await newPair();
    const [rk, cks] = await kdfRoot(shared, await dh(pair.priv, peerRatchetKey));
    return { ad, rk, dhs: pair.priv, dhsPub: pair.pub, dhsAt: now_(), rotation,
             dhr: peerRatchetKey, cks, ckr: null, ns: 0, nr: 0, pn: 0, rkPrev: null,
             skipped: [], oldDhr: [] };
  }

  const header = (dhPublic, pn, n) => concat(new Uint8Array([VERSION]), dhPublic, u32(pn), u32(n));
  function parseHeader(message) {
    if (message.length < HEADER_BYTES + 16 || message[0] !== VERSION) {
      throw broken("the end-to-end message is truncated or of an unknown version");
    }
    return [message.slice(1, 1 + KEY_BYTES), readU32(message, 1 + KEY_BYTES), readU32(message, 5 + KEY_BYTES)];
  }

  async function encrypt(state, plaintext, now = now_()) {
    const s = copy(state);
    if (s.cks === null) await sendStep(s, now);
    else if (s.rkPrev !== null && s.ns === 0 && now - s.dhsAt >= s.rotation) {
      s.rk = s.rkPrev;  // the unused key is dropped: the peer never saw it
      await sendStep(s, now);
    }
    s.rkPrev = null;
    const [cks, messageKey] = await kdfChain(s.cks);
    s.cks = cks;
    const head = header(s.dhsPub, s.pn, s.ns);
    s.ns += 1;
    return [s, concat(head, await seal(messageKey, plaintext, concat(s.ad, head)))];
  }

  async function decrypt(state, message, now = now_(), maxSkip = MAX_SKIP) {
    const [dhPublic, pn, n] = parseHeader(message);
    const head = message.slice(0, HEADER_BYTES), body = message.slice(HEADER_BYTES);
    const s = copy(state);
    s.skipped = s.skipped.filter((k) => now - k.at < SKIPPED_TTL);
    const found = s.skipped.findIndex((k) => k.n === n && equal(k.dh, dhPublic));
    if (found >= 0) {
      const plaintext = await open(s.skipped[found].key, body, concat(s.ad, head));
      s.skipped.splice(found, 1);
      return [s, plaintext];
    }
    if (equal(dhPublic, s.dhr) || s.oldDhr.some((k) => equal(k, dhPublic))) {
      if (!equal(dhPublic, s.dhr) || n < s.nr) {
        throw new E2EError("e2e-replayed-message",
          "this end-to-end message was already received (a replay), or arrived after its " +
          "key expired; it was not processed");
      }
    } else {
      await skip(s, pn, now, maxSkip);
      await receiveStep(s, dhPublic, now);
    }
    await skip(s, n, now, maxSkip);
    const [ckr, messageKey] = await kdfChain(s.ckr);
    s.ckr = ckr;
    s.nr += 1;
    return [s, await open(messageKey, body, concat(s.ad, head))];
  }

  async function skip(s, until, now, maxSkip) {
    if (s.ckr === null) return;
    if (until - s.nr > maxSkip) {
      throw new E2EError("e2e-too-many-skipped",
        `the end-to-end message skips ${until - s.nr} messages (at most ${maxSkip} may ` +
        "arrive out of order); it was not processed");
    }
    while (s.nr < until) {
      const [ckr, key] = await kdfChain(s.ckr);
      s.ckr = ckr;
      s.skipped.push({ dh: s.dhr, n: s.nr, key, at: now });
      s.nr += 1;
    }
    s.skipped = s.skipped.slice(-MAX_SKIPPED);
  }

  async function receiveStep(s, dhPublic, now) {
    if (s.dhr !== null) s.oldDhr = [...s.oldDhr, s.dhr].slice(-OLD_CHAINS);
    s.dhr = dhPublic; s.nr = 0;
    [s.rk, s.ckr] = await kdfRoot(s.rk, await dh(s.dhs, dhPublic));
    await sendStep(s, now);
  }

  async function sendStep(s, now) {
    if (s.rkPrev === null) { s.pn = s.ns; s.ns = 0; }
    s.rkPrev = s.rk;
    const pair = await newPair();
    s.dhs = pair.priv; s.dhsPub = pair.pub; s.dhsAt = now;
    [s.rk, s.cks] = await kdfRoot(s.rk, await dh(s.dhs, s.dhr));
  }

  // One session's end: operations run one at a time (each awaits WebCrypto), so two
  // sends in flight never fork the chain; a failed one leaves the state as it was.
  class Channel {
    constructor(state) { this.state = state; this.queue = Promise.resolve(); }
    run(op) {
      const result = this.queue.then(async () => {
        const [state, out] = await op(this.state);
        this.state = state;
        return out;
      });
      this.queue = result.catch(() => {});
      return result;
    }
    // text -> the wire form ({"e2e": ...}) of a message
    encrypt(text) { return this.run((s) => encrypt(s, utf8.encode(text))).then(b64); }
    // wire form -> the decrypted text (the answer's TurnOut JSON)
    decrypt(wire) {
      return this.run(async (s) => decrypt(s, unb64(wire, "the answer")))
        .then((bytes) => new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    }
  }

  // X3DH against a bundle, then a Channel: {handshake, channel}.
  async function connect(bundle, rotation, pinned = null) {
    const { handshake, state } = await initiate(bundle, rotation, pinned);
    return { handshake, channel: new Channel(state) };
  }

  global.AgentE2E = Object.freeze({
    E2EError, Channel, connect, initiate, encrypt, decrypt, verifyBundle, parseHeader,
    b64, unb64, HEADER_BYTES, MAX_SKIP,
  });
})(globalThis);
