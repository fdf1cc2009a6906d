/** Confusion matrices from label and prediction arrays, for classifiers outside {@link evaluate}'s model types. */

/** confusion[trueClass][predictedClass] = count, from class indices in [0, numClasses). */
export function confusionMatrix(labels: ArrayLike<number>, predicted: ArrayLike<number>, numClasses: number): number[][] {
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new Error(`confusionMatrix: numClasses must be an integer >= 1, got ${numClasses}`);
  if (labels.length !== predicted.length) {
    throw new Error(`confusionMatrix: labels and predicted must have the same length, got ${labels.length} and ${predicted.length}`);
  }
  const confusion = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < labels.length; i++) {
    const t = labels[i];
    const p = predicted[i];
    if (!(Number.isInteger(t) && t >= 0 && t < numClasses && Number.isInteger(p) && p >= 0 && p < numClasses)) {
      throw new Error(`confusionMatrix: item ${i} has label ${t} and prediction ${p}; expected class indices in 0..${numClasses - 1}`);
    }
    confusion[t][p] += 1;
  }
  return confusion;
}

/** The fraction on the diagonal of a confusion matrix (the accuracy it records). */
export function confusionAccuracy(confusion: readonly (readonly number[])[]): number {
  let total = 0;
  let correct = 0;
  confusion.forEach((row, i) => {
    if (row.length !== confusion.length) throw new Error(`confusionAccuracy: row ${i} has ${row.length} entries; the matrix must be ${confusion.length}x${confusion.length}`);
    row.forEach((v, j) => {
      total += v;
      if (i === j) correct += v;
    });
  });
  if (total === 0) throw new Error("confusionAccuracy: the matrix counts no items");
  return correct / total;
}
