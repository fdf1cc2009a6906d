/**
 * The snippet of issue 13, as a user writes it against the public API: it must type-check with
 * no cast (this file is compiled with the test suite, strict, and against dist/ by
 * public-api.test.ts) and run (public-api.test.ts calls it on tiny data).
 */
import type { LayersModel } from "@tensorflow/tfjs";
import { buildCompressedMetaOnn, createFrontend, trainStudent, type ImageDataset, type TrainResult, type VegaLiteSpec } from "../../../src/index";

export async function frontendSnippet(teacher: LayersModel, train: ImageDataset): Promise<{ frontendChart: VegaLiteSpec; history: TrainResult["history"]; kernelShape: number[] }> {
  const student = buildCompressedMetaOnn({
    frontend: createFrontend("metasurface", { kernels: 2, kernelSize: 5, inputChannels: 1, gridSize: 16 }),
    inputShape: [train.height, train.width, 1],
    hidden: 8,
    poolSize: 4,
  });
  const r = await trainStudent({ student, method: "ntkd", teacher, train, epochs: 1, batchSize: 8 });
  const c = student.frontend.draw();
  // `trainingCurves(r.history)` belongs here too; it type-checks once trainingCurves accepts
  // TrainResult.history (issue 13 item 5, another branch), so the history is returned for now.
  const kernelShape = student.frontend.opticalKernels().shape;
  student.dispose();
  return { frontendChart: c, history: r.history, kernelShape };
}
