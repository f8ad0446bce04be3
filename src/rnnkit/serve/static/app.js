// rnnkit's page: pick a model, type a sentence, see what every gate did at every token.
// Plain JavaScript and SVG, no libraries; every number shown comes from the JSON API (/docs).
// State lives in the URL (/?model=NAME&text=...&layer=0/forward&view=units), so a link shows a result.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
// Which gates to draw and what to call them come with each trace (trace.picture_gates, trace.titles): every
// cell declares them on its class, so the page knows no cell by name.
const VIRIDIS = [[0, [68, 1, 84]], [0.25, [59, 82, 139]], [0.5, [33, 145, 140]], [0.75, [94, 201, 98]],
                 [1, [253, 231, 37]]];
const BLUES = [[0, [247, 251, 255]], [0.5, [107, 174, 214]], [1, [8, 48, 107]]];
const DIVERGING = [[0, [33, 102, 172]], [0.5, [247, 247, 247]], [1, [178, 24, 43]]];
const LINE_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"];

const $ = (id) => document.getElementById(id);
const state = {models: [], model: null, trace: null, unit: null};

// ------------------------------------------------------------------ colour scales

function interpolate(stops, t) {
  t = Math.min(1, Math.max(0, t));
  for (let k = 1; k < stops.length; k++) {
    if (t <= stops[k][0]) {
      const [t0, c0] = stops[k - 1];
      const [t1, c1] = stops[k];
      const u = (t - t0) / (t1 - t0);
      const rgb = c0.map((v, j) => Math.round(v + u * (c1[j] - v)));
      return `rgb(${rgb.join(",")})`;
    }
  }
  return `rgb(${stops[stops.length - 1][1].join(",")})`;
}

// A scale maps a value to a colour: gates on [0, 1] (viridis), h on [-m, m] (blue-white-red).
function gateScale() {
  return {low: 0, high: 1, stops: VIRIDIS, label: "gate activation σ(·)"};
}

function stateScale(values) {
  let m = 1;
  for (const row of values) for (const v of row) m = Math.max(m, Math.abs(v));
  return {low: -m, high: m, stops: DIVERGING, label: "hidden state h"};
}

function colour(scale, v) {
  return interpolate(scale.stops, (v - scale.low) / (scale.high - scale.low));
}

function textColourOn(scale, v) {  // dark text on light cells, light text on dark ones
  const t = (v - scale.low) / (scale.high - scale.low);
  if (scale.stops === VIRIDIS) return t > 0.55 ? "#111" : "#fff";
  if (scale.stops === BLUES) return t > 0.5 ? "#fff" : "#111";
  return Math.abs(t - 0.5) > 0.3 ? "#fff" : "#111";
}

// ------------------------------------------------------------------ small DOM helpers

function el(tag, attrs = {}, text = null) {
  const node = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== null) node.textContent = text;
  return node;
}

function show(id, visible = true) {
  $(id).hidden = !visible;
}

function fmt(v, digits = 3) {
  return Number(v).toFixed(digits);
}

function short(token, n = 10) {
  return token.length > n ? token.slice(0, n - 1) + "…" : token;
}

function legend(container, scale) {
  container.replaceChildren();
  const width = 240;
  const svg = el("svg:svg", {width: width + 10 + 8 * scale.label.length + 20, height: 34, class: "legend-bar"});
  const defs = el("svg:defs");
  const grad = el("svg:linearGradient", {id: `grad-${container.id}`});
  for (let k = 0; k <= 10; k++) {
    grad.append(el("svg:stop", {offset: `${k * 10}%`, "stop-color": interpolate(scale.stops, k / 10)}));
  }
  defs.append(grad);
  svg.append(defs);
  svg.append(el("svg:rect", {x: 0, y: 2, width, height: 12, fill: `url(#grad-${container.id})`, stroke: "#999"}));
  const mid = (scale.low + scale.high) / 2;
  [[0, scale.low], [width / 2, mid], [width, scale.high]].forEach(([x, v]) => {
    svg.append(el("svg:text", {x, y: 28, "text-anchor": x === 0 ? "start" : x === width ? "end" : "middle"},
                  fmt(v, 2)));
  });
  svg.append(el("svg:text", {x: width + 10, y: 13}, scale.label));
  container.append(svg);
}

