/**
 * Quick NTKD experiment on real MNIST: train a LeNet-5 teacher, then the Compressed Meta ONN
 * student with no transfer, KD and NTKD (same frontend, backend, epochs and seeds), and print
 * test accuracies. Used to tune the trainer's defaults; not a test.
 *
 *   npx tsc -p tsconfig.json ... then
 *   NTKD_BACKEND=wasm node <build>/bench/experiments/ntkd-mnist.js --train 4000 --test 2000 \
 *     --teacher-epochs 8 --epochs 10 --seeds 1 [--seed-start 0] [--methods none,kd,ntkd] [--beta auto] \
 *     [--norm trace] [--probes 4] [--eps 0.01] [--lr 0.003] [--kd-t 4] [--kd-alpha 0.5]
 */
import { initBackend } from "../../src/runtime/backend";
import { tf } from "../../src/runtime/tf";
import { loadMnist } from "../../src/data/mnist";
import { buildLeNet5 } from "../../src/models/teachers/lenet";
import { buildCompressedMetaOnn, defaultPsfFrontend } from "../../src/models/students";
import type { FrontendLayer } from "../../src/models/optical-student";
import { trainStudent, trainTeacher } from "../../src/train/api";
import { evaluate } from "../../src/train/metrics";
import { holdOut } from "../../src/data/splits";
import type { NtkNormalisation } from "../../src/distill/ntkd";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

/** The optics engineer's PsfConvFrontend when it exists; otherwise a clamped non-negative conv. */
function frontend(seed: number): { layer: FrontendLayer; kind: string } {
  try {
    return { layer: defaultPsfFrontend({ kernels: 8, kernelSize: 7, inputChannels: 1, seed }), kind: "PsfConvFrontend (softplus)" };
  } catch {
    const layer = tf.layers.conv2d({
      filters: 8, kernelSize: 7, padding: "same", useBias: false, kernelConstraint: "nonNeg",
      kernelInitializer: tf.initializers.randomUniform({ minval: 0, maxval: 2 / 49, seed }),
    });
    return { layer, kind: "stand-in non-negative conv (PsfConvFrontend not built yet)" };
  }
}

async function main(): Promise<void> {
  const info = await initBackend({});
  const nTrain = Number(arg("train", "4000"));
  const nTest = Number(arg("test", "2000"));
  const epochs = Number(arg("epochs", "10"));
  const teacherEpochs = Number(arg("teacher-epochs", "8"));
  const seeds = Number(arg("seeds", "1"));
  const lr = Number(arg("lr", "0.003"));
  const methods = arg("methods", "none,kd,ntkd").split(",") as ("none" | "kd" | "ntkd")[];
  const betaArg = arg("beta", "auto");
  const beta = betaArg === "auto" ? "auto" : Number(betaArg);
  const betaScale = Number(arg("beta-scale", "1"));
  const normalisation = arg("norm", "trace") as NtkNormalisation;
  const probes = Number(arg("probes", "4"));
  const epsilon = Number(arg("eps", "0.01"));
  const estimator = arg("estimator", "sketch") as "sketch" | "trace";
  const teacherProbes = Number(arg("teacher-probes", String(probes)));
  const betaBalance = arg("balance", "gradient") as "gradient" | "loss";
  const teacherTrain = Number(arg("teacher-train", String(nTrain)));
  const kdT = Number(arg("kd-t", "4"));
  const kdAlpha = Number(arg("kd-alpha", "0.5"));
  const ntkdKd = arg("ntkd-task", "ce");
  const all = loadMnist({ split: "train", limit: nTrain + Math.round(nTrain / 9) });
  const { train, validation } = holdOut(all, 0.1, 1);
  const test = loadMnist({ split: "test", limit: nTest });
  console.log(`backend ${info.backend}; train ${train.count}, validation ${validation.count}, test ${test.count}`);

  const t0 = Date.now();
  const teacher = buildLeNet5({ inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
  const teacherData = teacherTrain > train.count ? holdOut(loadMnist({ split: "train", limit: teacherTrain + Math.round(teacherTrain / 9) }), 0.1, 1) : { train, validation };
  await trainTeacher({ model: teacher, train: teacherData.train, validation: teacherData.validation, epochs: teacherEpochs, learningRate: 2e-3, seed: 1,
    // Cached between experiment runs: a finished checkpoint makes the resumed loop return at once.
    checkpointDir: `.build/exp/teacher-lenet-${teacherTrain}-${teacherEpochs}`, resume: true });
  const teacherAcc = evaluate(teacher, test).accuracy;
  console.log(`teacher LeNet-5: test accuracy ${(100 * teacherAcc).toFixed(2)} % (${((Date.now() - t0) / 1000).toFixed(0)} s)`);

  const results: Record<string, number[]> = {};
  const seedStart = Number(arg("seed-start", "0"));
  for (let s = seedStart; s < seedStart + seeds; s++) {
    for (const method of methods) {
      const t1 = Date.now();
      const fe = frontend(100 + s);
      const student = buildCompressedMetaOnn({ frontend: fe.layer, seed: 100 + s });
      const r = await trainStudent({
        student, method, teacher, train, validation, epochs, learningRate: lr, seed: 100 + s,
        schedule: { kind: "cosine", totalEpochs: epochs },
        kd: { temperature: kdT, alpha: kdAlpha },
        ntkd: { beta, betaScale, normalisation, probes, epsilon, estimator, teacherProbes, betaBalance },
      });
      void ntkdKd;
      const acc = evaluate(student, test).accuracy;
      (results[method] ??= []).push(acc);
      const last = r.history[r.history.length - 1];
      const first = r.history[0];
      console.log(`  epoch 0 parts ${JSON.stringify(first.parts)}; per-epoch validation ${r.history.map((h) => (100 * (h.validationAccuracy ?? 0)).toFixed(1)).join(" ")}`);
      console.log(
        `seed ${s} ${method}: test ${(100 * acc).toFixed(2)} %, best val ${(100 * (r.bestValidationAccuracy ?? 0)).toFixed(2)} % @${r.bestEpoch}, ` +
          `parts ${JSON.stringify(Object.fromEntries(Object.entries(last.parts).map(([k, v]) => [k, Number(v.toPrecision(3))])))}, ` +
          `${((Date.now() - t1) / 1000).toFixed(0)} s, frontend ${fe.kind}`,
      );
      student.dispose();
    }
  }
  for (const [m, accs] of Object.entries(results)) {
    const mean = accs.reduce((a, b) => a + b, 0) / accs.length;
    const std = Math.sqrt(accs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, accs.length - 1));
    console.log(`${m}: ${(100 * mean).toFixed(2)} ± ${(100 * std).toFixed(2)} % over ${accs.length} seed(s)`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
