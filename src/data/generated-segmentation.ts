/**
 * A generated, Carvana-like binary segmentation set: one car-like shape per image (body, cabin
 * with windows, two wheels; random position, scale, colour and facing) on a textured two-tone
 * background (wall and ground, oriented sinusoidal texture, pixel noise, sometimes a distracting
 * blob that is not part of the mask). Every image depends only on (seed, image index), so the
 * first k images are the same whatever `count` is, and the set is identical on every machine.
 */
import { makeRng as dataRng, mixSeed } from "../runtime/seed";
import type { SegmentationDataset } from "./types";

/** Options of {@link generateSegmentationSet}. */
export interface GeneratedSegmentationOptions {
  /** Number of images. Default 256. */
  count?: number;
  /** Image height in pixels. Default 64. */
  height?: number;
  /** Image width in pixels. Default 64. */
  width?: number;
  /** Integer seed. Default 0. */
  seed?: number;
  /** Standard deviation of the additive pixel noise (values in [0, 1]). Default 0.03. */
  noiseStd?: number;
}

type RGB = [number, number, number];

/** The shapes of one car, in pixel coordinates (x right, y down). */
interface CarShape {
  body: { left: number; right: number; top: number; bottom: number; radius: number };
  cabin: { centerX: number; top: number; bottom: number; topHalfWidth: number; bottomHalfWidth: number };
  wheels: { x: number; y: number; radius: number }[];
}

function insideRoundedRect(x: number, y: number, r: CarShape["body"]): boolean {
  const cx = (r.left + r.right) / 2;
  const cy = (r.top + r.bottom) / 2;
  const dx = Math.max(Math.abs(x - cx) - ((r.right - r.left) / 2 - r.radius), 0);
  const dy = Math.max(Math.abs(y - cy) - ((r.bottom - r.top) / 2 - r.radius), 0);
  return dx * dx + dy * dy <= r.radius * r.radius;
}

/** Half-width of the cabin trapezoid at height y, or -1 outside its vertical extent. */
function cabinHalfWidth(y: number, c: CarShape["cabin"], shrink = 0): number {
  const top = c.top + shrink;
  const bottom = c.bottom - shrink;
  if (y < top || y > bottom) return -1;
  const t = (y - top) / Math.max(bottom - top, 1e-9);
  return c.topHalfWidth + t * (c.bottomHalfWidth - c.topHalfWidth) - shrink;
}

function randomCar(rand: () => number, height: number, width: number, groundY: number): CarShape {
  const uniform = (a: number, b: number) => a + (b - a) * rand();
  const length = width * uniform(0.4, 0.8);
  const bodyHeight = length * uniform(0.2, 0.28);
  const wheelRadius = bodyHeight * uniform(0.42, 0.55);
  const centerX = uniform(length * 0.45, width - length * 0.45);
  // wheels touch a ground line somewhat below the horizon, kept inside the frame
  const wheelY = Math.min(height - wheelRadius - 1, uniform(groundY + wheelRadius * 0.5, groundY + height * 0.25));
  const bottom = wheelY;
  const top = bottom - bodyHeight;
  const facing = rand() < 0.5 ? -1 : 1;
  const cabinHeight = bodyHeight * uniform(0.7, 1.0);
  const bottomHalf = (length * uniform(0.55, 0.7)) / 2;
  return {
    body: { left: centerX - length / 2, right: centerX + length / 2, top, bottom, radius: bodyHeight * 0.3 },
    cabin: {
      centerX: centerX + facing * length * uniform(0.0, 0.1),
      top: top - cabinHeight,
      bottom: top + 0.5,
      topHalfWidth: bottomHalf * uniform(0.6, 0.8),
      bottomHalfWidth: bottomHalf,
    },
    wheels: [-1, 1].map((side) => ({ x: centerX + side * length * uniform(0.27, 0.33), y: wheelY, radius: wheelRadius })),
  };
}

function randomColour(rand: () => number): RGB {
  return [rand(), rand(), rand()];
}

const distance = (a: RGB, b: RGB) => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);