// ------------------------------------------------------------------ API

async function api(path, body) {
  const init = body === undefined ? {} : {method: "POST", headers: {"Content-Type": "application/json"},
                                         body: JSON.stringify(body)};
  const res = await fetch(path, init);
  let data = null;
  try {
    data = await res.json();
  } catch (e) {
    throw new Error(`${path}: HTTP ${res.status} without a JSON body`);
  }
  if (!res.ok) throw new Error(data && data.error ? data.error : `${path}: HTTP ${res.status}`);
  return data;
}

function fail(err) {
  $("error").textContent = err.message || String(err);
  show("error");
  document.body.dataset.state = "error";
}

// ------------------------------------------------------------------ prediction and next words

function renderPrediction(prediction) {
  const box = $("prediction");
  box.replaceChildren();
  const probs = prediction.probs || prediction.probabilities || {};
  const label = el("div", {class: "label", id: "predicted-label"}, prediction.label);
  box.append(label);
  const bars = el("div", {class: "bars"});
  const entries = Object.entries(probs).sort((a, b) => b[1] - a[1]);
  for (const [name, p] of entries) {
    bars.append(bar(name, p, name === prediction.label));
  }
  box.append(bars);
  if (prediction.unknown_tokens) {
    box.append(el("p", {class: "muted"}, `${prediction.unknown_tokens} word(s) unknown to the model (read as <unk>)`));
  }
  show("prediction-panel");
}

function bar(name, p, strong) {
  const row = el("div", {class: "bar" + (strong ? " strong" : "")});
  row.append(el("span", {class: "bar-name"}, name));
  const track = el("span", {class: "bar-track"});
  const fill = el("span", {class: "bar-fill"});
  fill.style.width = `${Math.max(0.5, 100 * p)}%`;
  track.append(fill);
  row.append(track);
  row.append(el("span", {class: "bar-value"}, fmt(p)));
  return row;
}

function renderNext(tokens) {
  const box = $("next");
  box.replaceChildren();
  const bars = el("div", {class: "bars"});
  tokens.forEach((t, k) => bars.append(bar(JSON.stringify(t.token), t.prob, k === 0)));
  box.append(bars);
  show("next-panel");
}

// ------------------------------------------------------------------ gates heatmap

function layerKey(l) {
  return `${l.layer}/${l.direction}`;
}

function chosenLayer() {
  const key = $("layer").value;
  return state.trace.layers.find((l) => layerKey(l) === key) || state.trace.layers[state.trace.layers.length - 1];
}

// The rows to draw: per gate either every unit or the mean over units, then h.
function gateBlocks(layer, view) {
  const names = state.trace.picture_gates.filter((g) => g in layer.gates);  // sigmoid gates, in [0, 1]
  const blocks = names.map((g) => ({name: g, values: layer.gates[g], scale: gateScale()}));
  blocks.push({name: "h", values: layer.h, scale: stateScale(layer.h)});
  return blocks.map((b) => {
    const T = b.values.length;
    const H = T ? b.values[0].length : 0;
    if (view === "summary") {
      const mean = b.values.map((row) => row.reduce((s, v) => s + v, 0) / H);
      return {...b, rows: [{label: `${b.name} (mean)`, unit: null, values: mean}]};
    }
    const rows = [];
    for (let u = 0; u < H; u++) rows.push({label: `${b.name} ${u}`, unit: u, values: b.values.map((row) => row[u])});
    return {...b, rows};
  });
}

function geometry(tokens) {
  const longest = Math.max(...tokens.map((t) => short(t).length));
  const column = Math.max(30, Math.min(64, 8 * longest + 8));
  return {left: 118, column, top: 30};
}

