/**
 * What a mode shortened against the full protocol, in words, from the presets themselves: the
 * opening of the report and of every notebook, so a quick number is never read as the paper's.
 */
import type { NotebookMode } from "../notebook/params";
import { sendDisplay } from "../notebook/display";
import { distillationPreset } from "./presets";
import { estimationPreset } from "./estimation";
import { segmentationPreset } from "./segmentation-study";

/** Where the committed record of the full protocol lives, relative to the repository root. */
export const FULL_RECORD_PATH = "results/full/report.md";

/** One shortened setting: what this mode uses against what the full protocol uses. */
export interface ShortenedSetting {
  /** What the setting is, e.g. "MNIST training images". */
  setting: string;
  /** This mode's value, in words. */
  thisMode: string;
  /** The full protocol's value, in words. */
  full: string;
}

/** A mode's notice: a headline, the shortened settings, and the markdown of both. */
export interface ModeNotice {
  mode: NotebookMode;
  headline: string;
  shortened: ShortenedSetting[];
  markdown: string;
}

const count = (n: number | undefined, all: string): string => (n === undefined ? all : n.toLocaleString("en-US"));
const seedsText = (seeds: number[]): string => `${seeds.length} (${seeds.join(", ")})`;

/** The settings this mode shortens (none for full). */
export function shortenedSettings(mode: NotebookMode): ShortenedSetting[] {
  if (mode === "full") return [];
  const ours = distillationPreset("mnist", mode);
  const full = distillationPreset("mnist", "full");
  const estimate = estimationPreset(mode);
  const estimateFull = estimationPreset("full");
  const segmentation = segmentationPreset(mode);
  const segmentationFull = segmentationPreset("full");
  const rows: ShortenedSetting[] = [
    { setting: "MNIST training images", thisMode: count(ours.sizes.trainCount, "50,000 (all)"), full: count(full.sizes.trainCount, "50,000 (all)") },
    { setting: "MNIST test images", thisMode: count(ours.sizes.testCount, "10,000 (all)"), full: count(full.sizes.testCount, "10,000 (all)") },
    { setting: "seeds per method", thisMode: seedsText(ours.seeds), full: seedsText(full.seeds) },
    { setting: "teacher epochs", thisMode: String(ours.teacherEpochs), full: String(full.teacherEpochs) },
    { setting: "student epochs", thisMode: String(ours.studentEpochs), full: String(full.studentEpochs) },
    { setting: "NTKD student probes per step", thisMode: String(ours.ntkd.probes), full: String(full.ntkd.probes) },
    { setting: "estimation regression points", thisMode: count(estimate.trainPoints, ""), full: count(estimateFull.trainPoints, "") },
    { setting: "segmentation training images", thisMode: count(segmentation.trainCount, ""), full: count(segmentationFull.trainCount, "") },
    { setting: "segmentation seeds", thisMode: seedsText(segmentation.seeds), full: seedsText(segmentationFull.seeds) },
  ];
  return rows.filter((r) => r.thisMode !== r.full);
}

/** The notice of a mode. */
export function modeNotice(mode: NotebookMode): ModeNotice {
  const headline =
    mode === "full"
      ? "Full protocol: every data set present, five seeds, the full schedules."
      : mode === "quick"
        ? `Quick mode (\`npm start\`): a real but shortened reproduction. Its numbers come from one seed and short schedules, so they sit below the paper's and below our full record (\`${FULL_RECORD_PATH}\`); compare with those, not with the paper.`
        : `Smoke mode (the test suite's sizes): every cell runs on a few thousand images. Its numbers check that the pipeline works; they are not a reproduction (see \`${FULL_RECORD_PATH}\`).`;
  const shortened = shortenedSettings(mode);
  const lines = [`**${headline}**`];
  if (shortened.length > 0) {
    lines.push("", `| shortened | this run (${mode}) | full protocol |`, "|:-|-:|-:|", ...shortened.map((s) => `| ${s.setting} | ${s.thisMode} | ${s.full} |`));
  }
  return { mode, headline, shortened, markdown: lines.join("\n") };
}

/** Shows {@link modeNotice} as markdown in a notebook (plain text elsewhere). */
export function showModeNotice(mode: NotebookMode): ModeNotice {
  const notice = modeNotice(mode);
  sendDisplay({ "text/markdown": notice.markdown, "text/plain": notice.markdown });
  return notice;
}
