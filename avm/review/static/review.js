// The review page: runs → queries → pairs; two players kept in step along the pair's line; verdicts.
"use strict";

const $ = (id) => document.getElementById(id);
const SYNC_EVERY_MS = 200;
const MAX_DRIFT_S = 0.25;   // the reference is re-seeked when it drifts further from the pair's line
const state = { run: null, query: null, pairs: [], pair: null, offset: 0, total: 0, pageSize: 50,
                thresholds: {}, track: null };

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v; else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v); else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}
const enc = encodeURIComponent;
const fmt = (x, d = 1) => (x === null || x === undefined) ? "–" : Number(x).toFixed(d);
const VERDICT_TEXT = { copy: "copy", not_copy: "not a copy", unsure: "unsure" };

async function api(path, options = {}) {
  const response = await fetch(path, options);
  if (!response.ok) {
    let detail = response.statusText;
    try { detail = (await response.json()).detail || detail; } catch (e) { /* not JSON */ }
    throw new Error(detail);
  }
  return response.json();
}

// --- runs and queries ---------------------------------------------------------------------------------
async function loadRuns(select = null) {
  const data = await api("api/runs?limit=500");
  const box = $("run");
  box.replaceChildren(...data.runs.map((r) => el("option", { value: r.run_id,
    text: `${r.kind === "upload" ? "upload " + (r.file || "") : "scan"} ${r.run_id} · ${(r.finished_at || "").slice(0, 16)}`
  })));
  const wanted = select || hashParam("run") || (data.runs[0] && data.runs[0].run_id);
  if (wanted) { box.value = wanted; await selectRun(wanted); }
}

async function selectRun(runId) {
  state.run = runId; state.offset = 0;
  $("export-csv").href = `api/verdicts.csv?run_id=${enc(runId)}`;
  $("export-parquet").href = `api/verdicts.parquet?run_id=${enc(runId)}`;
  await loadQueries();
  await loadPrecision();
}

function filters() {
  const p = new URLSearchParams({ offset: state.offset });
  for (const [key, id] of [["text", "f-text"], ["ref", "f-ref"], ["min_score", "f-score"],
                           ["evidence", "f-evidence"], ["verdict", "f-verdict"]]) {
    if ($(id).value !== "") p.set(key, $(id).value);
  }
  return p;
}

async function loadQueries() {
  const data = await api(`api/runs/${enc(state.run)}/queries?${filters()}`);
  state.total = data.total; state.pageSize = data.limit;
  $("queries").replaceChildren(...data.queries.map((q) => el("li", {
      "data-query": q.query_id, class: q.query_id === state.query ? "selected" : "",
      onclick: () => selectQuery(q.query_id) },
    el("div", { class: "qid", text: q.query_id }),
    el("div", { class: "muted", text: `${q.pairs} pair${q.pairs === 1 ? "" : "s"} · ${q.references} ref · best ` +
      `${fmt(q.best_score, 2)} · ${q.evidence.join(", ")} · reviewed ${q.reviewed}/${q.pairs}` }))));
  const last = Math.min(state.offset + state.pageSize, state.total);
  $("page").textContent = state.total ? `${state.offset + 1}–${last} of ${state.total}` : "no query";
  $("prev").disabled = state.offset === 0;
  $("next").disabled = last >= state.total;
  const wanted = hashParam("query");
  if (!state.query && wanted) await selectQuery(wanted, Number(hashParam("pair") || 0));
}

async function loadPrecision() {
  const s = await api(`api/runs/${enc(state.run)}/verdicts/summary`);
  const all = s.all;
  $("precision").textContent = all.reviewed
    ? `reviewed ${all.reviewed}: ${all.copy} copies, ${all.not_copy} not, ${all.unsure} unsure · precision ` +
      `${all.precision === null ? "–" : fmt(all.precision, 3)}` : "no verdict on this run yet";
  $("run-summary").textContent = `${state.total} quer${state.total === 1 ? "y" : "ies"} · ${$("precision").textContent}`;
}

