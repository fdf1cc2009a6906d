/**
 * Maps a line of the JavaScript tslab generated for a cell back to the cell's TypeScript source.
 * tslab's emit keeps statements in order but drops types and adds export lines, so lines are
 * matched by their tokens (identifiers, literals), never by position alone.
 */
function tokens(line: string): string[] {
  return line.match(/[A-Za-z_$][\w$]*|\d+(?:\.\d+)?|"[^"]*"|'[^']*'|`[^`]*`/g) ?? [];
}

/** Returns the 1-based source line best matching generated line `generatedLine`, or undefined. */
export function mapGeneratedLine(generated: string, source: string, generatedLine: number): number | undefined {
  const genLines = generated.split("\n");
  const target = genLines[generatedLine - 1];
  if (target === undefined) return undefined;
  const want = tokens(target).filter((t) => t !== "exports");
  if (want.length === 0) return undefined;
  const srcLines = source.split("\n");
  let best: number | undefined;
  let bestScore = 0;
  srcLines.forEach((line, i) => {
    const have = new Set(tokens(line));
    if (have.size === 0) return;
    const hits = want.filter((t) => have.has(t)).length;
    // Share of the generated line found in the source line, slightly penalising longer source lines.
    const score = hits / want.length - 0.01 * Math.max(0, have.size - want.length);
    if (score > bestScore + 1e-9) {
      bestScore = score;
      best = i + 1;
    }
  });
  return bestScore >= 0.5 ? best : undefined;
}