/** Standard normals from a uniform generator (Box-Muller, using both outputs of each draw). */
function gaussianSource(rand: () => number): () => number {
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const v = spare;
      spare = null;
      return v;
    }
    const radius = Math.sqrt(-2 * Math.log(Math.max(rand(), 1e-12)));
    const angle = 2 * Math.PI * rand();
    spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  };
}

/** Renders image `index` into `image` (HWC, RGB) and `mask` (HW). */
function renderSample(seed: number, index: number, height: number, width: number, noiseStd: number, image: Float32Array, mask: Uint8Array): void {
  const rand = dataRng(mixSeed(seed, index));
  const gaussian = gaussianSource(rand);
  const uniform = (a: number, b: number) => a + (b - a) * rand();
  const wall = randomColour(rand);
  const ground = randomColour(rand);
  const groundY = height * uniform(0.35, 0.65);
  const waves = [0, 1, 2].map(() => {
    const angle = uniform(0, Math.PI);
    const frequency = uniform(2, 10) / Math.max(height, width); // cycles per pixel
    return { kx: Math.cos(angle) * frequency * 2 * Math.PI, ky: Math.sin(angle) * frequency * 2 * Math.PI, phase: uniform(0, 2 * Math.PI) };
  });
  const textureStrength = uniform(0.1, 0.3);
  const blob = rand() < 0.5 ? { x: uniform(0, width), y: uniform(0, height), rx: uniform(2, width / 6), ry: uniform(2, height / 6), colour: randomColour(rand) } : null;

  const car = randomCar(rand, height, width, groundY);
  // retry the body colour until it differs from both background tones, as real cars mostly do
  let paint = randomColour(rand);
  for (let tries = 0; tries < 20 && (distance(paint, wall) < 0.35 || distance(paint, ground) < 0.35); tries++) paint = randomColour(rand);
  const glass: RGB = [uniform(0.05, 0.25), uniform(0.1, 0.3), uniform(0.2, 0.45)];
  const tyre = uniform(0.03, 0.12);
  const hub = uniform(0.5, 0.8);
  const bodyHeight = car.body.bottom - car.body.top;
  const windowInset = bodyHeight * 0.15;

  for (let row = 0; row < height; row++) {
    const y = row + 0.5;
    for (let col = 0; col < width; col++) {
      const x = col + 0.5;
      let colour: RGB;
      let object = 0;
      const wheel = car.wheels.find((w) => (x - w.x) ** 2 + (y - w.y) ** 2 <= w.radius ** 2);
      const cabinHalf = cabinHalfWidth(y, car.cabin);
      if (wheel) {
        object = 1;
        const hubRadius = wheel.radius * 0.45;
        const v = (x - wheel.x) ** 2 + (y - wheel.y) ** 2 <= hubRadius ** 2 ? hub : tyre;
        colour = [v, v, v];
      } else if (insideRoundedRect(x, y, car.body)) {
        object = 1;
        const shade = 1 - 0.3 * ((y - car.body.top) / bodyHeight); // lit from above
        colour = [paint[0] * shade, paint[1] * shade, paint[2] * shade];
      } else if (cabinHalf >= 0 && Math.abs(x - car.cabin.centerX) <= cabinHalf) {
        object = 1;
        const windowHalf = cabinHalfWidth(y, car.cabin, windowInset);
        const inWindow = windowHalf > 0 && Math.abs(x - car.cabin.centerX) <= windowHalf && Math.abs(x - car.cabin.centerX) > windowInset * 0.3;
        colour = inWindow ? glass : paint;
      } else {
        const base = y < groundY ? wall : ground;
        let t = 0;
        for (const w of waves) t += Math.sin(w.kx * x + w.ky * y + w.phase);
        const shade = 1 + (textureStrength * t) / waves.length;
        colour = [base[0] * shade, base[1] * shade, base[2] * shade];
        if (blob && ((x - blob.x) / blob.rx) ** 2 + ((y - blob.y) / blob.ry) ** 2 <= 1) colour = blob.colour;
      }
      const p = row * width + col;
      mask[p] = object;
      for (let c = 0; c < 3; c++) {
        const v = colour[c]! + noiseStd * gaussian();
        image[p * 3 + c] = v < 0 ? 0 : v > 1 ? 1 : v;
      }
    }
  }
}