// --- one query and its pairs -----------------------------------------------------------------------------
async function selectQuery(queryId, pairIndex = 0) {
  const data = await api(`api/runs/${enc(state.run)}/queries/${enc(queryId)}`);
  state.query = queryId; state.pairs = data.pairs; state.thresholds = data.hit_thresholds || {};
  for (const li of $("queries").children) li.classList.toggle("selected", li.dataset.query === queryId);
  $("hint").hidden = true; $("pair-view").hidden = false;
  $("query-title").textContent = `${queryId}: ${data.pairs.length} pair${data.pairs.length === 1 ? "" : "s"}`;
  renderPairs();
  await selectPair(Math.min(pairIndex, data.pairs.length - 1));
}

function renderPairs() {
  $("pairs").replaceChildren(...state.pairs.map((p, i) => el("tr", {
      "data-index": i, class: p === state.pair ? "selected" : "", onclick: () => selectPair(i) },
    el("td", { text: i + 1 }), el("td", { text: p.ref_id }),
    el("td", { text: `${fmt(p.query_start)}–${fmt(p.query_end)}` }),
    el("td", { text: `${fmt(p.ref_start)}–${fmt(p.ref_end)}` }), el("td", { text: fmt(p.score, 3) }),
    el("td", { text: p.modality }), el("td", { text: `${fmt(p.speed, 3)}×` }),
    el("td", { class: p.verdict ? `v-${p.verdict.verdict}` : "muted",
               text: p.verdict ? VERDICT_TEXT[p.verdict.verdict] : "–" }))));
}

function loaded(video, src) {
  return new Promise((resolve, reject) => {
    if (video.dataset.src === src && video.readyState >= 1) { resolve(); return; }
    video.dataset.src = src;
    video.addEventListener("loadedmetadata", () => resolve(), { once: true });
    video.addEventListener("error", () => reject(new Error(`cannot play ${src}`)), { once: true });
    video.src = src;
  });
}

function seeked(video, t) {
  return new Promise((resolve) => {
    video.addEventListener("seeked", () => resolve(), { once: true });
    video.currentTime = t;
  });
}

async function selectPair(index) {
  const pair = state.pairs[index];
  state.pair = pair;
  setHash();
  renderPairs();
  const q = $("query-video"), r = $("ref-video");
  q.pause(); r.pause();
  $("query-label").textContent = `${pair.query_id} ${fmt(pair.query_start)}–${fmt(pair.query_end)} s`;
  $("ref-label").textContent = `${pair.ref_id} ${fmt(pair.ref_start)}–${fmt(pair.ref_end)} s at ${fmt(pair.speed, 3)}×`;
  markVerdict(pair.verdict);
  $("note").value = pair.verdict ? pair.verdict.note : "";
  await Promise.all([loaded(q, `media/${enc(state.run)}/query/${enc(pair.query_id)}`),
                     loaded(r, `media/${enc(state.run)}/ref/${enc(pair.ref_id)}`)]);
  r.playbackRate = pair.speed;
  await toSegmentStart();
  document.body.dataset.pairReady = `${state.run}/${pair.query_id}/${index}`;
  loadTrack(pair);
}

async function toSegmentStart() {
  const p = state.pair;
  await Promise.all([seeked($("query-video"), p.query_start), seeked($("ref-video"), p.ref_start)]);
}

// --- keeping the players in step ----------------------------------------------------------------------------
const refTimeFor = (t) => state.pair.ref_start + (t - state.pair.query_start) * state.pair.speed;

function keepInStep() {
  const q = $("query-video"), r = $("ref-video"), p = state.pair;
  if (!p) return;
  if (!q.paused) {
    if ($("loop").checked && q.currentTime >= p.query_end) { toSegmentStart(); return; }
    const expected = refTimeFor(q.currentTime);
    if (Math.abs(r.currentTime - expected) > MAX_DRIFT_S) r.currentTime = Math.max(0, expected);
    if (r.paused) r.play().catch(() => {});
  }
  $("clock").textContent = `query ${fmt(q.currentTime, 2)} s · reference ${fmt(r.currentTime, 2)} s`;
  drawCursor(q.currentTime);
}

