import { test } from "node:test";
import assert from "node:assert/strict";
import { setDisplaySink, type DisplayMessage } from "../../src/notebook/display";
import { estimateProgressReporter } from "../../src/experiments/estimate-progress";

test("each estimate's kernel matrices and λ search get their own bar, with the fraction done and what is being filled", () => {
  const messages: DisplayMessage[] = [];
  setDisplaySink((m) => messages.push(m));
  try {
    const bars = estimateProgressReporter("mnist");
    const text = () => String(messages.at(-1)!.transient.ntkd_lab_progress);
    bars({ kernels: 16, kernelSize: 7, trainPoints: 5000 }, { stage: "kernel", detail: "train x train", fraction: 0.25 });
    assert.match(text(), /^mnist 16 kernels of 7 px, 5000 points: kernel matrices \[#{6}-{18}\]  25%.*train x train.*ETA /);
    bars({ kernels: 16, kernelSize: 7, trainPoints: 5000 }, { stage: "lambda", detail: "λ = 0.01 x mean diag: validation 95.00%", fraction: 0.5 });
    assert.match(text(), /^mnist 16 kernels of 7 px, 5000 points: λ search \[#{12}-{12}\]  50%/);
    bars({ kernels: "infinite", kernelSize: 7, trainPoints: 500 }, { stage: "kernel", detail: "test x train", fraction: 1 });
    assert.match(text(), /^mnist ∞ kernels of 7 px, 500 points: kernel matrices \[#{24}\] 100%/);
    bars({ kernels: 1, kernelSize: 5, trainPoints: 500 }, { stage: "kernel", detail: "train x train", fraction: 0 });
    assert.match(text(), /^mnist 1 kernel of 5 px, 500 points: kernel matrices \[-{24}\]   0%/);
    const titles = new Set(messages.map((m) => String(m.transient.ntkd_lab_progress).split(" [")[0]));
    assert.deepEqual([...titles], ["mnist 16 kernels of 7 px, 5000 points: kernel matrices", "mnist 16 kernels of 7 px, 5000 points: λ search", "mnist ∞ kernels of 7 px, 500 points: kernel matrices", "mnist 1 kernel of 5 px, 500 points: kernel matrices"]);
    bars.done();
    assert.match(text(), /100%.*done in/);
  } finally {
    setDisplaySink(null);
  }
});
