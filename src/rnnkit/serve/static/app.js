// rnnkit's page: the lecture's examples (lecture.js), two models side by side (compare.js), and one model
// explored here: pick a model, type a sentence, see what every gate did at every token.
// Plain JavaScript and SVG, no libraries; every number shown comes from the JSON API (/docs).
// State lives in the URL (/?page=explore&model=NAME&text=...&layer=0/forward&view=key), so a link shows a result.
"use strict";

const state = {models: [], model: null, trace: null, unit: null};

function fail(err) {
  $("error").textContent = err.message || String(err);
  show("error");
  document.body.dataset.state = "error";
}

// ------------------------------------------------------------------ prediction and next words

function renderPrediction(prediction) {
  const box = predictionBox(prediction);
  box.querySelector(".predicted-label").id = "predicted-label";
  $("prediction").replaceChildren(box);
  show("prediction-panel");
}

function renderNext(tokens) {
  $("next").replaceChildren(nextTokensBox(tokens));
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

function panelWidth(id) {  // the inner width a panel gives its picture
  return Math.max(320, $(id).clientWidth || 1100);
}

function renderGates() {
  show("gates-panel");  // shown first: the picture is laid out to the panel's width
  const layer = chosenLayer();
  const mode = $("view").value;
  const drawn = drawGates(state.trace, layer, mode, panelWidth("gates"), chooseUnit);
  drawn.svg.id = "gates-svg";
  $("gates").replaceChildren(drawn.svg);
  $("gates-hint").hidden = mode === "summary";
  const H = layer.h.length ? layer.h[0].length : 0;
  $("gates-note").textContent = mode === "key" ? `Rows: ${keyUnitsNote(state.trace, layer)}. “show all” draws all ${H}.`
    : mode === "all" ? `Rows: all ${H} units, in unit order.` : `Rows: each gate's mean over the ${H} units.`;
  const scales = el("div", {id: "gates-legend-parts"});
  $("gates-legend").replaceChildren(scales);
  const gatePart = el("div", {id: "legend-gates"});
  const statePart = el("div", {id: "legend-state"});
  scales.append(gatePart, statePart);
  if (drawn.gateScale) legend(gatePart, drawn.gateScale);
  legend(statePart, drawn.stateScale);
  show("gates-panel");
}

// ------------------------------------------------------------------ one unit over the text

function chooseUnit(gate, unit) {
  state.unit = {gate, unit, picked: true};
  renderUnit();
}

// Without a click: h of the unit ranked first (the top key unit), and the page says so.
function renderUnit() {
  const layer = chosenLayer();
  if (!state.unit || !(state.unit.gate === "h" || state.unit.gate in layer.gates)) {
    state.unit = {gate: "h", unit: layer.key_units[0], picked: false};
  }
  const {gate, unit, picked} = state.unit;
  const values = gate === "h" ? layer.h : layer.gates[gate];
  const scale = gate === "h" ? stateScale(values) : gateScale();
  const title = state.trace.titles[gate] || gate;
  $("unit-title").textContent = `${title}, unit ${unit} (layer ${layer.layer}, ${layer.direction})`;
  const H = layer.h[0].length;
  $("unit-why").textContent = picked ? `Chosen by you: a click on its row of the ${title} block.`
    : `Why this unit: it is ranked first of ${H} by ${state.trace.key_units_criterion} ` +
      `(${state.trace.shown_gates.join(", ")}), score ${fmtProb(layer.unit_scores[unit])}; ` +
      "it is the top row of every block above. Click any row to choose another.";
  const box = $("unit-text");
  box.replaceChildren();
  state.trace.tokens.forEach((token, t) => {
    const v = values[t][unit];
    const span = el("span", {class: "tok", title: `token “${visible(token)}” · ${gate}, unit ${unit} = ${fmt(v, 4)}`},
                    visible(token));
    span.style.background = colour(scale, v);
    span.style.color = textColourOn(scale, v);
    box.append(span);
  });
  legend($("unit-legend"), scale);
  show("unit-panel");
}

// ------------------------------------------------------------------ hidden-state norm

function renderNorm() {
  show("norm-panel");
  const trace = state.trace;
  const T = trace.tokens.length;
  const g = geometry(trace.tokens, panelWidth("norm"));
  const plotHeight = 150;
  const top = 14;
  const width = g.left + T * g.column + 10;
  const labels = g.slanted ? g.top : 24;
  const height = top + plotHeight + labels + 22;
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
      dot.append(el("svg:title", {}, `${visible(trace.tokens[t])} · layer ${l.layer} ${l.direction}: ${fmt(v, 4)}`));
      svg.append(dot);
    });
    svg.append(el("svg:text", {x: g.left + 8 + 150 * k, y: height - 6, style: `fill: ${c}`, class: "series"},
                  `layer ${l.layer} ${l.direction}`));
  });
  trace.tokens.forEach((tok, t) => {
    const x = g.left + t * g.column + g.column / 2;
    const yLabel = top + plotHeight + 16;
    const attrs = g.slanted ? {x, y: yLabel, "text-anchor": "end", class: "token", transform: `rotate(-45 ${x} ${yLabel})`}
      : {x, y: yLabel, "text-anchor": "middle", class: "token"};
    svg.append(el("svg:text", attrs, short(tok)));
  });
  $("norm").replaceChildren(svg);
  show("norm-panel");
}

