// verify-vectors.mjs — an independent verifier of seatledger's formats,
// written from docs/formats.md (not from the ledger's Go code), with
// Node.js's built-in crypto only (Node >= 18).
//
// Its first version was written with the Go code closed by the engineer
// who wrote the document from the code. When an outside engineer's Python
// verifier (verify_vectors.py) found 20 gaps in the document, the document
// was corrected and this verifier brought in line with it: every check it
// makes is one formats.md states, in the order it states.
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

// A refusal with the reason formats.md names.
class Refused extends Error {
  constructor(reason, detail = "") { super(reason + ": " + detail); this.reason = reason; }
}
const refuse = (reason, detail) => { throw new Refused(reason, detail); };
const reasonOf = (fn) => { try { fn(); return ""; } catch (e) { if (e instanceof Refused) return e.reason; throw e; } };

// --- Primitives (formats.md, "Conventions": one spelling) ------------------

const sha256 = (...parts) => { const h = createHash("sha256"); for (const p of parts) h.update(p); return h.digest(); };
const u32be = (n) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; };
const u64be = (n) => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt.asUintN(64, BigInt(n))); return b; };
const ed25519Key = (raw) => createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: raw.toString("base64url") }, format: "jwk" });
const ed25519Verify = (pub, msg, sig) => { try { return verify(null, msg, ed25519Key(pub), sig); } catch { return false; } };

// Canonical decoders: anything but the one spelling is null.
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
const lowerHex = (s) => (typeof s === "string" && s.length % 2 === 0 && /^[0-9a-f]*$/.test(s) ? Buffer.from(s, "hex") : null);

// RFC 3339 UTC time with 'Z' and 0-9 fractional digits -> Unix ns (BigInt), or null.
function unixNanos(s) {
  const m = typeof s === "string" && /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$/.exec(s);
  if (!m) return null;
  const [y, mo, d, h, mi, se] = m.slice(1, 7).map(Number);
  const ms = Date.UTC(y, mo - 1, d, h, mi, se);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || se > 59) return null;
  return BigInt(ms / 1000) * 1000000000n + BigInt((m[7] ?? "").padEnd(9, "0"));
}
// An offline header time: exactly YYYY-MM-DDTHH:MM:SSZ -> Unix seconds, or null.
const fileTime = (s) => (typeof s === "string" && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(s) && unixNanos(s) !== null
  ? Number(unixNanos(s) / 1000000000n) : null);
// An export time: six fractional digits (up to nine without trailing zeros for nanoseconds) -> ns, or null.
function exportTime(s) {
  const m = typeof s === "string" && /\.(\d+)Z$/.exec(s);
  if (!m) return null;
  const ns = unixNanos(s);
  if (ns === null) return null;
  const f = m[1];
  if (f.length === 6) return ns;
  return f.length > 6 && f.length <= 9 && !f.endsWith("0") && ns % 1000n !== 0n ? ns : null;
}

// --- Offline files (formats.md, "Offline request and answer files") --------

const label = (kind) => "SEATLEDGER " + kind.toUpperCase().replaceAll("-", " ") + " FILE";
const answerOf = { "activation-request": "activation", "refresh-request": "subscription-information", "deactivation-request": "deactivation" };

// Step 1, the structure: {label, headers: [[name, value]...], content}.
function parseOffline(text) {
  const raw = Buffer.from(text, "utf8");
  if (raw.length > 64 * 1024) refuse("malformed", "larger than 64 KiB");
  const lines = text.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, "").split("\n").map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l));
  if (lines.length < 4) refuse("malformed", "too short");
  const begin = /^-----BEGIN (.+)-----$/.exec(lines[0]);
  if (!begin) refuse("malformed", "no BEGIN line");
  if (lines[lines.length - 1] !== "-----END " + begin[1] + "-----") refuse("malformed", "END line");
  const headers = [];
  let i = 1;
  for (; i < lines.length - 1 && lines[i] !== ""; i++) {
    const at = lines[i].indexOf(": ");
    const name = at < 0 ? "" : lines[i].slice(0, at);
    if (!/^[A-Za-z0-9-]+$/.test(name) || headers.some(([n]) => n === name)) refuse("malformed", "line " + (i + 1));
    headers.push([name, lines[i].slice(at + 2)]);
  }
  if (i === lines.length - 1) refuse("malformed", "no empty line");
  if (!headers.some(([n]) => n === "Kind")) refuse("malformed", "no Kind header");
  const content = base64Strict(lines.slice(i + 1, -1).map((l) => l.replace(/^[ \t]+|[ \t]+$/g, "")).join(""));
  if (!content || content.length === 0) refuse("malformed", "body");
  return { label: begin[1], headers, h: Object.fromEntries(headers), content };
}

