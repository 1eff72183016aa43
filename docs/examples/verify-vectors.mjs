// verify-vectors.mjs — an independent verifier of seatledger's formats,
// written from docs/formats.md alone (not from the ledger's Go code), with
// Node.js's built-in crypto only (Node >= 18).
//
//   node docs/examples/verify-vectors.mjs testdata/vectors
//
// It checks every vector file in the folder and prints one line per check
// that failed, then "N passed, N failed"; it exits 1 if any failed.

import { createHash, createHmac, createPublicKey, timingSafeEqual, verify } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.argv[2] ?? "testdata/vectors";
const load = (name) => JSON.parse(readFileSync(join(dir, name), "utf8"));
let passed = 0, failed = 0;
function check(ok, what) {
  if (ok) passed++;
  else { failed++; console.log("FAIL " + what); }
}

// --- Primitives ---------------------------------------------------------

const sha256 = (...parts) => { const h = createHash("sha256"); for (const p of parts) h.update(p); return h.digest(); };
const u32be = (n) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; };
const u64be = (n) => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt.asUintN(64, BigInt(n))); return b; };
const ed25519Key = (raw) => createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: raw.toString("base64url") }, format: "jwk" });
const ed25519Verify = (pub, msg, sig) => { try { return verify(null, msg, ed25519Key(pub), sig); } catch { return false; } };

// Strict decoders: the formats name one encoding each, so anything else
// is refused rather than guessed.
function base64Strict(s) {
  if (typeof s !== "string" || s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) return null;
  const b = Buffer.from(s, "base64");
  return b.toString("base64") === s ? b : null;
}
function base64urlStrict(s) {
  if (typeof s !== "string" || !/^[A-Za-z0-9_-]*$/.test(s) || s.length % 4 === 1) return null;
  const b = Buffer.from(s, "base64url");
  return b.toString("base64url") === s ? b : null;
}

// RFC 3339 UTC time -> nanoseconds since the Unix epoch (BigInt).
function unixNanos(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$/.exec(s);
  if (!m) throw new Error("not an RFC 3339 UTC time: " + s);
  const secs = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) / 1000;
  return BigInt(secs) * 1000000000n + BigInt((m[7] ?? "").padEnd(9, "0"));
}
const unixSeconds = (s) => Number(unixNanos(s) / 1000000000n);

// --- Offline files (docs/formats.md, "Offline request and answer files") --

const label = (kind) => "SEATLEDGER " + kind.toUpperCase().replaceAll("-", " ") + " FILE";

// parseOffline returns {headers: [[name, value]...], content} or {error}.
function parseOffline(text, wantKind) {
  if (Buffer.byteLength(text) > 64 * 1024) return { error: "malformed" };
  const lines = text.trim().split("\n").map((l) => l.replace(/\r$/, ""));
  if (lines.length < 3) return { error: "malformed" };
  const begin = /^-----BEGIN (.+)-----$/.exec(lines[0]);
  if (!begin || lines[lines.length - 1] !== "-----END " + begin[1] + "-----") return { error: "malformed" };
  if (begin[1] !== label(wantKind)) return { error: "kind" };
  const headers = [];
  let i = 1;
  for (; i < lines.length - 1 && lines[i] !== ""; i++) {
    const at = lines[i].indexOf(": ");
    if (at <= 0) return { error: "malformed" };
    const name = lines[i].slice(0, at);
    if (headers.some(([n]) => n === name)) return { error: "malformed" };
    headers.push([name, lines[i].slice(at + 2)]);
  }
  const content = base64Strict(lines.slice(i, -1).map((l) => l.trim()).join(""));
  if (content === null) return { error: "malformed" };
  const h = Object.fromEntries(headers);
  if (h.Kind !== wantKind) return { error: "kind" };
  const time = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
  if (!time.test(h.Issued ?? "") || (h.Expires !== undefined && !time.test(h.Expires))) return { error: "malformed" };
  if (!h.Nonce || !h.Server) return { error: "malformed" };
  return { headers, h, content };
}

function offlineSignedBytes(kind, headers, content) {
  const parts = [];
  const put = (x) => { const b = Buffer.from(x); parts.push(u32be(b.length), b); };
  put("seatledger offline file v1");
  put(kind);
  for (const [name, value] of headers) if (name !== "Signature") { put(name); put(value); }
  put(content);
  return Buffer.concat(parts);
}