function renderGates() {
  const trace = state.trace;
  const layer = chosenLayer();
  const view = $("view").value;
  const blocks = gateBlocks(layer, view);
  const tokens = trace.tokens;
  const T = tokens.length;
  const g = geometry(tokens);
  const H = blocks[0].rows.length;
  const rowHeight = view === "summary" ? 24 : Math.max(2, Math.min(12, Math.floor(160 / Math.max(1, H))));
  const gap = 26;
  let height = g.top;
  const placed = blocks.map((b) => {
    const y = height + 16;
    height = y + b.rows.length * rowHeight + gap - 16;
    return {...b, y};
  });
  const width = g.left + T * g.column + 10;
  const svg = el("svg:svg", {width, height, id: "gates-svg", "data-tokens": T});
  // Block titles and row labels (left).
  for (const b of placed) {
    svg.append(el("svg:text", {x: 4, y: b.y - 4, class: "block-title"}, state.trace.titles[b.name] || b.name));
    if (view === "summary") continue;
    const step = Math.max(1, Math.ceil(14 / rowHeight));
    b.rows.forEach((r, k) => {
      if (k % step === 0) {
        svg.append(el("svg:text", {x: g.left - 4, y: b.y + k * rowHeight + rowHeight / 2 + 4,
                                   class: "unit-label", "text-anchor": "end"}, `${r.unit}`));
      }
    });
  }
  // One column per token: its label on top, then a cell for every row of every block.
  for (let t = 0; t < T; t++) {
    const x = g.left + t * g.column;
    const column = el("svg:g", {class: "column", "data-index": t, "data-token": tokens[t]});
    column.append(el("svg:text", {x: x + g.column / 2, y: g.top - 10, class: "token", "text-anchor": "middle"},
                     short(tokens[t])));
    for (const b of placed) {
      b.rows.forEach((r, k) => {
        const v = r.values[t];
        const rect = el("svg:rect", {x, y: b.y + k * rowHeight, width: g.column - 1, height: rowHeight,
                                      fill: colour(b.scale, v), class: "cell", "data-gate": b.name});
        const who = r.unit === null ? `mean of ${b.name}` : `${b.name}, unit ${r.unit}`;
        rect.append(el("svg:title", {}, `${tokens[t]} · ${who} = ${fmt(v, 4)}`));
        if (r.unit !== null) rect.addEventListener("click", () => chooseUnit(b.name, r.unit));
        column.append(rect);
        if (view === "summary") {
          column.append(el("svg:text", {x: x + g.column / 2, y: b.y + k * rowHeight + rowHeight / 2 + 4,
                                        class: "cell-value", style: `fill: ${textColourOn(b.scale, v)}`,
                                        "text-anchor": "middle"}, fmt(v, 2)));
        }
      });
    }
    svg.append(column);
  }
  if (view === "summary") {
    for (const b of placed) svg.append(el("svg:text", {x: g.left - 4, y: b.y + 16, class: "unit-label",
                                                         "text-anchor": "end"}, "mean"));
  }
  $("gates").replaceChildren(svg);
  $("gates-hint").hidden = view === "summary";
  const scales = el("div", {id: "gates-legend-parts"});
  $("gates-legend").replaceChildren(scales);
  const gatePart = el("div", {id: "legend-gates"});
  const statePart = el("div", {id: "legend-state"});
  scales.append(gatePart, statePart);
  if (placed.length > 1) legend(gatePart, placed[0].scale);
  legend(statePart, placed[placed.length - 1].scale);
  show("gates-panel");
}

// ------------------------------------------------------------------ one unit over the text

function busiestUnit(values) {  // the unit of values (T, H) whose activation varies most over the text
  const T = values.length;
  let best = 0;
  let bestVar = -1;
  for (let u = 0; u < values[0].length; u++) {
    let s = 0;
    let s2 = 0;
    for (let t = 0; t < T; t++) {
      s += values[t][u];
      s2 += values[t][u] * values[t][u];
    }
    const v = s2 / T - (s / T) ** 2;
    if (v > bestVar) {
      bestVar = v;
      best = u;
    }
  }
  return best;
}

function chooseUnit(gate, unit) {
  state.unit = {gate, unit};
  renderUnit();
}