function checkPositiveInt(value: number, arg: string): void {
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${arg}: got ${value}; expected a positive integer`);
}

/** Generates the seeded car segmentation set: RGB images in [0, 1] and binary masks (car = 1). */
export function generateSegmentationSet(opts: GeneratedSegmentationOptions = {}): SegmentationDataset {
  const count = opts.count ?? 256;
  const height = opts.height ?? 64;
  const width = opts.width ?? 64;
  const seed = opts.seed ?? 0;
  const noiseStd = opts.noiseStd ?? 0.03;
  checkPositiveInt(count, "count");
  checkPositiveInt(height, "height");
  checkPositiveInt(width, "width");
  if (height < 8 || width < 8) throw new Error(`height x width: got ${height}x${width}; expected at least 8x8 to draw a car`);
  if (!(noiseStd >= 0)) throw new Error(`noiseStd: got ${noiseStd}; expected a non-negative number`);
  const pixels = height * width;
  const images = new Float32Array(count * pixels * 3);
  const masks = new Uint8Array(count * pixels);
  for (let i = 0; i < count; i++) {
    renderSample(seed, i, height, width, noiseStd, images.subarray(i * pixels * 3, (i + 1) * pixels * 3), masks.subarray(i * pixels, (i + 1) * pixels));
  }
  return { name: "generated-cars", images, masks, count, height, width, channels: 3 };
}

/**
 * Generator seeds of the three parts of a generated split. Image i of seed s is drawn from
 * mixSeed(s, i), whose first step is s XOR i: seeds 0 and 1 therefore give the same images with
 * indices swapped in pairs (test image i of seed 1 was training image i XOR 1 of seed 0). Seeds
 * that differ only above bit 20 share no image as long as every part holds at most 2^20 images.
 * Train keeps seed 0.
 */
export const GENERATED_SPLIT_SEEDS = { train: 0, validation: 2 << 20, test: 1 << 20 } as const;

/** Most images per part for which {@link GENERATED_SPLIT_SEEDS} give disjoint parts. */
export const GENERATED_SPLIT_MAX_COUNT = 1 << 20;

/** Options of {@link generateSegmentationSplits}. */
export interface GeneratedSegmentationSplitOptions {
  trainCount: number;
  /** Validation images (0 for none). */
  validationCount: number;
  testCount: number;
  height: number;
  width: number;
}

/** Train, validation and test parts of the generated car set, each from its own seed ({@link GENERATED_SPLIT_SEEDS}). */
export function generateSegmentationSplits(opts: GeneratedSegmentationSplitOptions): { train: SegmentationDataset; validation: SegmentationDataset; test: SegmentationDataset } {
  const part = (count: number, seed: number) => generateSegmentationSet({ count, height: opts.height, width: opts.width, seed });
  if (!Number.isInteger(opts.validationCount) || opts.validationCount < 0) {
    throw new Error(`validationCount: got ${opts.validationCount}; expected a non-negative integer`);
  }
  for (const arg of ["trainCount", "validationCount", "testCount"] as const) {
    if (opts[arg] > GENERATED_SPLIT_MAX_COUNT) throw new Error(`${arg}: got ${opts[arg]}; expected at most ${GENERATED_SPLIT_MAX_COUNT} so that the parts stay disjoint`);
  }
  const validation = opts.validationCount === 0
    ? { name: "generated-cars", images: new Float32Array(0), masks: new Uint8Array(0), count: 0, height: opts.height, width: opts.width, channels: 3 }
    : part(opts.validationCount, GENERATED_SPLIT_SEEDS.validation);
  return { train: part(opts.trainCount, GENERATED_SPLIT_SEEDS.train), validation, test: part(opts.testCount, GENERATED_SPLIT_SEEDS.test) };
}