async function playBoth() {
  const q = $("query-video"), r = $("ref-video");
  if (!q.paused) { q.pause(); r.pause(); $("play").textContent = "▶ play both"; return; }
  r.currentTime = Math.max(0, refTimeFor(q.currentTime));
  r.playbackRate = state.pair.speed;
  await Promise.all([q.play(), r.play()]);
  $("play").textContent = "❚❚ pause both";
}

// --- the similarity track ---------------------------------------------------------------------------------
const TRACK_W = 1000, TRACK_H = 140;
const svgEl = (tag, attrs) => {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
};
const xOf = (t) => ((t - state.track.from) / (state.track.to - state.track.from)) * TRACK_W;
const yOf = (s) => TRACK_H - Math.max(0, Math.min(1, s)) * (TRACK_H - 10) - 5;

async function loadTrack(pair) {
  const p = new URLSearchParams({ run_id: state.run, query_id: pair.query_id, query_start: pair.query_start,
    query_end: pair.query_end, ref_id: pair.ref_id, ref_start: pair.ref_start, ref_end: pair.ref_end });
  $("track").replaceChildren();
  try {
    const track = await api(`api/track?${p}`);
    if (state.pair !== pair) return;
    state.track = track;
    drawTrack();
  } catch (e) {
    $("track").append(svgEl("text", { x: 10, y: 20 })).textContent = `no similarity track: ${e.message}`;
  }
}

function drawTrack() {
  const svg = $("track"), t = state.track, p = state.pair;
  svg.replaceChildren(
    svgEl("rect", { class: "segment", x: xOf(p.query_start), y: 0, width: xOf(p.query_end) - xOf(p.query_start),
                    height: TRACK_H }),
    svgEl("line", { class: "edge", x1: xOf(p.query_start), x2: xOf(p.query_start), y1: 0, y2: TRACK_H }),
    svgEl("line", { class: "edge", x1: xOf(p.query_end), x2: xOf(p.query_end), y1: 0, y2: TRACK_H }));
  for (const [m, series] of Object.entries(t.modalities)) {
    const threshold = state.thresholds[m];
    if (threshold !== null && threshold !== undefined) {
      svg.append(svgEl("line", { class: `threshold ${m}`, x1: 0, x2: TRACK_W, y1: yOf(threshold), y2: yOf(threshold) }));
    }
    let d = "", pen = "M";
    series.t.forEach((time, i) => {
      const s = series.similarity[i];
      if (s === null) { pen = "M"; return; }
      d += `${pen}${xOf(time).toFixed(1)},${yOf(s).toFixed(1)} `; pen = "L";
    });
    svg.append(svgEl("path", { class: `line ${m}`, d, "data-modality": m, "data-points": series.t.length }));
  }
  svg.append(svgEl("line", { id: "cursor", class: "cursor", x1: 0, x2: 0, y1: 0, y2: TRACK_H }));
}

function drawCursor(time) {
  const cursor = document.getElementById("cursor");
  if (!cursor || !state.track) return;
  const x = xOf(time);
  cursor.setAttribute("x1", x); cursor.setAttribute("x2", x);
}

function seekFromTrack(event) {
  if (!state.track) return;
  const box = $("track").getBoundingClientRect();
  const t = state.track.from + ((event.clientX - box.left) / box.width) * (state.track.to - state.track.from);
  $("query-video").currentTime = Math.max(0, t);
  $("ref-video").currentTime = Math.max(0, refTimeFor(t));
}