function renderUnit() {
  const layer = chosenLayer();
  if (!state.unit || !(state.unit.gate === "h" || state.unit.gate in layer.gates)) {
    state.unit = {gate: "h", unit: busiestUnit(layer.h)};
  }
  const {gate, unit} = state.unit;
  const values = gate === "h" ? layer.h : layer.gates[gate];
  const scale = gate === "h" ? stateScale(values) : gateScale();
  $("unit-title").textContent = `${state.trace.titles[gate] || gate}, unit ${unit} (layer ${layer.layer}, ${layer.direction})`;
  const box = $("unit-text");
  box.replaceChildren();
  state.trace.tokens.forEach((token, t) => {
    const v = values[t][unit];
    const span = el("span", {class: "tok", title: `${fmt(v, 4)}`}, token);
    span.style.background = colour(scale, v);
    span.style.color = textColourOn(scale, v);
    box.append(span);
  });
  legend($("unit-legend"), scale);
  show("unit-panel");
}

// ------------------------------------------------------------------ hidden-state norm

function renderNorm() {
  const trace = state.trace;
  const T = trace.tokens.length;
  const g = geometry(trace.tokens);
  const plotHeight = 150;
  const top = 14;
  const width = g.left + T * g.column + 10;
  const height = top + plotHeight + 40;
  let max = 0;
  for (const l of trace.layers) for (const v of l.h_norm) max = Math.max(max, v);
  max = max > 0 ? max * 1.1 : 1;
  const y = (v) => top + plotHeight - (v / max) * plotHeight;
  const svg = el("svg:svg", {width, height, id: "norm-svg"});
  svg.append(el("svg:line", {x1: g.left, y1: top + plotHeight, x2: width - 10, y2: top + plotHeight, class: "axis"}));
  svg.append(el("svg:line", {x1: g.left, y1: top, x2: g.left, y2: top + plotHeight, class: "axis"}));
  [0, max / 2, max].forEach((v) => {
    svg.append(el("svg:text", {x: g.left - 6, y: y(v) + 4, "text-anchor": "end", class: "unit-label"}, fmt(v, 2)));
    svg.append(el("svg:line", {x1: g.left, y1: y(v), x2: width - 10, y2: y(v), class: "grid"}));
  });
  svg.append(el("svg:text", {x: 4, y: top + plotHeight / 2, class: "block-title"}, "‖h_t‖₂"));
  trace.layers.forEach((l, k) => {
    const c = LINE_COLOURS[k % LINE_COLOURS.length];
    const points = l.h_norm.map((v, t) => `${g.left + t * g.column + g.column / 2},${y(v)}`).join(" ");
    svg.append(el("svg:polyline", {points, fill: "none", stroke: c, "stroke-width": 2,
                                   "stroke-dasharray": l.direction === "backward" ? "5,3" : "none"}));
    l.h_norm.forEach((v, t) => {
      const dot = el("svg:circle", {cx: g.left + t * g.column + g.column / 2, cy: y(v), r: 3, fill: c});
      dot.append(el("svg:title", {}, `${trace.tokens[t]} · layer ${l.layer} ${l.direction}: ${fmt(v, 4)}`));
      svg.append(dot);
    });
    svg.append(el("svg:text", {x: g.left + 8 + 150 * k, y: height - 6, style: `fill: ${c}`, class: "series"},
                  `layer ${l.layer} ${l.direction}`));
  });
  trace.tokens.forEach((tok, t) => {
    svg.append(el("svg:text", {x: g.left + t * g.column + g.column / 2, y: top + plotHeight + 16,
                               "text-anchor": "middle", class: "token"}, short(tok)));
  });
  $("norm").replaceChildren(svg);
  show("norm-panel");
}

// ------------------------------------------------------------------ translation

