// The demo page of an edgeport TF.js export: loads TF.js and model.json, takes an input (a
// canvas to draw on for small one-channel images, an image file or the webcam for other image
// models, a form for vectors), and shows the top predictions and the inference time.
// demo.json (written by edgeport) says where TF.js is and what the inputs look like.
'use strict';

const $ = (id) => document.getElementById(id);
const state = {model: null, info: null, input: null, getInput: null, lastInput: null};

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src;
    s.onload = resolve;
    s.onerror = () => reject(new Error('cannot load TF.js from ' + src));
    document.head.appendChild(s);
  });
}

// -- inputs ---------------------------------------------------------------------------------
function inputKind(spec) {
  const s = spec.shape;
  if (s.length === 4 && [1, 3, 4].includes(s[3]) && s[1] > 0 && s[2] > 0) {
    return s[3] === 1 && s[1] * s[2] <= 64 * 64 ? 'draw' : 'image';
  }
  if (s.length === 2 && s[1] > 0) return 'vector';
  return 'raw';
}

function pixelsToTensor(source, spec) {
  // An image (canvas, img or video) as [1, H, W, C] floats in [0, 1].
  const [, h, w, c] = spec.shape;
  return tf.tidy(() => {
    let x = tf.browser.fromPixels(source, c === 1 ? 1 : 3).toFloat().div(255);
    // area-average when shrinking (a bilinear resize alone would skip most pixels)
    const f = Math.max(1, Math.floor(Math.min(x.shape[0] / h, x.shape[1] / w)));
    x = tf.image.resizeBilinear(x, [h * f, w * f], true);
    if (f > 1) x = tf.avgPool(x, f, f, 'valid');
    if (c === 4) x = tf.concat([x, tf.onesLike(x.slice([0, 0, 0], [h, w, 1]))], 2);
    return x.expandDims(0);
  });
}

function drawInput(box, spec) {
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 224;
  canvas.className = 'draw';
  canvas.id = 'canvas';
  const ctx = canvas.getContext('2d');
  const clear = () => { ctx.fillStyle = '#000'; ctx.fillRect(0, 0, 224, 224); };
  clear();
  ctx.strokeStyle = '#fff'; ctx.lineWidth = 22; ctx.lineCap = ctx.lineJoin = 'round';
  let drawing = false;
  const at = (e) => { const r = canvas.getBoundingClientRect(); return [e.clientX - r.left, e.clientY - r.top]; };
  canvas.addEventListener('pointerdown', (e) => { drawing = true; ctx.beginPath(); ctx.moveTo(...at(e)); ctx.lineTo(...at(e)); ctx.stroke(); });
  canvas.addEventListener('pointermove', (e) => { if (drawing) { ctx.lineTo(...at(e)); ctx.stroke(); } });
  window.addEventListener('pointerup', () => { if (drawing) { drawing = false; predict(); } });
  const note = document.createElement('div');
  note.textContent = `Draw with the mouse (scaled to ${spec.shape[1]}×${spec.shape[2]}).`;
  box.append(canvas, note);
  $('clear').onclick = clear;
  return () => pixelsToTensor(canvas, spec);
}

function imageInput(box, spec) {
  const drop = document.createElement('div');
  drop.id = 'drop';
  drop.innerHTML = 'Drop an image here or <input type="file" id="file" accept="image/*">' +
                   '<br><button id="webcam">Use the webcam</button>';
  const img = document.createElement('img');
  img.className = 'preview'; img.alt = '';
  const video = document.createElement('video');
  video.autoplay = true; video.playsInline = true; video.hidden = true;
  box.append(drop, img, video);
  let source = null;
  const show = (file) => {
    img.onload = () => { source = img; video.hidden = true; predict(); };
    img.src = URL.createObjectURL(file);
  };
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => { e.preventDefault(); drop.classList.remove('over'); if (e.dataTransfer.files[0]) show(e.dataTransfer.files[0]); });
  drop.querySelector('#file').addEventListener('change', (e) => { if (e.target.files[0]) show(e.target.files[0]); });
  drop.querySelector('#webcam').addEventListener('click', async () => {
    video.srcObject = await navigator.mediaDevices.getUserMedia({video: true});
    video.hidden = false; source = video;
  });
  $('clear').onclick = () => { source = null; img.removeAttribute('src'); };
  return () => source ? pixelsToTensor(source, spec) : tf.zeros([1, ...spec.shape.slice(1)]);
}