// verifyOffline returns "" or the reason: malformed, kind, signature, expired, future.
function verifyOffline(text, wantKind, pub, now) {
  const f = parseOffline(text, wantKind);
  if (f.error) return f.error;
  const sig = base64urlStrict(f.h.Signature ?? "");
  if (sig === null || sig.length !== 64) return "malformed";
  if (!ed25519Verify(pub, offlineSignedBytes(wantKind, f.headers, f.content), sig)) return "signature";
  if (unixNanos(f.h.Issued) > unixNanos(now) + 5n * 60n * 1000000000n) return "future";
  if (f.h.Expires !== undefined && !(unixNanos(now) < unixNanos(f.h.Expires))) return "expired";
  return "";
}

const offlineProof = (credential, kind, nonce, server, installationID) =>
  createHmac("sha256", credential).update(`seatledger offline proof v1\n${kind}\n${nonce}\n${server}\n${installationID}`).digest("base64url");

{
  const v = load("offline.json");
  const pub = base64Strict(v.key.public_key_base64);
  check(sha256(pub).subarray(0, 8).toString("hex") === v.key.key_id, "offline: key_id is the SHA-256 prefix of the public key");
  for (const a of v.answers) {
    const f = parseOffline(a.file, a.kind);
    check(!f.error, `offline answer ${a.name}: parses`);
    if (f.error) continue;
    check(f.content.toString("utf8") === a.content, `offline answer ${a.name}: content`);
    check(offlineSignedBytes(a.kind, f.headers, f.content).toString("hex") === a.signed_bytes_hex, `offline answer ${a.name}: signed bytes`);
    check(f.h.Signer === v.key.key_id && f.h.Signature === a.signature, `offline answer ${a.name}: Signer and Signature headers`);
    check(verifyOffline(a.file, a.kind, pub, a.issued) === "", `offline answer ${a.name}: verifies when issued`);
    const c = JSON.parse(f.content);
    check(f.h.Nonce === a.nonce && f.h.Server === a.server && typeof c.installation_id === "string" && typeof c.license?.seats === "number",
      `offline answer ${a.name}: nonce, server and content`);
  }
  for (const c of v.verify) {
    const got = verifyOffline(c.file, c.kind, pub, c.now);
    check(got === c.error, `offline verify "${c.name}": got "${got}", want "${c.error}"`);
  }
  for (const r of v.requests) {
    const f = parseOffline(r.file, r.kind);
    check(!f.error && f.content.toString("utf8") === r.content && f.h.Nonce === r.nonce && f.h.Server === r.server && f.h.Signature === undefined,
      `offline request ${r.name}: parses, unsigned`);
    if (r.proof) {
      const want = offlineProof(r.proof.credential, r.kind, r.nonce, r.server, r.proof.installation_id);
      check(want === r.proof.expected && JSON.parse(r.content).proof === want, `offline request ${r.name}: proof`);
    }
  }
}

// --- Installation credentials --------------------------------------------

{
  const v = load("credentials.json");
  const re = new RegExp(v.pattern);
  const offline = load("offline.json");
  const act = JSON.parse(offline.answers.find((a) => a.kind === "activation").content);
  check(re.test(act.credential) && act.credential.length <= v.max_length, "credential: the activation file's credential has the documented shape");
  // A client cannot check a credential (only the ledger can); the refused
  // examples that break the pattern are refused by their shape alone.
  check(v.refused.filter((r) => !re.test(r.credential)).length >= 4, "credential: malformed examples break the pattern");
}

// --- Event chain hash -----------------------------------------------------

function chainInput(prev, e) {
  const parts = [];
  const bytes = (x) => { const b = Buffer.from(x); parts.push(u64be(b.length), b); };
  const num = (n) => parts.push(u64be(n));
  const time = (s) => parts.push(u64be(s ? unixNanos(s) : 0n));
  bytes("seatledger/event/v1");
  bytes(prev);
  bytes(e.stream_id); num(e.version); bytes(e.event_id); bytes(e.type); num(e.schema_version);
  bytes(e.data);
  bytes(e.actor_kind); bytes(e.actor_id); bytes(e.command ?? ""); bytes(e.correlation_id ?? ""); bytes(e.causation_id ?? "");
  time(e.effective_at); time(e.recorded_at);
  return Buffer.concat(parts);
}

// verifyChain returns 0 if the stream verifies, else the version at which it breaks.
function verifyChain(events) {
  let prev = Buffer.alloc(0), version = 0;
  for (const e of events) {
    if (e.version !== version + 1) return e.version;
    if (sha256(chainInput(prev, e)).toString("hex") !== e.hash_hex) return e.version;
    prev = Buffer.from(e.hash_hex, "hex"); version = e.version;
  }
  return 0;
}

