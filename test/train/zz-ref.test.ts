import { test, before } from "node:test";
import * as crypto from "node:crypto";
import { initBackend } from "../../src/runtime/backend";
import { buildCompressedMetaOnn } from "../../src/models/students";
import { trainStudent } from "../../src/train/api";
import { nonNegativeConv, smallMnist, tinyTeacher, weightsOf } from "./helpers";
before(async () => { await initBackend({ backend: "cpu" }); });
test("ref", async () => {
  const train = smallMnist(48);
  const validation = smallMnist(24, 100);
  const teacher = tinyTeacher(9);
  for (const method of ["none", "kd", "ntkd"] as const) {
    const s = buildCompressedMetaOnn({ frontend: nonNegativeConv(4, 5, 7), inputShape: [14, 14, 1], poolSize: 2, hidden: 16, seed: 5 });
    const r = await trainStudent({ student: s, method, teacher, train, validation, epochs: 3, batchSize: 16, seed: 11, learningRate: 3e-3, ntkd: { probes: 2, autoBetaBatches: 2 }, earlyStopping: { patience: 1 } });
    const h = crypto.createHash("sha256");
    for (const w of weightsOf(s.model)) h.update(Buffer.from(w.buffer));
    console.log("REF", method, h.digest("hex").slice(0, 16), JSON.stringify(r.history.map((e) => [e.trainLoss, e.trainAccuracy, e.validationAccuracy, e.validationLoss, e.parts])), r.bestEpoch, r.stoppedEarly);
    s.dispose();
  }
});
