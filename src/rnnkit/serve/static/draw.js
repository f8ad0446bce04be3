// rnnkit's page, the drawing shared by its views (explore, lecture, compare): colour scales, probability bars,
// the gates heatmap and the attention matrix. Plain JavaScript and SVG, no libraries; every number comes from
// the JSON API (/docs).
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const VIRIDIS = [[0, [68, 1, 84]], [0.25, [59, 82, 139]], [0.5, [33, 145, 140]], [0.75, [94, 201, 98]],
                 [1, [253, 231, 37]]];
const BLUES = [[0, [247, 251, 255]], [0.5, [107, 174, 214]], [1, [8, 48, 107]]];
const DIVERGING = [[0, [33, 102, 172]], [0.5, [247, 247, 247]], [1, [178, 24, 43]]];
const LINE_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"];

const $ = (id) => document.getElementById(id);

// ------------------------------------------------------------------ colour scales

function rgbAt(stops, t) {
  t = Math.min(1, Math.max(0, t));
  for (let k = 1; k < stops.length; k++) {
    if (t <= stops[k][0]) {
      const [t0, c0] = stops[k - 1];
      const [t1, c1] = stops[k];
      const u = (t - t0) / (t1 - t0);
      return c0.map((v, j) => Math.round(v + u * (c1[j] - v)));
    }
  }
  return stops[stops.length - 1][1];
}