// ------------------------------------------------------------------ translation

function renderTranslation(result) {
  renderPrediction({label: result.translation, probs: {}});
  if (result.attention) {
    const drawn = drawAttention(result);
    drawn.svg.id = "attention-svg";
    $("attention").replaceChildren(drawn.svg);
    legend($("attention-legend"), drawn.scale);
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
      const span = el("span", {class: "gen", title: `p = ${fmtProb(data.prob)}`});
      const word = el("span", {class: "gen-token"}, visible(data.token));  // ↵ a line break, · a space
      word.style.background = colour(scale, data.prob);
      word.style.color = textColourOn(scale, data.prob);
      span.append(word, el("span", {class: "gen-prob"}, fmtProb(data.prob)));
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
  params.set("page", "explore");
  params.set("model", state.model.name);
  if ($("text").value) params.set("text", $("text").value);
  if (state.trace) params.set("layer", $("layer").value);
  if ($("view").value !== "key") params.set("view", $("view").value);
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
  if (model.endpoints.includes("trace") && model.cell) {  // a bag of words has no recurrent layer to trace
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

const PAGES = ["lecture", "explore", "compare"];

// Which view a URL shows: ?page=…; a link with a model (the explorer's older links) explores; none: the lecture.
function currentPage(params) {
  const page = params.get("page");
  if (PAGES.includes(page)) return page;
  return params.has("model") ? "explore" : "lecture";
}

async function start() {
  const params = new URLSearchParams(location.search);
  const data = await api("/api/models");
  state.models = data.models;
  if (!state.models.length) throw new Error("the server serves no models: start it with `rnnkit serve DIR`");
  const page = currentPage(params);
  for (const p of PAGES) {
    show(`${p}-view`, p === page);
    if (p === page) $(`nav-${p}`).setAttribute("aria-current", "page");
  }
  document.body.dataset.page = page;
  if (page === "lecture") return startLecture();
  if (page === "compare") return startCompare(params);
  for (const m of state.models) $("model").append(el("option", {value: m.name}, `${m.name} (${m.task})`));
  const wanted = params.get("model");
  if (wanted && !state.models.some((m) => m.name === wanted)) {
    fail(new Error(`no model named ${JSON.stringify(wanted)}; pick one of ${state.models.map((m) => m.name).join(", ")}`));
  }
  chooseModel(wanted);
  $("text").value = params.get("text") || "";
  if (["all", "summary"].includes(params.get("view"))) $("view").value = params.get("view");
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