{
  const v = load("event-chain.json");
  let prev = Buffer.alloc(0);
  for (const e of v.events) {
    const input = chainInput(prev, e);
    check(input.toString("hex") === e.chain_input_hex, `chain v${e.version}: input bytes`);
    check(sha256(input).toString("hex") === e.hash_hex, `chain v${e.version}: hash`);
    prev = Buffer.from(e.hash_hex, "hex");
  }
  check(verifyChain(v.events) === 0, "chain: the stream verifies");
  for (const t of v.tampered) check(verifyChain(t.events) === t.broken_version, `chain tampered "${t.name}": breaks at ${t.broken_version}`);
}

// --- Audit Merkle tree, checkpoints and proofs ---------------------------

const leafData = (position, chainHash) => Buffer.concat([u64be(position), chainHash]);
const leafHash = (data) => sha256(Buffer.from([0]), data);
const nodeHash = (l, r) => sha256(Buffer.from([1]), l, r);

function merkleRoot(leaves) { // RFC 9162 §2.1.1 MTH over leaf hashes
  if (leaves.length === 0) return sha256(Buffer.alloc(0));
  if (leaves.length === 1) return leaves[0];
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(merkleRoot(leaves.slice(0, k)), merkleRoot(leaves.slice(k)));
}

function verifyInclusion(index, size, leaf, path, root) { // RFC 9162 §2.1.3.2
  if (index >= size) return false;
  let fn = BigInt(index), sn = BigInt(size) - 1n, r = leaf;
  for (const p of path) {
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      r = nodeHash(p, r);
      if ((fn & 1n) === 0n) while (!((fn & 1n) === 1n || fn === 0n)) { fn >>= 1n; sn >>= 1n; }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1n; sn >>= 1n;
  }
  return sn === 0n && r.equals(root);
}

function verifyConsistency(first, second, path, firstRoot, secondRoot) { // RFC 9162 §2.1.4.2
  if (first > second) return false;
  if (first === second) return path.length === 0 && firstRoot.equals(secondRoot);
  if (first === 0) return path.length === 0;
  if (path.length === 0) return false;
  if ((first & (first - 1)) === 0) path = [firstRoot, ...path];
  let fn = BigInt(first) - 1n, sn = BigInt(second) - 1n;
  while ((fn & 1n) === 1n) { fn >>= 1n; sn >>= 1n; }
  let fr = path[0], sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      fr = nodeHash(c, fr); sr = nodeHash(c, sr);
      if ((fn & 1n) === 0n) while (!((fn & 1n) === 1n || fn === 0n)) { fn >>= 1n; sn >>= 1n; }
    } else {
      sr = nodeHash(sr, c);
    }
    fn >>= 1n; sn >>= 1n;
  }
  return sn === 0n && fr.equals(firstRoot) && sr.equals(secondRoot);
}

// parseVerifierKey: "<name>+<8 hex>+<base64(0x01 || key)>".
function parseVerifierKey(vkey) {
  const m = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/=]+)$/.exec(vkey.trim());
  if (!m) return null;
  const raw = base64Strict(m[3]);
  if (!raw || raw.length !== 33 || raw[0] !== 1) return null;
  const pub = raw.subarray(1);
  const hash = sha256(Buffer.from(m[1] + "\n"), Buffer.from([1]), pub).subarray(0, 4);
  if (hash.toString("hex") !== m[2]) return null;
  return { name: m[1], hash, pub };
}

// openCheckpoint returns {origin, size, root} or {error: "malformed" | "untrusted"}.
function openCheckpoint(note, key) {
  const at = note.indexOf("\n\n");
  if (at < 0 || !note.endsWith("\n")) return { error: "malformed" };
  const body = note.slice(0, at + 1);
  const sigLines = note.slice(at + 2).split("\n").slice(0, -1);
  if (sigLines.length === 0) return { error: "malformed" };
  let trusted = false;
  for (const line of sigLines) {
    const m = /^\u2014 (\S+) (\S+)$/.exec(line);
    if (!m) return { error: "malformed" };
    const raw = base64Strict(m[2]);
    if (!raw || raw.length < 5) return { error: "malformed" };
    if (m[1] !== key.name || !raw.subarray(0, 4).equals(key.hash)) continue; // another key's signature
    if (raw.length !== 68 || !ed25519Verify(key.pub, Buffer.from(body), raw.subarray(4))) return { error: "untrusted" };
    trusted = true;
  }
  if (!trusted) return { error: "untrusted" };
  const [origin, size, root] = body.split("\n");
  const rootBytes = base64Strict(root ?? "");
  if (!origin || !/^(0|[1-9][0-9]*)$/.test(size ?? "") || !rootBytes || rootBytes.length !== 32) return { error: "malformed" };
  if (origin !== key.name) return { error: "untrusted" };
  return { origin, size: Number(size), root: rootBytes };
}

