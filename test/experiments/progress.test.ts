import { test } from "node:test";
import assert from "node:assert/strict";
import { setDisplaySink, type DisplayMessage } from "../../src/notebook/display";
import { studyProgressReporter } from "../../src/experiments/progress";

test("a pool of parallel students shows as one bar: finished jobs plus each running job's fraction, and what each is doing", () => {
  const messages: DisplayMessage[] = [];
  setDisplaySink((m) => messages.push(m));
  try {
    const reporter = studyProgressReporter("mnist");
    // 1 of 3 jobs done; KD at epoch 2/2, batch 5/10 (15 of 20 batches), NTKD at epoch 1/2, batch 5/10 (5 of 20).
    reporter.pool({
      jobs: 3,
      finished: 1,
      running: [
        { phase: "kd", seed: 0, epoch: 1, epochs: 2, batch: 4, batches: 10, loss: 0.5 },
        { phase: "ntkd", seed: 0, epoch: 0, epochs: 2, batch: 4, batches: 10, loss: 0.7 },
      ],
    });
    const line = String(messages.at(-1)!.transient.ntkd_lab_progress);
    // (1 + 0.75 + 0.25) / 3 jobs = 66.7 %.
    assert.match(line, /^mnist students in parallel \[#{16}-{8}\]  67%  student 3\/3  1 done \| KD s0 epoch 2\/2 \| NTKD s0 epoch 1\/2  ETA /);
    reporter.done();
    assert.match(String(messages.at(-1)!.transient.ntkd_lab_progress), /100%.*done in/);
  } finally {
    setDisplaySink(null);
  }
});

test("a fine-tune at a sweep point opens its own bar, named by method, seed and point", () => {
  const messages: DisplayMessage[] = [];
  setDisplaySink((m) => messages.push(m));
  try {
    const reporter = studyProgressReporter("mnist");
    reporter({ phase: "compensation-ntkd", seed: 0, label: "sweep point 0.3", epoch: 0, epochs: 3, batch: 0, batches: 4, loss: 1 });
    assert.match(String(messages.at(-1)!.transient.ntkd_lab_progress), /^mnist NTKD compensation, seed 0, sweep point 0\.3 \[/);
    reporter({ phase: "compensation-ntkd", seed: 0, label: "sweep point 1", epoch: 0, epochs: 3, batch: 0, batches: 4, loss: 1 });
    const titles = messages.map((m) => String(m.transient.ntkd_lab_progress).split(" [")[0]);
    assert.deepEqual([...new Set(titles)], ["mnist NTKD compensation, seed 0, sweep point 0.3", "mnist NTKD compensation, seed 0, sweep point 1"]);
    reporter({ phase: "none", seed: 2, label: "metasurface student", epoch: 0, epochs: 2, batch: 0, batches: 4, loss: 1 });
    assert.match(String(messages.at(-1)!.transient.ntkd_lab_progress), /^mnist metasurface student \(no transfer\), seed 2 \[/);
    reporter.done();
  } finally {
    setDisplaySink(null);
  }
});
