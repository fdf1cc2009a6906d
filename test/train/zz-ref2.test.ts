import { test, before } from "node:test";
import * as crypto from "node:crypto";
import { initBackend } from "../../src/runtime/backend";
import { generateSegmentationSet } from "../../src/data/generated-segmentation";
import { buildSegmentationOnn } from "../../src/models/segmentation/segmentation-onn";
import { buildUNet } from "../../src/models/segmentation/unet";
import { trainSegmentationStudent, trainSegmentationTeacher } from "../../src/train/segmentation";
before(async () => { await initBackend({ backend: "wasm" }); });
const hash = (m: { weights: { read(): { dataSync(): unknown } }[] }) => { const h = crypto.createHash("sha256"); for (const w of m.weights) h.update(Buffer.from((w.read().dataSync() as Float32Array).buffer)); return h.digest("hex").slice(0, 16); };
test("ref2", async () => {
  const train = generateSegmentationSet({ count: 8, height: 16, width: 16, seed: 5 });
  const validation = generateSegmentationSet({ count: 4, height: 16, width: 16, seed: 6 });
  const teacher = buildUNet({ inputShape: [16, 16, 3], depth: 1, baseFilters: 4, seed: 9 });
  const t = await trainSegmentationTeacher({ model: teacher, train, validation, epochs: 2, batchSize: 4, seed: 3, loss: { diceWeight: 0.5 } });
  console.log("REF teacher", hash(teacher), JSON.stringify(t.history.map((e) => [e.trainLoss, e.trainMeanIoU, e.validationMeanIoU, e.validationDice, e.validationLoss])));
  for (const method of ["none", "kd"] as const) {
    const onn = buildSegmentationOnn({ inputShape: [16, 16, 3], groups: [2, 4, 8], decoderWidths: [8, 4], seed: 2 });
    const r = await trainSegmentationStudent({ student: onn, method, teacher, train, validation, epochs: 2, batchSize: 4, seed: 4 });
    console.log("REF", method, hash(onn.model), JSON.stringify(r.history.map((e) => [e.trainLoss, e.trainMeanIoU, e.validationMeanIoU, e.validationDice, e.validationLoss, e.parts])));
    onn.dispose();
  }
});