function interpolate(stops, t) {
  return `rgb(${rgbAt(stops, t).join(",")})`;
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

function luminance(rgb) {  // WCAG relative luminance of an sRGB colour
  const [r, g, b] = rgb.map((c) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

function textColourOn(scale, v) {  // black or white, whichever contrasts more with the cell (WCAG ratio)
  const L = luminance(rgbAt(scale.stops, (v - scale.low) / (scale.high - scale.low)));
  return (L + 0.05) / 0.05 >= 1.05 / (L + 0.05) ? "#000" : "#fff";
}

// ------------------------------------------------------------------ small helpers

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

// A probability as people read it: 3 significant digits, small ones in scientific form (never 0.000).
function fmtProb(p) {
  p = Number(p);
  if (p === 0) return "0";
  return p >= 0.001 ? p.toPrecision(3) : p.toExponential(2);
}

// A token as it is shown: line breaks as ↵, spaces as ·, tabs as ⇥ (so no chip is blank).
function visible(token) {
  if (token === "<eos>" || token === "\n") return "↵";
  if (token === "") return "∅";
  return token.replace(/\n/g, "↵").replace(/\t/g, "⇥").replace(/ /g, "·");
}

function short(token, n = 24) {
  const shown = visible(token);
  return shown.length > n ? shown.slice(0, n - 1) + "…" : shown;
}

function textWidth(text, px = 12) {  // an estimate of SVG text width, for layout before drawing
  return 0.62 * px * text.length;
}

function legend(container, scale) {
  container.replaceChildren();
  const width = 240;
  const svg = el("svg:svg", {width: width + 10 + 8 * scale.label.length + 20, height: 34, class: "legend-bar",
                             role: "img", "aria-label": `colour scale: ${scale.label}, ${fmt(scale.low, 2)} to ` +
                             `${fmt(scale.high, 2)}`});
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

// ------------------------------------------------------------------ probability bars

// One row: name, a bar (its length p / most, so the largest fills the track), the probability.
function bar(name, p, most, strong) {
  const row = el("div", {class: "bar" + (strong ? " strong" : "")});
  row.append(el("span", {class: "bar-name", title: name}, name));
  const track = el("span", {class: "bar-track"});
  const fill = el("span", {class: "bar-fill"});
  fill.style.width = `${Math.max(1, 100 * p / (most || 1))}%`;
  track.append(fill);
  row.append(track);
  row.append(el("span", {class: "bar-value"}, fmtProb(p)));
  return row;
}

// Class probabilities: the label, and one bar per class on the [0, 1] scale.
function predictionBox(prediction) {
  const box = el("div", {class: "prediction"});
  box.append(el("div", {class: "label predicted-label"}, prediction.label));
  const bars = el("div", {class: "bars"});
  const entries = Object.entries(prediction.probs || {}).sort((a, b) => b[1] - a[1]);
  for (const [name, p] of entries) bars.append(bar(name, p, 1, name === prediction.label));
  box.append(bars);
  if (prediction.unknown_tokens) {
    box.append(el("p", {class: "muted"}, `${prediction.unknown_tokens} word(s) unknown to the model (read as <unk>)`));
  }
  return box;
}

// Next tokens, best first: bars scaled to the most probable one (said under them); `answer` is highlighted.
function nextTokensBox(tokens, answer = null) {
  const box = el("div", {class: "next-tokens"});
  const bars = el("div", {class: "bars"});
  const most = tokens.length ? tokens[0].prob : 1;
  tokens.forEach((t, k) => {
    const row = bar(visible(t.token), t.prob, most, k === 0);
    row.dataset.token = t.token;
    if (answer !== null && t.token === answer) row.classList.add("answer");
    bars.append(row);
  });
  box.append(bars);
  box.append(el("p", {class: "muted scale-note"}, `bar length relative to the most probable (${fmtProb(most)})`));
  return box;
}

// ------------------------------------------------------------------ the gates heatmap

// The rows to draw: per shown gate (then h) the key units (mode "key", the same units in every block), every
// unit ("all") or the mean over units ("summary").
function gateBlocks(trace, layer, mode) {
  const names = trace.picture_gates.filter((g) => g in layer.gates);  // sigmoid gates, in [0, 1]
  const blocks = names.map((g) => ({name: g, values: layer.gates[g], scale: gateScale()}));
  blocks.push({name: "h", values: layer.h, scale: stateScale(layer.h)});
  const H = layer.h.length ? layer.h[0].length : 0;
  const units = mode === "key" ? layer.key_units : [...Array(H).keys()];
  return blocks.map((b) => {
    if (mode === "summary") {
      const mean = b.values.map((row) => row.reduce((s, v) => s + v, 0) / H);
      return {...b, rows: [{label: `${b.name} (mean)`, unit: null, values: mean}]};
    }
    return {...b, rows: units.map((u) => ({label: `${b.name} ${u}`, unit: u, values: b.values.map((row) => row[u])}))};
  });
}

// Column width and header height for T tokens in `width` pixels: the columns share the width (14 to 64 px
// each); a header that does not fit its column is drawn slanted, whole.
function geometry(tokens, width) {
  const left = 118;
  const fit = (room) => Math.max(14, Math.min(64, Math.floor((width - left - room) / Math.max(1, tokens.length))));
  const longest = Math.max(...tokens.map((t) => textWidth(short(t))));
  let column = fit(12);
  const slanted = longest > column - 4;
  const reach = slanted ? Math.ceil(longest * 0.71) : 0;  // how far a slanted header reaches right and up
  if (slanted) column = fit(12 + reach);
  const top = slanted ? 16 + reach : 30;
  return {left, column, top, slanted, right: 10 + reach};
}

function tokenHeader(x, y, token, slanted) {
  const attrs = slanted ? {x, y, class: "token", "text-anchor": "start", transform: `rotate(-45 ${x} ${y})`}
    : {x, y, class: "token", "text-anchor": "middle"};
  const text = el("svg:text", attrs, short(token));
  text.append(el("svg:title", {}, token));
  return text;
}

// The heatmap of one layer: a block per gate, a column per token. onPick(gate, unit) on a click.
function drawGates(trace, layer, mode, width, onPick) {
  const blocks = gateBlocks(trace, layer, mode);
  const tokens = trace.tokens;
  const T = tokens.length;
  const g = geometry(tokens, width);
  const H = blocks[0].rows.length;
  const rowHeight = mode === "summary" ? 24 : Math.max(2, Math.min(12, Math.floor(160 / Math.max(1, H))));
  const gap = 26;
  let height = g.top;
  const placed = blocks.map((b) => {
    const y = height + 16;
    height = y + b.rows.length * rowHeight + gap - 16;
    return {...b, y};
  });
  const svgWidth = g.left + T * g.column + g.right;
  const svg = el("svg:svg", {width: svgWidth, height, class: "gates-svg", "data-tokens": T, "data-mode": mode});
  for (const b of placed) {
    svg.append(el("svg:text", {x: 4, y: b.y - 4, class: "block-title"}, trace.titles[b.name] || b.name));
    if (mode === "summary") continue;
    const step = Math.max(1, Math.ceil(12 / rowHeight));
    b.rows.forEach((r, k) => {
      if (k % step === 0) {
        svg.append(el("svg:text", {x: g.left - 4, y: b.y + k * rowHeight + rowHeight / 2 + 4,
                                   class: "unit-label", "text-anchor": "end"}, `${r.unit}`));
      }
    });
  }
  for (let t = 0; t < T; t++) {
    const x = g.left + t * g.column;
    const column = el("svg:g", {class: "column", "data-index": t, "data-token": tokens[t]});
    column.append(tokenHeader(x + g.column / 2, g.top - 8, tokens[t], g.slanted));
    for (const b of placed) {
      b.rows.forEach((r, k) => {
        const v = r.values[t];
        const rect = el("svg:rect", {x, y: b.y + k * rowHeight, width: g.column - 1, height: rowHeight,
                                      fill: colour(b.scale, v), class: "cell", "data-gate": b.name,
                                      "data-unit": r.unit === null ? "mean" : r.unit});
        const who = r.unit === null ? `mean of ${b.name}` : `${b.name}, unit ${r.unit}`;
        rect.append(el("svg:title", {}, `token “${visible(tokens[t])}” · ${who} = ${fmt(v, 4)}`));
        if (r.unit !== null && onPick) rect.addEventListener("click", () => onPick(b.name, r.unit));
        column.append(rect);
        if (mode === "summary") {
          column.append(el("svg:text", {x: x + g.column / 2, y: b.y + k * rowHeight + rowHeight / 2 + 4,
                                        class: "cell-value", style: `fill: ${textColourOn(b.scale, v)}`,
                                        "text-anchor": "middle"}, fmt(v, 2)));
        }
      });
    }
    svg.append(column);
  }
  if (mode === "summary") {
    for (const b of placed) svg.append(el("svg:text", {x: g.left - 4, y: b.y + 16, class: "unit-label",
                                                         "text-anchor": "end"}, "mean"));
  }
  return {svg, gateScale: placed.length > 1 ? placed[0].scale : null, stateScale: placed[placed.length - 1].scale};
}

// What the key units are, in one sentence (the criterion comes with the trace).
function keyUnitsNote(trace, layer) {
  const H = layer.h.length ? layer.h[0].length : 0;
  const gates = trace.shown_gates.join(", ");
  return `the ${layer.key_units.length} of ${H} units ranked first by ${trace.key_units_criterion} ` +
         `(${gates}), best first; the same units in every block`;
}

// ------------------------------------------------------------------ the attention matrix

function drawAttention(result) {
  const src = result.source_tokens;
  const tgt = result.target_tokens;
  const scale = {low: 0, high: 1, stops: VIRIDIS, label: "attention weight"};
  const cell = 34;
  const left = 110;
  const top = 70;
  const svg = el("svg:svg", {width: left + src.length * cell + 10, height: top + tgt.length * cell + 10,
                             class: "attention-svg"});
  src.forEach((s, j) => {
    const x = left + j * cell + cell / 2;
    svg.append(el("svg:text", {x, y: top - 8, transform: `rotate(-45 ${x} ${top - 8})`, class: "token"}, short(s, 12)));
  });
  tgt.forEach((w, i) => {
    svg.append(el("svg:text", {x: left - 6, y: top + i * cell + cell / 2 + 4, "text-anchor": "end", class: "token"},
                  short(w, 14)));
    result.attention[i].forEach((a, j) => {
      const rect = el("svg:rect", {x: left + j * cell, y: top + i * cell, width: cell - 1, height: cell - 1,
                                   fill: colour(scale, a), class: "att"});
      rect.append(el("svg:title", {}, `${w} ← ${src[j]}: ${fmt(a, 4)}`));
      svg.append(rect);
    });
  });
  return {svg, scale};
}