function renderTranslation(result) {
  renderPrediction({label: result.translation, probs: {}});
  const src = result.source_tokens;
  const tgt = result.target_tokens;
  if (result.attention) {
    const scale = {low: 0, high: 1, stops: VIRIDIS, label: "attention weight"};
    const cell = 34;
    const left = 110;
    const top = 70;
    const svg = el("svg:svg", {width: left + src.length * cell + 10, height: top + tgt.length * cell + 10,
                               id: "attention-svg"});
    src.forEach((s, j) => {
      const x = left + j * cell + cell / 2;
      svg.append(el("svg:text", {x, y: top - 8, transform: `rotate(-45 ${x} ${top - 8})`, class: "token"}, short(s)));
    });
    tgt.forEach((w, i) => {
      svg.append(el("svg:text", {x: left - 6, y: top + i * cell + cell / 2 + 4, "text-anchor": "end", class: "token"},
                    short(w)));
      result.attention[i].forEach((a, j) => {
        const rect = el("svg:rect", {x: left + j * cell, y: top + i * cell, width: cell - 1, height: cell - 1,
                                     fill: colour(scale, a)});
        rect.append(el("svg:title", {}, `${w} ← ${src[j]}: ${fmt(a, 4)}`));
        svg.append(rect);
      });
    });
    $("attention").replaceChildren(svg);
    legend($("attention-legend"), scale);
    show("attention-panel");
  }
  const list = $("beam");
  list.replaceChildren();
  for (const c of result.candidates || []) {
    const item = el("li");
    item.append(el("span", {class: "score"}, fmt(c.score, 3)), el("span", {}, c.text));
    list.append(item);
  }
  show("beam-panel", (result.candidates || []).length > 0);
}

// ------------------------------------------------------------------ language models: streaming generation

async function generate() {
  const box = $("generated");
  box.replaceChildren();
  const body = {model: state.model.name, prompt: $("text").value, length: Number($("gen-length").value),
                temperature: Number($("gen-temperature").value), seed: Number($("gen-seed").value)};
  const res = await fetch("/api/generate", {method: "POST", headers: {"Content-Type": "application/json"},
                                            body: JSON.stringify(body)});
  if (!res.ok) {
    const data = await res.json().catch(() => ({}));
    throw new Error(data.error || `/api/generate: HTTP ${res.status}`);
  }
  box.append(el("span", {class: "prompt"}, body.prompt));
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let pending = "";
  const scale = {low: 0, high: 1, stops: BLUES, label: "probability of the sampled token"};
  legend($("generated-legend"), scale);
  for (;;) {
    const {value, done} = await reader.read();
    if (done) break;
    pending += decoder.decode(value, {stream: true});
    const events = pending.split("\n\n");
    pending = events.pop();
    for (const event of events) {
      const line = event.split("\n").find((l) => l.startsWith("data:"));
      if (!line) continue;
      const data = JSON.parse(line.slice(5));
      if (data.error) throw new Error(data.error);
      if (data.done) {
        box.dataset.done = "true";
        continue;
      }
      const span = el("span", {class: "gen", title: `p = ${fmt(data.prob, 4)}`});
      const word = el("span", {class: "gen-token"}, data.token);
      word.style.background = colour(scale, data.prob);
      word.style.color = textColourOn(scale, data.prob);
      span.append(word, el("span", {class: "gen-prob"}, fmt(data.prob, 2)));
      box.append(span);
    }
  }
}

// ------------------------------------------------------------------ speech

async function transcribe() {
  const file = $("audio").files[0];
  if (!file) throw new Error("choose a WAV file first");
  const form = new FormData();
  form.append("audio", file);
  const res = await fetch(`/api/transcribe?model=${encodeURIComponent(state.model.name)}`, {method: "POST",
                                                                                            body: form});
  const out = await res.json();
  if (!res.ok) throw new Error(out.error || `HTTP ${res.status}`);
  $("transcript").textContent = out.text;
}

// ------------------------------------------------------------------ the run

function resetPanels() {
  for (const id of ["prediction-panel", "next-panel", "generate-panel", "gates-panel", "unit-panel", "norm-panel",
                    "attention-panel", "beam-panel", "transcribe-panel"]) show(id, false);
  show("error", false);
}

