// The latent explorer's page: controls drive /api/generate and /api/traverse; an uploaded
// image goes to /api/encode and Q's reading is loaded back into the controls.
"use strict";

const SAMPLES = 16;
const COLUMNS = 4;
const $ = (id) => document.getElementById(id);
const state = { model: null, codes: {}, seed: 0, view: "samples" };

function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

async function errorMessage(response) {
  try {
    return (await response.json()).error;
  } catch {
    return `${response.status} ${response.statusText}`;
  }
}

// Shows the newest URL asked for. While a request is in flight, later requests replace one
// another, so dragging a slider never builds a backlog of stale images on a slow machine.
function liveImage(img, onShown) {
  let wanted = null;
  let shown = null;
  let busy = false;
  return async (url) => {
    wanted = url;
    if (busy) return;
    busy = true;
    while (wanted !== shown) {
      const current = wanted;
      const start = performance.now();
      try {
        const response = await fetch(current);
        if (!response.ok) throw new Error(await errorMessage(response));
        const previous = img.src;
        img.src = URL.createObjectURL(await response.blob());
        await img.decode().catch(() => {});
        if (previous.startsWith("blob:")) URL.revokeObjectURL(previous);
        img.dataset.query = current;
        onShown(performance.now() - start);
        if ($("status").classList.contains("error")) setStatus("");
      } catch (error) {
        setStatus(error.message, true);
      }
      shown = current;
    }
    busy = false;
  };
}

const showSamples = liveImage($("samples"), (ms) => {
  $("timing").textContent = `${SAMPLES} samples in ${Math.round(ms)} ms`;
});
const showTraversal = liveImage($("traversal"), (ms) => {
  $("timing").textContent = `traversal in ${Math.round(ms)} ms`;
});

function refresh() {
  if (state.view === "samples") {
    const query = new URLSearchParams({ n: SAMPLES, columns: COLUMNS, seed: state.seed, ...state.codes });
    showSamples(`/api/generate?${query}`);
  } else {
    const code = $("traverse-code").value;
    $("traverse-note").textContent = traverseNote(code);
    showTraversal(`/api/traverse?${new URLSearchParams({ code, seed: state.seed })}`);
  }
}

function traverseNote(name) {
  const code = state.model.codes.find((c) => c.name === name);
  const first = state.model.codes.find((c) => c.kind === "categorical");
  if (code.kind === "categorical") return `rows: ${name}'s classes; columns: noise draws`;
  const rows = first ? `rows: ${first.name}'s classes` : "rows: noise draws";
  const [low, high] = code.range;
  const units = code.unit ? ` (${inUnits(code, low)} to ${inUnits(code, high)})` : "";
  return `${rows}; columns: ${name} from ${low} to ${high}${units}, other continuous codes at 0`;
}

// ----- names and units ----------------------------------------------------------------------
// A class's name where the model has one (infogan name), else its index.
function className(code, k) {
  return (code.names && code.names[k]) || String(k);
}

// A calibrated code's value in its unit (infogan calibrate): the stored monotone map's knots,
// interpolated linearly and clamped at the ends, as the Python side does (numpy.interp).
function inUnits(code, value) {
  const { code: xs, value: ys, unit, property } = code.unit;
  let y = value <= xs[0] ? ys[0] : ys[ys.length - 1];
  for (let i = 1; i < xs.length; i++) {
    if (value >= xs[i - 1] && value <= xs[i]) {
      y = ys[i - 1] + ((ys[i] - ys[i - 1]) * (value - xs[i - 1])) / (xs[i] - xs[i - 1]);
      break;
    }
  }
  return `${property} ${y.toFixed(1)} ${unit}`;
}

function sliderText(code, value) {
  return code.unit ? `${value.toFixed(2)} · ${inUnits(code, value)}` : value.toFixed(2);
}