// rawField returns the exact text of a top-level field's value in a JSON
// object line (the export's "data" must be hashed byte for byte).
function rawField(line, field) {
  let i = 0;
  const ws = () => { while (" \t\r\n".includes(line[i]) && i < line.length) i++; };
  const str = () => { const s = i; i++; while (line[i] !== '"') i += line[i] === "\\" ? 2 : 1; i++; return JSON.parse(line.slice(s, i)); };
  const skip = () => {
    ws();
    if (line[i] === '"') { str(); return; }
    if (line[i] === "{" || line[i] === "[") {
      let depth = 0;
      do {
        if (line[i] === '"') { str(); continue; }
        if (line[i] === "{" || line[i] === "[") depth++;
        if (line[i] === "}" || line[i] === "]") depth--;
        i++;
      } while (depth > 0);
      return;
    }
    while (i < line.length && !",}] \t\r\n".includes(line[i])) i++;
  };
  ws(); if (line[i] !== "{") return undefined; i++;
  for (;;) {
    ws(); if (line[i] === "}") return undefined;
    const key = str(); ws(); i++; ws();
    const start = i; skip();
    if (key === field) return line.slice(start, i);
    ws(); if (line[i] === ",") i++;
  }
}

// exportEvent turns an export line into the chain-hash fields.
function exportEvent(line) {
  const l = JSON.parse(line);
  let data = "";
  if (l.data !== undefined) data = Buffer.from(rawField(line, "data"), "utf8");
  else if (l.data_base64 !== undefined) data = base64Strict(l.data_base64);
  const m = l.metadata;
  return { position: l.position, stream_id: l.stream_id, version: l.version, event_id: l.event_id, type: l.type,
    schema_version: l.schema_version, data, actor_kind: m.actor.kind, actor_id: m.actor.id, command: m.command,
    correlation_id: m.correlation_id, causation_id: m.causation_id, effective_at: m.effective_at, recorded_at: l.recorded_at,
    hash_hex: l.hash, prev_hash: l.prev_hash, proof: l.proof };
}

// verifyExport returns "" or altered, removed, reordered, added.
function verifyExport(ndjson, cp, key) {
  const lines = ndjson.split("\n").filter((l) => l.trim() !== "");
  const header = JSON.parse(lines[0]);
  if (header.format !== "seatledger-audit-export/v1") return "malformed";
  const hc = openCheckpoint(header.checkpoint, key);
  if (hc.error) return hc.error;
  const events = lines.slice(1).map(exportEvent);
  if (header.filter) {
    if (hc.size !== cp.size || !hc.root.equals(cp.root)) return "malformed";
    const whole = !header.filter.type && !header.filter.from_position;
    const streams = new Map();
    let lastPos = 0;
    for (const e of events) {
      if (e.position <= lastPos) return "reordered";
      lastPos = e.position;
      const prev = Buffer.from(e.prev_hash, "hex");
      if (sha256(chainInput(prev, e)).toString("hex") !== e.hash_hex || (prev.length === 0) !== (e.version === 1)) return "altered";
      const leaf = leafHash(leafData(e.position, Buffer.from(e.hash_hex, "hex")));
      if (!verifyInclusion(e.proof.leaf_index, cp.size, leaf, e.proof.hashes.map(base64Strict), cp.root)) return "altered";
      const st = streams.get(e.stream_id);
      if (whole && (st ? e.version !== st.version + 1 : e.version !== 1)) return "removed";
      if (whole && st && e.prev_hash !== st.hash) return "altered";
      streams.set(e.stream_id, { version: e.version, hash: e.hash_hex });
    }
    return "";
  }
  if (cp.size > hc.size) return "removed";
  const streams = new Map(), leaves = [];
  let lastPos = 0;
  for (const e of events.slice(0, cp.size)) {
    if (header.contiguous_positions && e.position !== lastPos + 1) {
      return events.some((x) => x.position === lastPos + 1) || e.position < lastPos + 1 ? "reordered" : "removed";
    }
    lastPos = e.position;
    const st = streams.get(e.stream_id) ?? { version: 0, hash: "" };
    if (e.version !== st.version + 1) return events.some((x) => x.stream_id === e.stream_id && x.version === st.version + 1) ? "reordered" : "removed";
    if (sha256(chainInput(Buffer.from(st.hash, "hex"), e)).toString("hex") !== e.hash_hex) return "altered";
    streams.set(e.stream_id, { version: e.version, hash: e.hash_hex });
    leaves.push(leafHash(leafData(e.position, Buffer.from(e.hash_hex, "hex"))));
  }
  if (leaves.length < cp.size) return "removed";
  return merkleRoot(leaves).equals(cp.root) ? "" : "altered";
}