function vectorInput(box, spec) {
  const n = spec.shape[1];
  const form = document.createElement('form');
  form.className = 'vector'; form.id = 'vector';
  form.onsubmit = (e) => { e.preventDefault(); predict(); };
  if (n <= 64) {
    for (let i = 0; i < n; i++) {
      const field = document.createElement('input');
      field.type = 'number'; field.step = 'any'; field.value = '0'; field.name = 'x' + i;
      field.title = `${spec.name}[${i}]`;
      form.append(field);
    }
  } else {
    form.innerHTML = `<textarea name="values" placeholder="${n} numbers, separated by commas or spaces"></textarea>`;
  }
  box.append(form);
  const values = () => n <= 64 ? [...form.elements].map((f) => Number(f.value) || 0)
    : form.elements.values.value.split(/[\s,]+/).filter(Boolean).map(Number);
  $('clear').onclick = () => form.reset();
  return () => tf.tensor([values().concat(Array(n).fill(0)).slice(0, n)], [1, n], spec.dtype === 'int32' ? 'int32' : 'float32');
}

function rawInput(box, spec) {
  const note = document.createElement('div');
  note.textContent = `Input ${spec.name} ${JSON.stringify(spec.shape)}: random values are used.`;
  box.append(note);
  return () => tf.randomUniform(spec.shape.map((d) => (d < 0 ? 1 : d)));
}

// -- predictions ----------------------------------------------------------------------------
function run(inputs) {
  if (state.info.format === 'layers-model') {
    return state.model.predict(inputs.length === 1 ? inputs[0] : inputs);
  }
  const feed = {};
  state.info.signatureInputs.forEach((key, i) => { feed[key] = inputs[i]; });
  return state.model.execute(feed);
}

async function predict() {
  if (!state.model) return;
  const inputs = state.getInputs();
  const t0 = performance.now();
  let out = run(inputs);
  out = Array.isArray(out) ? out : [out];
  const values = await out[0].data();
  const ms = performance.now() - t0;
  state.lastInput = await Promise.all(inputs.map(async (t) => ({shape: t.shape, data: Array.from(await t.data())})));
  const perItem = out[0].shape.length > 1 ? out[0].shape[out[0].shape.length - 1] : values.length;
  const scores = Array.from(values.slice(0, perItem));
  inputs.concat(out).forEach((t) => t.dispose());
  const top = scores.map((v, i) => [v, i]).sort((a, b) => b[0] - a[0]).slice(0, 5);
  const labels = state.info.labels || [];
  const max = Math.max(...top.map(([v]) => Math.abs(v)), 1e-12);
  $('predictions').innerHTML = '<tr><th>class</th><th>score</th><th></th></tr>' + top.map(([v, i]) =>
    `<tr data-index="${i}"><td>${labels[i] ?? 'class ' + i}</td><td class="score">${v.toFixed(4)}</td>` +
    `<td class="bar"><span style="width:${Math.round(100 * Math.abs(v) / max)}px"></span></td></tr>`).join('');
  $('time').textContent = `inference ${ms.toFixed(1)} ms (${tf.getBackend()})`;
  state.lastResult = {top: top.map(([v, i]) => ({index: i, score: v})), ms, scores};
  return state.lastResult;
}

async function main() {
  const info = await (await fetch('demo.json')).json();
  state.info = info;
  await loadScript(info.tfjs);
  $('status').textContent = `loading model (TF.js ${tf.version.tfjs})…`;
  const t0 = performance.now();
  state.model = info.format === 'layers-model' ? await tf.loadLayersModel('model.json')
                                               : await tf.loadGraphModel('model.json');
  if (info.format !== 'layers-model') {
    info.signatureInputs = state.model.inputs.map((t) => t.name.replace(/:0$/, ''));
  }
  const box = $('input');
  const makers = {draw: drawInput, image: imageInput, vector: vectorInput, raw: rawInput};
  const getters = info.inputs.map((spec) => makers[inputKind(spec)](box, spec));
  state.getInputs = () => getters.map((g) => g());
  $('status').textContent = `${info.format} loaded in ${(performance.now() - t0).toFixed(0)} ms ` +
    `(TF.js ${tf.version.tfjs}, ${tf.getBackend()} backend); inputs: ` +
    info.inputs.map((s) => `${s.name} ${JSON.stringify(s.shape)}`).join(', ');
  // What exporting changed, e.g. an int8 model computed in float32 (demo.json's note).
  if (info.note) $('note').textContent = `note: ${info.note}`;
  $('predict').disabled = $('clear').disabled = false;
  $('predict').onclick = () => predict();
  document.body.dataset.ready = 'true';
}

window.edgeportDemo = {state, predict};
main().catch((err) => {
  $('status').className = 'error';
  $('status').textContent = 'error: ' + (err && err.message || err);
  document.body.dataset.ready = 'error';
});