// Step 3, the headers a file needs: {issued, expires}.
function offlineHeaders(f, answer) {
  const issued = fileTime(f.h.Issued);
  const expires = f.h.Expires === undefined ? null : fileTime(f.h.Expires);
  if (issued === null || (f.h.Expires !== undefined && expires === null) || (answer && expires === null)) refuse("malformed", "times");
  if (!f.h.Nonce || !f.h.Server) refuse("malformed", "Nonce, Server");
  if (answer) {
    if (!f.h.Signer) refuse("malformed", "Signer");
    const [lastName, lastValue] = f.headers[f.headers.length - 1];
    const sig = base64urlStrict(lastValue);
    if (lastName !== "Signature" || sig === null || sig.length !== 64) refuse("malformed", "Signature");
  }
  return { issued, expires };
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

const answerFields = new Set(["installation_id", "identity", "credential", "status", "license"]);
const identityFields = new Set(["kind", "server_id", "farm_name", "server_name", "site_code", "site_description", "app_version"]);
const licenseFields = new Set(["key_id", "key_hint", "start", "end", "seats", "used", "remaining"]);
const only = (o, fields) => o !== null && typeof o === "object" && !Array.isArray(o) && Object.keys(o).every((k) => fields.has(k));

// verifyOffline returns [reason, step] ("" and 6 for a file that passes), per "Verifying an answer".
function verifyOffline(text, kind, now, pinned, pending) {
  let step = 1;
  try {
    const f = parseOffline(text);
    step = 2;
    if (f.label !== label(kind) || f.h.Kind !== kind) refuse("kind");
    step = 3;
    const { issued, expires } = offlineHeaders(f, true);
    step = 4;
    const pub = pinned.get(f.h.Signer);
    if (!pub || !ed25519Verify(pub, offlineSignedBytes(f.h.Kind, f.headers, f.content), base64urlStrict(f.h.Signature))) refuse("signature");
    step = 5;
    if (issued > now + 300) refuse("future");
    if (!(now < expires)) refuse("expired");
    step = 6;
    if (f.h.Server !== pending.server) refuse("foreign", "server");
    if (f.h.Nonce !== pending.nonce) refuse("replayed");
    let c;
    try { c = JSON.parse(f.content.toString("utf8")); } catch { refuse("malformed", "content"); }
    if (!only(c, answerFields) || !only(c.identity ?? {}, identityFields) || !only(c.license ?? {}, licenseFields)) refuse("malformed", "content");
    if (kind === "activation") { if (!c.installation_id || !c.credential) refuse("malformed", "no credential"); }
    else if (c.installation_id !== pending.installation_id) refuse("foreign", "installation");
  } catch (e) {
    if (e instanceof Refused) return [e.reason, step];
    throw e;
  }
  return ["", 6];
}

const offlineProof = (credential, kind, nonce, server, installationID) =>
  createHmac("sha256", credential).update(`seatledger offline proof v1\n${kind}\n${nonce}\n${server}\n${installationID}`).digest("base64url");

{
  const v = load("offline.json");
  const pub = base64Strict(v.key.public_key_base64);
  check(sha256(pub).subarray(0, 8).toString("hex") === v.key.key_id, "offline: key_id is the SHA-256 prefix of the public key");
  const pinned = new Map([[v.key.key_id, pub]]);
  for (const a of v.answers) {
    const f = parseOffline(a.file);
    check(f.content.toString("utf8") === a.content, `offline answer ${a.name}: content`);
    check(offlineSignedBytes(a.kind, f.headers, f.content).toString("hex") === a.signed_bytes_hex, `offline answer ${a.name}: signed bytes`);
    check(f.h.Signer === v.key.key_id && f.h.Signature === a.signature && f.headers[f.headers.length - 1][0] === "Signature",
      `offline answer ${a.name}: Signer and Signature headers`);
    check(f.h.Nonce === a.nonce && f.h.Server === a.server && fileTime(a.expires) - fileTime(a.issued) === 14 * 86400,
      `offline answer ${a.name}: nonce, server and validity`);
  }
  const outcomes = new Set();
  for (const c of v.verify) {
    const [reason, step] = verifyOffline(c.file, c.kind, fileTime(c.now), pinned, c.pending);
    check(answerOf[c.pending.request_kind] === c.kind && reason === c.error && step === c.step,
      `offline verify "${c.name}": got "${reason}" at step ${step}, want "${c.error}" at step ${c.step}`);
    outcomes.add(c.error);
  }
  check(outcomes.size === 8, "offline: the verification cases reach every outcome");
  for (const r of v.requests) {
    let ok = false;
    try {
      const f = parseOffline(r.file);
      offlineHeaders(f, false);
      ok = f.label === label(r.kind) && f.h.Kind === r.kind && f.content.toString("utf8") === r.content &&
        f.h.Nonce === r.nonce && f.h.Server === r.server && f.h.Signature === undefined;
    } catch (e) { if (!(e instanceof Refused)) throw e; }
    check(ok, `offline request ${r.name}: parses, unsigned`);
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
  for (const r of v.refused) {
    const byPattern = !re.test(r.credential) || r.credential.length > v.max_length;
    check(byPattern === (r.refused_by === "pattern") && ["pattern", "ledger"].includes(r.refused_by), `credential "${r.name}": refused by the ${r.refused_by}`);
  }
}

// --- Event chain hash -----------------------------------------------------

// chainInput takes times as RFC 3339 text or Unix ns (BigInt), data as bytes or text.
function chainInput(prev, e) {
  const parts = [];
  const bytes = (x) => { const b = Buffer.from(x ?? ""); parts.push(u64be(b.length), b); };
  const num = (n) => parts.push(u64be(n));
  const time = (t) => parts.push(u64be(t === undefined || t === "" || t === null ? 0n : typeof t === "bigint" ? t : unixNanos(t)));
  bytes("seatledger/event/v1");
  bytes(prev);
  bytes(e.stream_id); num(e.version); bytes(e.event_id); bytes(e.type); num(e.schema_version);
  bytes(e.data);
  bytes(e.actor_kind); bytes(e.actor_id); bytes(e.command); bytes(e.correlation_id); bytes(e.causation_id);
  time(e.effective_at); time(e.recorded_at);
  return Buffer.concat(parts);
}

// verifyChain returns null if the stream verifies, else [version written on the event, "version" | "hash"].
function verifyChain(events) {
  let prev = Buffer.alloc(0), version = 0;
  for (const e of events) {
    if (e.version !== version + 1) return [e.version, "version"];
    if (sha256(chainInput(prev, e)).toString("hex") !== e.hash_hex) return [e.version, "hash"];
    prev = Buffer.from(e.hash_hex, "hex"); version = e.version;
  }
  return null;
}

{
  const v = load("event-chain.json");
  let prev = Buffer.alloc(0);
  for (const e of v.events) {
    const input = chainInput(prev, e);
    check(e.prev_hash_hex === prev.toString("hex") && input.toString("hex") === e.chain_input_hex, `chain v${e.version}: input bytes`);
    check(sha256(input).toString("hex") === e.hash_hex, `chain v${e.version}: hash`);
    prev = Buffer.from(e.hash_hex, "hex");
  }
  check(verifyChain(v.events) === null, "chain: the stream verifies");
  for (const t of v.tampered) {
    const got = verifyChain(t.events);
    check(got !== null && got[0] === t.broken_version && got[1] === t.broken_by, `chain tampered "${t.name}": breaks at ${t.broken_version} by ${t.broken_by}`);
    let p = Buffer.alloc(0);
    for (const e of t.events) {
      const input = chainInput(p, e);
      check(e.prev_hash_hex === p.toString("hex") && e.chain_input_hex === input.toString("hex") && e.computed_hash_hex === sha256(input).toString("hex"),
        `chain tampered "${t.name}" v${e.version}: the verifier's derived fields`);
      p = Buffer.from(e.hash_hex, "hex");
    }
  }
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
  if (!Number.isInteger(index) || index < 0 || index >= size || path.some((p) => p === null)) return false;
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
  if (first > second || path.some((p) => p === null)) return false;
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

const validName = (name) => name.length > 0 && !name.includes("+") && !/\s/u.test(name);
const keyHashOf = (name, pub) => sha256(Buffer.from(name + "\n"), Buffer.from([1]), pub).subarray(0, 4);

// parseVerifierKey: "<name>+<8 hex>+<base64(0x01 || key)>", split at the first two '+'.
function parseVerifierKey(vkey) {
  const s = vkey.trim();
  const a = s.indexOf("+"), b = a < 0 ? -1 : s.indexOf("+", a + 1);
  if (b < 0) refuse("malformed", "not name+hash+key");
  const [name, hash, key] = [s.slice(0, a), s.slice(a + 1, b), s.slice(b + 1)];
  const raw = base64Strict(key);
  if (!validName(name) || !/^[0-9a-f]{8}$/.test(hash) || !raw || raw.length !== 33 || raw[0] !== 1) refuse("malformed", "verifier key");
  const pub = raw.subarray(1);
  if (keyHashOf(name, pub).toString("hex") !== hash) refuse("malformed", "key hash");
  return { name, hash: Buffer.from(hash, "hex"), pub };
}

// openCheckpoint returns {origin, size, root} or throws Refused("malformed" | "untrusted").
function openCheckpoint(note, key) {
  if (Buffer.byteLength(note) > 64 * 1024) refuse("malformed", "size");
  const blank = note.indexOf("\n\n");
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0009\u000b-\u001f]/.test(note) || blank < 0 || note.indexOf("\n\n", blank + 1) >= 0 ||
    note.startsWith("\n") || !note.endsWith("\n") || note.length === blank + 2) refuse("malformed", "shape");
  const body = note.slice(0, blank + 1);
  const lines = note.slice(blank + 2, -1).split("\n");
  if (lines.length > 100) refuse("malformed", "too many signatures");
  const sigs = lines.map((line) => {
    if (!line.startsWith("\u2014 ")) refuse("malformed", "signature line");
    const rest = line.slice(2), sp = rest.indexOf(" ");
    const name = sp < 0 ? "" : rest.slice(0, sp);
    const raw = sp < 0 ? null : base64Strict(rest.slice(sp + 1));
    if (!validName(name) || !raw || raw.length < 5) refuse("malformed", "signature line");
    return { name, raw };
  });
  const mine = sigs.find((s) => s.name === key.name && s.raw.subarray(0, 4).equals(key.hash));
  if (!mine || mine.raw.length !== 68 || !ed25519Verify(key.pub, Buffer.from(body), mine.raw.subarray(4))) refuse("untrusted");
  const [origin, size, root] = body.split("\n");
  const rootBytes = base64Strict(root ?? "");
  if (!origin || !/^(0|[1-9][0-9]*)$/.test(size ?? "") || BigInt(size) >= 1n << 64n || !rootBytes || rootBytes.length !== 32) refuse("malformed", "body");
  if (origin !== key.name) refuse("untrusted", "another log");
  return { origin, size: Number(size), root: rootBytes };
}

// --- NDJSON export (formats.md, "NDJSON export") --------------------------

// rawField returns the exact text of a top-level field's value in a JSON
// object line (the export's "data" must be hashed byte for byte).
function rawField(line, field) {
  let i = 0;
  const ws = () => { while (i < line.length && " \t\r\n".includes(line[i])) i++; };
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

const lineFields = new Set(["position", "stream_id", "version", "event_id", "type", "schema_version", "data", "data_base64", "metadata",
  "recorded_at", "hash", "prev_hash", "proof"]);
const metadataFields = new Set(["actor", "command", "correlation_id", "causation_id", "effective_at"]);
const actorKinds = new Set(["person", "installation", "process", "back_office"]);
const isUint = (n) => Number.isSafeInteger(n) && n >= 0;

// exportEvent turns an export line into the chain-hash fields; null if it is not an event line.
function exportEvent(line) {
  let l;
  try { l = JSON.parse(line); } catch { return null; }
  if (!only(l, lineFields)) return null;
  const m = l.metadata ?? {}, actor = m.actor ?? {};
  if (!only(m, metadataFields) || !only(actor, new Set(["kind", "id"])) || !actorKinds.has(actor.kind ?? "")) return null;
  const strings = [l.stream_id, l.event_id, l.type, l.recorded_at, l.hash, m.command, m.correlation_id, m.causation_id, m.effective_at, actor.id];
  if (!strings.every((s) => s === undefined || typeof s === "string")) return null;
  if (![l.position ?? 0, l.version ?? 0].every(isUint) || !Number.isSafeInteger(l.schema_version ?? 0)) return null;
  if (l.data !== undefined && l.data_base64 !== undefined) return null;
  let data = Buffer.alloc(0);
  if (l.data !== undefined) data = Buffer.from(rawField(line, "data"), "utf8");
  else if (l.data_base64 !== undefined) { data = base64Strict(l.data_base64); if (data === null) return null; }
  const recorded = exportTime(l.recorded_at ?? "");
  const effective = (m.effective_at ?? "") === "" ? 0n : exportTime(m.effective_at);
  const hash = lowerHex(l.hash ?? "");
  if (recorded === null || effective === null || !hash || hash.length !== 32) return null;
  let proof = null;
  if (l.proof !== undefined && l.proof !== null) {
    if (!only(l.proof, new Set(["leaf_index", "hashes"])) || !isUint(l.proof.leaf_index ?? 0) || !Array.isArray(l.proof.hashes ?? [])) return null;
    const hashes = (l.proof.hashes ?? []).map(base64Strict);
    if (hashes.some((h) => h === null)) return null;
    proof = { index: l.proof.leaf_index ?? 0, hashes };
  }
  if (l.prev_hash !== undefined && typeof l.prev_hash !== "string") return null;
  return { position: l.position ?? 0, stream_id: l.stream_id ?? "", version: l.version ?? 0, event_id: l.event_id ?? "", type: l.type ?? "",
    schema_version: l.schema_version ?? 0, data, actor_kind: actor.kind, actor_id: actor.id ?? "", command: m.command ?? "",
    correlation_id: m.correlation_id ?? "", causation_id: m.causation_id ?? "", effective_at: effective, recorded_at: recorded,
    hash, prev_hash: l.prev_hash, proof, hasData: l.data !== undefined };
}

const filterTypes = { stream: "string", stream_prefix: "string", type: "string", from_position: "number", to_position: "number" };

function exportHeader(line) {
  let h;
  try { h = JSON.parse(line); } catch { refuse("malformed", "header"); }
  if (!only(h, new Set(["format", "checkpoint", "filter", "contiguous_positions"])) || h.format !== "seatledger-audit-export/v1" ||
    typeof h.checkpoint !== "string" || typeof (h.contiguous_positions ?? false) !== "boolean") refuse("malformed", "header");
  const f = h.filter;
  if (f !== undefined && f !== null) {
    if (!only(f, new Set(Object.keys(filterTypes)))) refuse("malformed", "filter");
    for (const [k, t] of Object.entries(filterTypes)) {
      if (f[k] !== undefined && (typeof f[k] !== t || (t === "number" && !isUint(f[k])))) refuse("malformed", "filter " + k);
    }
    if (!Object.values(f).some((x) => x)) refuse("malformed", "empty filter");
  }
  return h;
}

const selected = (f, e) => (!f.stream || e.stream_id === f.stream) && (!f.stream_prefix || e.stream_id.startsWith(f.stream_prefix)) &&
  (!f.type || e.type === f.type) && e.position >= (f.from_position ?? 0) && (!f.to_position || e.position <= f.to_position);

// verifyExport returns "" or the outcome, per "Verifying an export"; cp is the auditor's {size, root}.
function verifyExport(ndjson, cp, key) {
  const lines = ndjson.split("\n").map((l) => l.replace(/[\r\n]+$/, ""));
  let header, hc;
  try {
    header = exportHeader(lines[0]);
    hc = openCheckpoint(header.checkpoint, key);
    if (hc.size === cp.size && !hc.root.equals(cp.root)) refuse("untrusted", "two histories");
    const filtered = header.filter !== undefined && header.filter !== null;
    if ((filtered && hc.size !== cp.size) || (!filtered && cp.size > hc.size)) refuse("stale");
  } catch (e) {
    if (e instanceof Refused) return e.reason;
    throw e;
  }
  const events = lines.slice(1).filter((l) => l.trim() !== "").map(exportEvent);
  const good = events.filter((e) => e !== null);
  const elsewhere = (stream, version) => good.some((x) => x.stream_id === stream && x.version === version);
  const chainHash = (prev, e) => sha256(chainInput(prev, e));
  if (header.filter === undefined || header.filter === null) {
    const streams = new Map(), leaves = [];
    let lastPos = 0;
    if (cp.size === 0 && !merkleRoot([]).equals(cp.root)) return "altered";
    for (const [i, e] of events.entries()) {
      const k = i + 1;
      if (e === null) return "altered";
      if (k > hc.size) return "added";
      const want = lastPos + 1;
      if ((header.contiguous_positions && e.position !== want) || e.position <= lastPos) {
        return e.position < want || good.some((x) => x.position === want) ? "reordered" : "removed";
      }
      const st = streams.get(e.stream_id) ?? { version: 0, hash: Buffer.alloc(0) };
      if (e.version !== st.version + 1) return e.version < st.version + 1 || elsewhere(e.stream_id, st.version + 1) ? "reordered" : "removed";
      if (!chainHash(st.hash, e).equals(e.hash)) return "altered";
      streams.set(e.stream_id, { version: e.version, hash: e.hash });
      lastPos = e.position;
      leaves.push(leafHash(leafData(e.position, e.hash)));
      if ((k === cp.size && !merkleRoot(leaves).equals(cp.root)) || (k === hc.size && hc.size > cp.size && !merkleRoot(leaves).equals(hc.root))) return "altered";
    }
    return leaves.length < hc.size ? "removed" : "";
  }
  const f = header.filter;
  const wholeStreams = !f.type && !f.from_position;
  const streams = new Map();
  let lastPos = 0;
  for (const e of events) {
    if (e === null) return "altered";
    if (!selected(f, e)) return "added";
    if (e.position <= lastPos) return "reordered";
    lastPos = e.position;
    const prev = e.prev_hash === undefined ? null : lowerHex(e.prev_hash);
    if (prev === null || (prev.length !== 0 && prev.length !== 32) || e.proof === null) return "altered";
    if (!chainHash(prev, e).equals(e.hash) || (prev.length === 0) !== (e.version === 1)) return "altered";
    if (!verifyInclusion(e.proof.index, cp.size, leafHash(leafData(e.position, e.hash)), e.proof.hashes, cp.root)) return "altered";
    if (wholeStreams) {
      const st = streams.get(e.stream_id) ?? { version: 0, hash: Buffer.alloc(0) };
      if (e.version !== st.version + 1) return e.version < st.version + 1 || elsewhere(e.stream_id, st.version + 1) ? "reordered" : "removed";
      if (st.version > 0 && !prev.equals(st.hash)) return "altered";
    }
    streams.set(e.stream_id, { version: e.version, hash: e.hash });
  }
  return "";
}

// Compact JSON: valid JSON, no white space outside strings.
function compactJSON(data) {
  try { JSON.parse(data.toString("utf8")); } catch { return false; }
  if (!Buffer.from(data.toString("utf8"), "utf8").equals(data)) return false; // not UTF-8
  let inString = false, escaped = false;
  for (const c of data) {
    if (inString) { if (escaped) escaped = false; else if (c === 0x5c) escaped = true; else if (c === 0x22) inString = false; }
    else if (c === 0x22) inString = true;
    else if ([0x20, 0x09, 0x0a, 0x0d].includes(c)) return false;
  }
  return true;
}

{
  const v = load("audit.json");
  const key = parseVerifierKey(v.verifier_key);
  check(key.name === v.origin && key.hash.toString("hex") === v.key_hash_hex && key.pub.toString("base64") === v.public_key_base64, "audit: verifier key");
  for (const k of v.verifier_keys) {
    const got = reasonOf(() => parseVerifierKey(k.key));
    check(got === k.error, `audit verifier key "${k.name}": got "${got}", want "${k.error}"`);
  }
  check(merkleRoot([]).toString("hex") === v.empty_tree_root_hex, "audit: empty tree root");
  const leaves = [], chainOf = new Map(), prevOf = new Map();
  for (const e of v.events) {
    const hash = sha256(chainInput(prevOf.get(e.stream_id) ?? Buffer.alloc(0), e));
    check(hash.toString("hex") === e.hash_hex, `audit event at position ${e.position}: chain hash recomputed per stream`);
    prevOf.set(e.stream_id, hash);
    chainOf.set(e.position, hash);
    const data = leafData(e.position, hash);
    check(data.toString("hex") === e.leaf_data_hex && leafHash(data).toString("hex") === e.leaf_hash_hex && e.leaf_index === e.position - 1,
      `audit leaf ${e.leaf_index}: data and hash`);
    leaves.push(leafHash(data));
  }
  const trusted = new Map();
  for (const c of v.checkpoints) {
    check(merkleRoot(leaves.slice(0, c.size)).toString("hex") === c.root_hex, `audit checkpoint ${c.size}: root of the first ${c.size} leaves`);
    let cp = null;
    try { cp = openCheckpoint(c.note, key); } catch (e) { if (!(e instanceof Refused)) throw e; }
    check(cp && cp.size === c.size && cp.root.toString("hex") === c.root_hex && c.note.startsWith(c.body), `audit checkpoint ${c.size}: opens`);
    trusted.set(c.size, cp);
  }
  for (const n of v.notes) {
    const got = reasonOf(() => openCheckpoint(n.note, key));
    check(got === n.error, `audit note "${n.name}": got "${got}", want "${n.error}"`);
  }
  for (const p of v.proofs) {
    const j = JSON.parse(p.json);
    let ok = false;
    try {
      if (p.kind === "inclusion") {
        const cp = openCheckpoint(j.checkpoint, key);
        const leaf = leafHash(leafData(p.position, chainOf.get(p.position))); // the event we hold, not j.leaf_hash
        ok = cp.size === p.size && j.position === p.position && j.tree_size === cp.size && leaf.equals(base64Strict(j.leaf_hash) ?? Buffer.alloc(0)) &&
          j.leaf_index === j.position - 1 && verifyInclusion(j.leaf_index, cp.size, leaf, j.hashes.map(base64Strict), cp.root);
      } else {
        const a = openCheckpoint(j.from_checkpoint, key), b = openCheckpoint(j.to_checkpoint, key);
        ok = j.from === a.size && j.to === b.size && a.size === p.from && b.size === p.to && (a.size !== 0 || a.root.equals(merkleRoot([]))) &&
          verifyConsistency(a.size, b.size, j.hashes.map(base64Strict), a.root, b.root);
      }
    } catch (e) { if (!(e instanceof Refused)) throw e; }
    check(ok === p.valid, `audit proof "${p.name}": valid=${ok}, want ${p.valid}`);
  }
  for (const x of v.exports) {
    const got = verifyExport(x.ndjson, trusted.get(x.trusted_size), key);
    check(got === x.error, `audit export "${x.name}": got "${got}", want "${x.error}"`);
    if (x.error === "" && x.size === x.trusted_size) {
      for (const line of x.ndjson.split("\n").slice(1).map((l) => l.replace(/\r$/, "")).filter((l) => l.trim() !== "")) {
        const e = exportEvent(line);
        const src = v.events.find((s) => s.position === e.position);
        check(e.data.equals(Buffer.from(src.data, "utf8")) && e.hasData === compactJSON(e.data),
          `audit export "${x.name}" position ${e.position}: the payload, in data if compact JSON`);
      }
    }
  }
}

// --- Order-webhook signature ----------------------------------------------

function verifyWebhook(secret, header, body, now) {
  let t, sigs = [];
  for (const entry of header.split(",")) {
    const part = entry.trim(), at = part.indexOf("=");
    if (at < 0) return false;
    const [k, val] = [part.slice(0, at), part.slice(at + 1)];
    if (k === "t") { if (t !== undefined) return false; t = val; }
    if (k === "v1") { if (!/^[0-9a-fA-F]{64}$/.test(val)) return false; sigs.push(Buffer.from(val, "hex")); }
  }
  if (t === undefined || !/^[0-9]+$/.test(t) || BigInt(t) >= 1n << 63n || sigs.length === 0) return false;
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