{
  const v = load("audit.json");
  const key = parseVerifierKey(v.verifier_key);
  check(key !== null && key.name === v.origin && key.hash.toString("hex") === v.key_hash_hex &&
    key.pub.toString("base64") === v.public_key_base64, "audit: verifier key");
  check(merkleRoot([]).toString("hex") === v.empty_tree_root_hex, "audit: empty tree root");
  const leaves = [];
  for (const e of v.events) {
    const data = leafData(e.position, Buffer.from(e.hash_hex, "hex"));
    check(data.toString("hex") === e.leaf_data_hex, `audit leaf ${e.leaf_index}: data`);
    check(leafHash(data).toString("hex") === e.leaf_hash_hex, `audit leaf ${e.leaf_index}: hash`);
    leaves.push(leafHash(data));
  }
  check(verifyChain(v.events.filter((e) => e.stream_id === v.events[1].stream_id).map((e) => ({ ...e, causation_id: "" }))) === 0,
    "audit: a stream's chain recomputes from the events' fields");
  const opened = new Map();
  for (const c of v.checkpoints) {
    check(merkleRoot(leaves.slice(0, c.size)).toString("hex") === c.root_hex, `audit checkpoint ${c.size}: root of the first ${c.size} leaves`);
    const cp = key && openCheckpoint(c.note, key);
    check(cp && !cp.error && cp.size === c.size && cp.root.toString("hex") === c.root_hex && c.note.startsWith(c.body), `audit checkpoint ${c.size}: opens`);
    opened.set(c.size, cp);
  }
  for (const n of v.notes) {
    const got = openCheckpoint(n.note, key).error ?? "";
    check(got === n.error, `audit note "${n.name}": got "${got}", want "${n.error}"`);
  }
  for (const p of v.proofs) {
    const j = JSON.parse(p.json);
    let ok;
    if (p.position) {
      const e = v.events.find((x) => x.position === p.position);
      const leaf = leafHash(leafData(e.position, Buffer.from(e.hash_hex, "hex"))); // recomputed, not j.leaf_hash
      const cp = openCheckpoint(j.checkpoint, key);
      ok = !cp.error && cp.root.equals(opened.get(p.size).root) &&
        verifyInclusion(j.leaf_index, j.tree_size, leaf, j.hashes.map(base64Strict), opened.get(p.size).root);
    } else {
      ok = !openCheckpoint(j.from_checkpoint, key).error && !openCheckpoint(j.to_checkpoint, key).error &&
        verifyConsistency(j.from, j.to, j.hashes.map(base64Strict), opened.get(p.from).root, opened.get(p.to).root);
    }
    check(ok === p.valid, `audit proof "${p.name}": valid=${ok}, want ${p.valid}`);
  }
  for (const x of v.exports) {
    const got = verifyExport(x.ndjson, opened.get(x.size), key);
    check(got === x.error, `audit export "${x.name}": got "${got}", want "${x.error}"`);
  }
}

// --- Order-webhook signature ----------------------------------------------

function verifyWebhook(secret, header, body, now) {
  let t, sigs = [];
  for (const part of header.split(",")) {
    const at = part.trim().indexOf("=");
    if (at < 0) return false;
    const [k, val] = [part.trim().slice(0, at), part.trim().slice(at + 1)];
    if (k === "t") { if (t !== undefined) return false; t = val; }
    if (k === "v1") { if (!/^[0-9a-fA-F]{64}$/.test(val)) return false; sigs.push(Buffer.from(val, "hex")); }
  }
  if (t === undefined || !/^[0-9]+$/.test(t) || sigs.length === 0) return false;
  if (Math.abs(now - Number(t)) > 300) return false;
  const mac = createHmac("sha256", secret).update(t + "." + body).digest();
  return sigs.some((s) => timingSafeEqual(s, mac));
}

{
  const v = load("order-webhook.json");
  const mac = createHmac("sha256", v.secret).update(v.sent_at + "." + v.body).digest("hex");
  check(v.mac_input === v.sent_at + "." + v.body && mac === v.mac_hex && v.header === `t=${v.sent_at},v1=${mac}`, "webhook: the header");
  for (const c of v.cases) check(verifyWebhook(v.secret, c.header, c.body, c.now) === c.valid, `webhook "${c.name}": want valid=${c.valid}`);
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