function writeUrl() {
  const params = new URLSearchParams();
  params.set("model", state.model.name);
  if ($("text").value) params.set("text", $("text").value);
  if (state.trace) params.set("layer", $("layer").value);
  if ($("view").value !== "units") params.set("view", $("view").value);
  history.replaceState(null, "", `/?${params.toString()}`);
}

function fillLayers(trace, wanted) {
  const select = $("layer");
  select.replaceChildren();
  for (const l of trace.layers) select.append(el("option", {value: layerKey(l)}, `layer ${l.layer} ${l.direction}`));
  const keys = trace.layers.map(layerKey);
  const top = Math.max(...trace.layers.map((l) => l.layer));
  select.value = keys.includes(wanted) ? wanted : `${top}/forward`;  // default: the top layer, forward
}

async function run() {
  resetPanels();
  const text = $("text").value;
  const model = state.model;
  document.body.dataset.state = "loading";
  writeUrl();
  if (model.endpoints.includes("transcribe")) {
    show("transcribe-panel");
    document.body.dataset.state = "done";
    return;
  }
  if (!text.trim()) {
    document.body.dataset.state = "idle";
    return;
  }
  const work = [];
  if (model.endpoints.includes("trace")) {
    work.push(api("/api/trace", {model: model.name, text}).then((data) => {
      state.trace = data;
      fillLayers(data, new URLSearchParams(location.search).get("layer"));
      if (data.prediction) renderPrediction(data.prediction);
      renderGates();
      renderUnit();
      renderNorm();
    }));
  } else if (model.endpoints.includes("predict")) {
    work.push(api("/api/predict", {model: model.name, inputs: [text]}).then((d) => renderPrediction(d.results[0])));
  }
  if (model.endpoints.includes("translate")) {
    work.push(api("/api/translate", {model: model.name, texts: [text], beam: 5, attention: true})
      .then((d) => renderTranslation(d.results[0])));
  }
  if (model.endpoints.includes("next_tokens")) {
    work.push(api("/api/next_tokens", {model: model.name, prompt: text, k: 10}).then((d) => renderNext(d.tokens)));
  }
  await Promise.all(work);
  writeUrl();
  if (model.endpoints.includes("generate")) {
    show("generate-panel");
    await generate();
  }
  document.body.dataset.state = "done";
}

function chooseModel(name) {
  state.model = state.models.find((m) => m.name === name) || state.models[0];
  $("model").value = state.model.name;
  const labels = state.model.labels ? ` · labels: ${state.model.labels.join(", ")}` : "";
  $("model-info").textContent = `${state.model.task} · ${state.model.cell || "?"}${labels}`;
  $("text").placeholder = state.model.endpoints.includes("generate") ? "a prompt to continue"
    : state.model.endpoints.includes("translate") ? "a sentence to translate" : "type a sentence";
}

async function start() {
  const params = new URLSearchParams(location.search);
  const data = await api("/api/models");
  state.models = data.models;
  if (!state.models.length) throw new Error("the server serves no models: start it with `rnnkit serve DIR`");
  for (const m of state.models) $("model").append(el("option", {value: m.name}, `${m.name} (${m.task})`));
  const wanted = params.get("model");
  if (wanted && !state.models.some((m) => m.name === wanted)) {
    fail(new Error(`no model named ${JSON.stringify(wanted)}; pick one of ${state.models.map((m) => m.name).join(", ")}`));
  }
  chooseModel(wanted);
  $("text").value = params.get("text") || "";
  if (params.get("view") === "summary") $("view").value = "summary";
  $("model").addEventListener("change", () => {
    chooseModel($("model").value);
    state.trace = null;
    run().catch(fail);
  });
  $("ask").addEventListener("submit", (e) => {
    e.preventDefault();
    run().catch(fail);
  });
  for (const id of ["layer", "view"]) {
    $(id).addEventListener("change", () => {
      if (!state.trace) return;
      writeUrl();
      renderGates();
      renderUnit();
    });
  }
  $("gen-run").addEventListener("click", () => generate().catch(fail));
  $("transcribe-run").addEventListener("click", () => transcribe().catch(fail));
  if ($("error").hidden) {
    await run();
  }
}

start().catch(fail);
