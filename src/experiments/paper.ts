/**
 * The numbers the NTKD paper reports (arXiv 2508.08421, camera-ready; digest §9), as fractions,
 * for side-by-side tables. Entries the paper does not give are absent.
 */
export const PAPER = {
  teachers: { mnist: 0.991, cifar10: 0.854, carvanaMeanIoU: 0.954 },
  /** Table 3, simulation, mean ± std over 5 seeds. */
  table3: {
    mnist: { none: { mean: 0.914, std: 0.008 }, kd: { mean: 0.959, std: 0.006 }, ntkd: { mean: 0.973, std: 0.006 } },
    cifar10: { none: { mean: 0.564, std: 0.019 }, kd: { mean: 0.725, std: 0.021 }, ntkd: { mean: 0.756, std: 0.009 } },
    carvana: { none: { mean: 0.743, std: 0.004 }, kd: { mean: 0.867, std: 0.004 }, ntkd: { mean: 0.915, std: 0.004 } },
  },
  /** Table 4, fabricated systems (the uncompensated baseline has no std in the paper). */
  table4: {
    mnist: { none: { mean: 0.892 }, e2e: { mean: 0.932, std: 0.001 }, ntkd: { mean: 0.951, std: 0.001 } },
    cifar10: { none: { mean: 0.473 }, e2e: { mean: 0.704, std: 0.021 }, ntkd: { mean: 0.749, std: 0.013 } },
    carvana: { none: { mean: 0.497 }, e2e: { mean: 0.627, std: 0.009 }, ntkd: { mean: 0.812, std: 0.006 } },
  },
  /** Table 5, random PSF kernels with a light trained backend (mono = MNIST). */
  table5: {
    mnist: [
      { kernels: 8, accuracy: 0.9612 },
      { kernels: 500, accuracy: 0.9681 },
      { kernels: 1000, accuracy: 0.9724 },
      { kernels: Infinity, accuracy: 0.9772 },
    ],
  },
  /**
   * §4.3 (digest §9.7): MACs and energy per image of the polychromatic segmentation ONN on
   * Carvana and its digital references; the only systems the paper gives energies for.
   */
  energy: {
    carvana: [
      { system: "Full U-Net teacher", macs: 65.9e9, computeJ: 2.03, captureJ: 2.36e-3, totalJ: 2.04 },
      { system: "Compact digital network", macs: 239e6, computeJ: 7.37e-3, captureJ: 2.36e-3, totalJ: 9.73e-3 },
      { system: "Hybrid ONN (digital backend)", macs: 65e6, computeJ: 2.01e-3, captureJ: 3.82e-3, totalJ: 5.83e-3 },
    ],
  },
} as const;

/** The paper's compute energy per MAC, pJ: its U-Net teacher's compute energy over its MACs (≈ 30.8 pJ; its three systems agree). */
export function paperPicojoulesPerMac(): number {
  const teacher = PAPER.energy.carvana[0];
  return (teacher.computeJ / teacher.macs) * 1e12;
}

/** A paper value as "97.3 ± 0.6" (percent), or "n/a". */
export function paperCell(v: { mean: number; std?: number } | undefined): string {
  if (!v) return "n/a";
  return v.std === undefined ? (100 * v.mean).toFixed(1) : `${(100 * v.mean).toFixed(1)} ± ${(100 * v.std).toFixed(1)}`;
}

/** The paper's Table 5 (MNIST, mono) accuracy for a random-kernel count, fraction, or null where it reports none. */
export function paperRandomKernelAccuracy(kernels: number | "infinite"): number | null {
  const want = kernels === "infinite" ? Infinity : kernels;
  return PAPER.table5.mnist.find((p) => p.kernels === want)?.accuracy ?? null;
}