// ----- controls ---------------------------------------------------------------------------
function element(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

function categoricalControl(code) {
  const classes = element("div", { className: "classes" });
  for (let k = 0; k < code.num_classes; k++) {
    const input = element("input", { type: "radio", name: code.name, value: String(k), checked: k === 0 });
    input.addEventListener("change", () => {
      state.codes[code.name] = k;
      refresh();
    });
    const label = element("span", { textContent: className(code, k), title: `${code.name} = ${k}` });
    classes.append(element("label", {}, input, label));
  }
  const legend = element("legend", { textContent: `${code.name} · categorical` });
  return element("fieldset", { className: "code", id: `code-${code.name}` }, legend, classes);
}

function continuousControl(code) {
  const [low, high] = code.range;
  const slider = element("input", { type: "range", id: `code-${code.name}`, min: low, max: high, step: 0.05, value: 0 });
  const output = element("output", { id: `value-${code.name}`, textContent: sliderText(code, 0) });
  slider.addEventListener("input", () => {
    state.codes[code.name] = Number(slider.value);
    output.textContent = sliderText(code, Number(slider.value));
    refresh();
  });
  const kind = code.unit ? `${code.unit.property} (${code.unit.unit})` : "continuous";
  const label = element("label", { htmlFor: slider.id, textContent: `${code.name} · ${kind}` });
  return element("div", { className: "code" }, label, element("div", { className: "slider" }, slider, output));
}

function setControls(codes) {
  for (const code of state.model.codes) {
    if (!(code.name in codes)) continue;
    if (code.kind === "categorical") {
      state.codes[code.name] = codes[code.name];
      document.querySelector(`input[name="${code.name}"][value="${codes[code.name]}"]`).checked = true;
    } else {
      const slider = $(`code-${code.name}`);
      slider.value = Math.min(code.range[1], Math.max(code.range[0], codes[code.name]));
      state.codes[code.name] = Number(slider.value);
      $(`value-${code.name}`).textContent = sliderText(code, Number(slider.value));
    }
  }
  refresh();
}

function setSeed(seed) {
  state.seed = seed;
  $("seed").value = String(seed);
  refresh();
}

function setView(view) {
  state.view = view;
  for (const name of ["samples", "traverse"]) {
    $(`tab-${name}`).setAttribute("aria-selected", String(name === view));
    $(`view-${name}`).hidden = name !== view;
  }
  refresh();
}

// ----- encode -----------------------------------------------------------------------------
async function encodeFile(file) {
  const limit = state.model.limits.max_upload_bytes;
  if (file.size > limit) {
    setStatus(`${file.name} is ${file.size} bytes; the limit is ${limit}`, true);
    return;
  }
  setStatus(`reading ${file.name}…`);
  const response = await fetch("/api/encode", {
    method: "POST",
    headers: { "Content-Type": file.type || "application/octet-stream" },
    body: file,
  });
  if (!response.ok) {
    setStatus(await errorMessage(response), true);
    return;
  }
  const reading = await response.json();
  showReading(reading);
  setStatus(`Q's reading of ${file.name} is loaded into the controls`);
  setControls(reading.codes);
}

function showReading(reading) {
  $("encoded-input").src = reading.input;
  $("inverted").textContent = reading.inverted ? "inverted to light-on-dark, as the model was trained" : "";
  const box = $("reading-codes");
  box.replaceChildren();
  for (const code of state.model.codes) {
    if (code.kind === "categorical") box.append(probabilityBars(code, reading.probabilities[code.name]));
    else box.append(continuousReading(code, reading.codes[code.name], reading.sigmas[code.name], reading.units));
  }
  $("reading").hidden = false;
}

function probabilityBars(code, probabilities) {
  const best = probabilities.indexOf(Math.max(...probabilities));
  const rows = probabilities.map((p, k) => {
    const fill = element("div", { className: "fill" });
    fill.style.width = `${(100 * p).toFixed(1)}%`;
    const row = element(
      "div",
      { className: k === best ? "bar best" : "bar", title: `${code.name} = ${k}: ${(100 * p).toFixed(1)}%` },
      element("span", { className: "class", textContent: className(code, k) }),
      element("div", { className: "track" }, fill),
      element("span", { className: "pct", textContent: `${(100 * p).toFixed(0)}%` }),
    );
    return row;
  });
  const named = className(code, best) === String(best) ? "" : ` (${className(code, best)})`;
  const title = element("h3", { textContent: `${code.name}: class ${best}${named}` });
  const boxClass = code.names && code.names.some((n) => n) ? "reading-code named" : "reading-code";
  return element("div", { className: boxClass, id: `reading-${code.name}` }, title, ...rows);
}

function continuousReading(code, value, sigma, units) {
  const [low, high] = code.range;
  const marker = element("div", { className: "marker" });
  marker.style.left = `${(100 * (Math.min(high, Math.max(low, value)) - low)) / (high - low)}%`;
  const spread = sigma === undefined ? "" : ` (σ ${sigma.toFixed(2)})`;
  const outside = value < low || value > high ? `, outside the sliders' ${low}…${high}` : "";
  const unit = code.unit ? ` · ${code.unit.property} ${units[code.unit.column].toFixed(1)} ${code.unit.unit}` : "";
  const title = element("h3", { textContent: `${code.name} = ${value.toFixed(2)}${unit}${spread}${outside}` });
  return element(
    "div",
    { className: "reading-code", id: `reading-${code.name}` },
    title,
    element("div", { className: "scale" }, marker),
  );
}

function setupDrop() {
  const drop = $("drop");
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    if (event.dataTransfer.files.length) encodeFile(event.dataTransfer.files[0]);
  });
  $("upload").addEventListener("change", () => {
    if ($("upload").files.length) encodeFile($("upload").files[0]);
  });
}

// ----- start ------------------------------------------------------------------------------
async function start() {
  const response = await fetch("/api/model");
  if (!response.ok) {
    setStatus(await errorMessage(response), true);
    return;
  }
  state.model = await response.json();
  $("source").textContent = state.model.source;
  for (const code of state.model.codes) {
    state.codes[code.name] = 0;
    $("codes").append(code.kind === "categorical" ? categoricalControl(code) : continuousControl(code));
    $("traverse-code").append(element("option", { value: code.name, textContent: code.name }));
  }
  $("seed").addEventListener("change", () => {
    const seed = Number($("seed").value);
    if (Number.isInteger(seed) && seed >= 0 && seed < 2 ** 31) setSeed(seed);
    else setStatus("the seed must be a whole number in 0…2147483647", true);
  });
  $("new-noise").addEventListener("click", () => setSeed(Math.floor(Math.random() * 2 ** 31)));
  $("tab-samples").addEventListener("click", () => setView("samples"));
  $("tab-traverse").addEventListener("click", () => setView("traverse"));
  $("traverse-code").addEventListener("change", refresh);
  setupDrop();
  document.body.dataset.ready = "true";
  refresh();
}

start();