// --- verdicts -------------------------------------------------------------------------------------------------
function markVerdict(verdict) {
  for (const b of document.querySelectorAll("#verdict-form button")) {
    b.classList.toggle("chosen", !!verdict && b.dataset.verdict === verdict.verdict);
  }
  $("verdict-status").textContent = verdict ? `${VERDICT_TEXT[verdict.verdict]} (${verdict.reviewer}, ` +
    `${verdict.created_at.slice(0, 16)})` : "not reviewed";
}

async function saveVerdict(verdict) {
  const p = state.pair;
  const body = { run_id: state.run, query_id: p.query_id, query_start: p.query_start, query_end: p.query_end,
                 ref_id: p.ref_id, ref_start: p.ref_start, ref_end: p.ref_end, verdict, note: $("note").value };
  try {
    const saved = await api("api/verdicts", { method: "POST", headers: { "content-type": "application/json" },
                                              body: JSON.stringify(body) });
    p.verdict = saved.verdict;
    markVerdict(p.verdict); renderPairs();
    $("verdict-status").textContent = `saved: ${VERDICT_TEXT[verdict]}`;
    await loadPrecision();
  } catch (e) { $("verdict-status").textContent = `not saved: ${e.message}`; }
}

// --- upload ---------------------------------------------------------------------------------------------------
async function upload(event) {
  event.preventDefault();
  const file = $("upload-file").files[0];
  if (!file) { $("upload-status").textContent = "choose a file first"; return; }
  const form = new FormData(); form.append("file", file);
  $("upload-status").textContent = `matching ${file.name}…`; $("upload-button").disabled = true;
  try {
    const result = await api("api/match", { method: "POST", body: form });
    $("upload-status").textContent = `${file.name}: ${result.pairs} pair${result.pairs === 1 ? "" : "s"}`;
    state.query = null;
    location.hash = `run=${enc(result.run_id)}&query=${enc(result.query_id)}`;
    await loadRuns(result.run_id);
    if (!result.pairs) { $("hint").hidden = false; $("pair-view").hidden = true;
                         $("hint").textContent = `${file.name}: no copied segment found`; }
  } catch (e) { $("upload-status").textContent = `failed: ${e.message}`; }
  finally { $("upload-button").disabled = false; }
}

// --- location hash: run, query and pair, so a link opens the same pair ----------------------------------------
function hashParam(key) { return new URLSearchParams(location.hash.slice(1)).get(key); }
function setHash() {
  const i = state.pairs.indexOf(state.pair);
  history.replaceState(null, "", `#run=${enc(state.run)}&query=${enc(state.query)}&pair=${i}`);
}

// --- wiring -----------------------------------------------------------------------------------------------------
$("run").addEventListener("change", () => { state.query = null; history.replaceState(null, "", "#");
                                             selectRun($("run").value); });
$("filters").addEventListener("submit", (e) => { e.preventDefault(); state.offset = 0; loadQueries(); });
$("prev").addEventListener("click", () => { state.offset = Math.max(0, state.offset - state.pageSize); loadQueries(); });
$("next").addEventListener("click", () => { state.offset += state.pageSize; loadQueries(); });
$("play").addEventListener("click", playBoth);
$("restart").addEventListener("click", toSegmentStart);
$("mute-query").addEventListener("change", (e) => { $("query-video").muted = e.target.checked; });
$("mute-ref").addEventListener("change", (e) => { $("ref-video").muted = e.target.checked; });
$("query-video").addEventListener("seeked", () => {
  if (state.pair) $("ref-video").currentTime = Math.max(0, refTimeFor($("query-video").currentTime));
});
$("query-video").addEventListener("pause", () => { $("ref-video").pause(); $("play").textContent = "▶ play both"; });
$("track").addEventListener("click", seekFromTrack);
for (const b of document.querySelectorAll("#verdict-form button")) {
  b.addEventListener("click", () => saveVerdict(b.dataset.verdict));
}
$("upload").addEventListener("submit", upload);
setInterval(keepInStep, SYNC_EVERY_MS);
loadRuns().catch((e) => { $("hint").textContent = `cannot load runs: ${e.message}`; });
