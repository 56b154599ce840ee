// Load TF.js exports over HTTP with @tensorflow/tfjs 4.22 (CPU backend) and run them.
// usage: node predict.mjs JOBS.json OUT.json
// JOBS.json: [{"url": "http://127.0.0.1:PORT/model.json", "format": "layers-model"|"graph-model",
//              "inputs": [{"name", "shape", "dtype", "data": base64 little-endian}]}]
// OUT.json:  [{"outputs": [{"shape", "dtype", "data": base64}], "load_ms", "predict_ms"}
//             or {"error": message}]
import fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';

const ARRAYS = {float32: Float32Array, int32: Int32Array};

function decode(input) {
  const bytes = Buffer.from(input.data, 'base64');
  const Ctor = ARRAYS[input.dtype];
  const values = new Ctor(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  return tf.tensor(values, input.shape, input.dtype);
}

async function encode(tensor) {
  const data = await tensor.data();
  return {shape: tensor.shape, dtype: tensor.dtype,
          data: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64')};
}

async function run(job) {
  const t0 = performance.now();
  const model = job.format === 'layers-model' ? await tf.loadLayersModel(job.url)
                                               : await tf.loadGraphModel(job.url);
  const t1 = performance.now();
  const inputs = job.inputs.map(decode);
  let outputs;
  if (job.format === 'layers-model') {
    outputs = model.predict(inputs.length === 1 ? inputs[0] : inputs);
  } else {
    const feed = {};
    job.inputs.forEach((spec, i) => { feed[spec.name] = inputs[i]; });
    outputs = model.execute(feed);
  }
  outputs = Array.isArray(outputs) ? outputs : [outputs];
  const encoded = [];
  for (const t of outputs) encoded.push(await encode(t));
  const t2 = performance.now();
  return {outputs: encoded, load_ms: t1 - t0, predict_ms: t2 - t1};
}

const jobs = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const results = [];
for (const job of jobs) {
  try {
    results.push(await run(job));
  } catch (err) {
    results.push({error: String(err && err.stack || err)});
  }
}
fs.writeFileSync(process.argv[3], JSON.stringify(results));
