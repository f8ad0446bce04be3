// rnnkit's page, the lecture view: every example of the lecture as a card (GET /api/lecture: its inputs, what to
// look at, the served model and the baseline the lecture names), run on the served models as the page opens.
"use strict";

function exploreLink(model, text) {
  const params = new URLSearchParams({page: "explore", model, text});
  return el("a", {href: `/?${params.toString()}`, class: "card-link"}, `Open “${model}” in the explorer (its gates) →`);
}

function compareLink(a, b, inputs, label) {
  const params = new URLSearchParams({page: "compare", a, b, text: inputs.join("\n")});
  return el("a", {href: `/?${params.toString()}`, class: "card-link"}, label);
}

function modelTitle(name) {
  const m = state.models.find((x) => x.name === name);
  if (!m) return name;
  return m.cell ? `${name} (${m.cell})` : `${name} (bag of words)`;
}

// Two columns: the model and its baseline, one row per input.
function sideBySide(card, headers, cellsFor) {
  const grid = el("div", {class: "pair"});
  grid.append(el("div", {class: "pair-head"}, "input"), ...headers.map((h) => el("div", {class: "pair-head"}, h)));
  card.inputs.forEach((text, i) => {
    grid.append(el("div", {class: "pair-input"}, text), ...cellsFor(i).map((c) => {
      const box = el("div", {class: "pair-cell"});
      box.append(c);
      return box;
    }));
  });
  return grid;
}

async function runSentimentCard(card, body) {
  const [model, base] = await Promise.all([card.model, card.baseline].map(
    (name) => api("/api/predict", {model: name, inputs: card.inputs})));
  body.append(sideBySide(card, [modelTitle(card.model), `baseline: ${modelTitle(card.baseline)}`],
                         (i) => [predictionBox(model.results[i]), predictionBox(base.results[i])]));
  const links = el("p", {class: "card-links"});
  links.append(exploreLink(card.model, card.inputs[0]), " ",
               compareLink(card.model, card.baseline, card.inputs, "Side by side in the compare view →"));
  body.append(links);
}

function rankLine(tokens, answer) {
  const k = tokens.findIndex((t) => t.token === answer);
  return k < 0 ? `“${answer}”: not among the ${tokens.length} most probable`
    : `“${answer}”: rank ${k + 1}, p = ${fmtProb(tokens[k].prob)}`;
}

async function runFranceCard(card, body) {
  const prompt = card.inputs[0];
  const [model, base] = await Promise.all([api("/api/next_tokens", {model: card.model, prompt, k: 10}),
                                           api("/api/previous_word", {model: card.baseline, prompt, k: 10})]);
  const columns = [[`${modelTitle(card.model)}: next word`, model.tokens],
                   ["baseline: previous-word model (counts on the same training text)", base.tokens]];
  const grid = el("div", {class: "pair pair-2"});
  for (const [title, tokens] of columns) {
    const box = el("div", {class: "pair-cell"});
    box.append(el("div", {class: "pair-head"}, title), el("div", {class: "rank"}, rankLine(tokens, card.answer)),
               nextTokensBox(tokens, card.answer));
    grid.append(box);
  }
  body.append(el("p", {class: "pair-input"}, `${prompt} ___`), grid);
  const links = el("p", {class: "card-links"});
  links.append(exploreLink(card.model, prompt));
  if (card.compare) {
    links.append(" ", compareLink(card.compare.a, card.compare.b, [prompt], "Elman RNN vs LSTM gates on it →"));
  }
  body.append(links);
}

async function runFrenchCard(card, body) {
  const data = await api("/api/translate", {model: card.model, texts: card.inputs, beam: 5, attention: true});
  const result = data.results[0];
  const lines = el("dl", {class: "translation"});
  lines.append(el("dt", {}, "source"), el("dd", {}, card.inputs[0]),
               el("dt", {}, `${modelTitle(card.model)}, beam 5`), el("dd", {class: "translated"}, result.translation),
               el("dt", {}, "reference"), el("dd", {}, card.reference));
  body.append(lines);
  if (result.attention) {
    const drawn = drawAttention(result);
    const holder = el("div", {class: "scroll"});
    holder.append(drawn.svg);
    const key = el("div", {class: "legend", id: `legend-${card.id}`});
    body.append(holder, key);
    legend(key, drawn.scale);
  }
}

async function runFoxCard(card, body) {
  const audio = el("audio", {controls: "", src: card.audio, "aria-label": "the spoken fox sentence"});
  const res = await fetch(card.audio);
  if (!res.ok) throw new Error(`${card.audio}: HTTP ${res.status}`);
  const form = new FormData();
  form.append("audio", await res.blob(), "fox.wav");
  const reply = await fetch(`/api/transcribe?model=${encodeURIComponent(card.model)}`, {method: "POST", body: form});
  const out = await reply.json();
  if (!reply.ok) throw new Error(out.error || `/api/transcribe: HTTP ${reply.status}`);
  const lines = el("dl", {class: "translation"});
  lines.append(el("dt", {}, "spoken"), el("dd", {}, card.inputs[0]),
               el("dt", {}, `${modelTitle(card.model)} heard`), el("dd", {class: "transcript"}, out.text || "(nothing)"));
  body.append(audio, lines);
}

const CARD_RUNNERS = {nothing: runSentimentCard, food: runSentimentCard, france: runFranceCard,
                      french: runFrenchCard, fox: runFoxCard};

async function runCard(card, node) {
  const body = node.querySelector(".card-body");
  if (card.missing) {
    body.append(el("p", {class: "missing"}, card.missing));
    node.dataset.state = "missing";
    return;
  }
  try {
    await CARD_RUNNERS[card.id](card, body);
    node.dataset.state = "done";
  } catch (err) {
    body.append(el("p", {class: "card-error", role: "alert"}, err.message || String(err)));
    node.dataset.state = "error";
  }
}

async function startLecture() {
  const data = await api("/api/lecture");
  const box = $("cards");
  box.replaceChildren();
  const work = [];
  for (const card of data.cards) {
    const node = el("article", {class: "card panel", id: `card-${card.id}`, "data-state": "loading",
                                "aria-labelledby": `card-${card.id}-title`});
    node.append(el("h2", {id: `card-${card.id}-title`}, card.title));
    const look = el("ul", {class: "look"});
    for (const line of card.look) look.append(el("li", {}, line));
    node.append(look, el("div", {class: "card-body"}));
    box.append(node);
    work.push(runCard(card, node));
  }
  await Promise.all(work);
  document.body.dataset.state = "done";
}
