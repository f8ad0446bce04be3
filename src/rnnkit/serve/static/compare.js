// rnnkit's page, the compare view: two served models on the same inputs, side by side — what each says about
// every input, and the gates of each on the first input (the same key-unit rule on both).
// State in the URL: /?page=compare&a=NAME&b=NAME&text=one%0Aper%20line&gates=key
"use strict";

function compareInputs() {
  return $("compare-text").value.split("\n").map((t) => t.trim()).filter((t) => t);
}

function writeCompareUrl() {
  const params = new URLSearchParams({page: "compare", a: $("compare-a").value, b: $("compare-b").value});
  if ($("compare-text").value.trim()) params.set("text", compareInputs().join("\n"));
  if ($("compare-mode").value !== "key") params.set("gates", $("compare-mode").value);
  history.replaceState(null, "", `/?${params.toString()}`);
}

// What one model says about one input, by what it offers.
async function answerOf(model, text) {
  if (model.endpoints.includes("predict")) {
    const data = await api("/api/predict", {model: model.name, inputs: [text]});
    return predictionBox(data.results[0]);
  }
  if (model.endpoints.includes("next_tokens")) {
    const data = await api("/api/next_tokens", {model: model.name, prompt: text, k: 5});
    return nextTokensBox(data.tokens);
  }
  if (model.endpoints.includes("translate")) {
    const data = await api("/api/translate", {model: model.name, texts: [text], beam: 5, attention: false});
    return el("div", {class: "label predicted-label"}, data.results[0].translation);
  }
  return el("p", {class: "muted"}, `a ${model.task} model takes audio, not text: try it in the explorer`);
}

async function gatesOf(model, text, mode, width) {
  const box = el("div", {class: "compare-gates"});
  if (!model.endpoints.includes("trace") || !model.cell) {
    box.append(el("p", {class: "muted"}, model.cell ? `a ${model.task} model: no gate trace over HTTP`
      : "a bag of words has no recurrent state: it has no gates to show"));
    return box;
  }
  const trace = await api("/api/trace", {model: model.name, text});
  const layer = trace.layers[trace.layers.length - 1];  // the top layer, forward
  const drawn = drawGates(trace, layer, mode, width, null);
  const H = layer.h.length ? layer.h[0].length : 0;
  const note = mode === "key" ? keyUnitsNote(trace, layer) : mode === "all" ? `all ${H} units` : `means over ${H} units`;
  box.append(el("p", {class: "muted"}, `Gates on “${text}”, layer ${layer.layer} ${layer.direction}: ${note}.`));
  const holder = el("div", {class: "scroll"});
  holder.append(drawn.svg);
  box.append(holder);
  return box;
}

async function runCompare() {
  const out = $("compare-out");
  out.replaceChildren();
  writeCompareUrl();
  const inputs = compareInputs();
  if (!inputs.length) {
    document.body.dataset.state = "idle";
    return;
  }
  document.body.dataset.state = "loading";
  const mode = $("compare-mode").value;
  const columns = ["compare-a", "compare-b"].map((id) => state.models.find((m) => m.name === $(id).value));
  const nodes = columns.map((model, k) => {
    const node = el("section", {class: "compare-col panel", id: `compare-col-${k}`, "data-model": model.name});
    const info = model.cell ? `${model.task} · ${model.cell}` : `${model.task} · bag of words`;
    node.append(el("h2", {}, model.name), el("p", {class: "muted"}, info));
    out.append(node);
    return node;
  });
  const width = Math.max(320, nodes[0].clientWidth - 34);
  await Promise.all(columns.map(async (model, k) => {
    const answers = await Promise.all(inputs.map((text) => answerOf(model, text)));
    inputs.forEach((text, i) => {
      const row = el("div", {class: "compare-answer"});
      row.append(el("div", {class: "pair-input"}, text), answers[i]);
      nodes[k].append(row);
    });
    nodes[k].append(await gatesOf(model, inputs[0], mode, width));
  }));
  document.body.dataset.state = "done";
}

function defaultPair() {  // a recurrent model and a bag of words if served (the lecture's pair), else the first two
  const recurrent = state.models.find((m) => m.task === "sentiment" && m.cell);
  const bow = state.models.find((m) => m.task === "sentiment" && !m.cell);
  if (recurrent && bow) return [recurrent.name, bow.name];
  return [state.models[0].name, (state.models[1] || state.models[0]).name];
}

async function startCompare(params) {
  for (const id of ["compare-a", "compare-b"]) {
    for (const m of state.models) $(id).append(el("option", {value: m.name}, `${m.name} (${m.task})`));
  }
  const [a, b] = defaultPair();
  for (const [id, wanted, fallback] of [["compare-a", params.get("a"), a], ["compare-b", params.get("b"), b]]) {
    if (wanted && !state.models.some((m) => m.name === wanted)) {
      fail(new Error(`no model named ${JSON.stringify(wanted)}; pick one of ${state.models.map((m) => m.name).join(", ")}`));
      return;
    }
    $(id).value = wanted || fallback;
  }
  $("compare-text").value = params.get("text") || "";
  if (["all", "summary"].includes(params.get("gates"))) $("compare-mode").value = params.get("gates");
  $("compare-form").addEventListener("submit", (e) => {
    e.preventDefault();
    runCompare().catch(fail);
  });
  await runCompare();
}
