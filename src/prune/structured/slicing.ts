/**
 * Which axis of each weight indexes input channels (`in`) and output channels (`out`), per layer
 * class. `inMultiplier` marks SeparableConv2D's pointwise kernel, whose input rows are
 * `channel * depthMultiplier + j`.
 */
export interface WeightAxes {
  in?: number;
  out?: number;
  inMultiplier?: boolean;
}

const AXES: Record<string, Record<string, WeightAxes>> = {
  Dense: { kernel: { in: 0, out: 1 }, bias: { out: 0 } },
  Conv1D: { kernel: { in: 1, out: 2 }, bias: { out: 0 } },
  Conv2D: { kernel: { in: 2, out: 3 }, bias: { out: 0 } },
  // tfjs stores the transposed-conv kernel as [kh, kw, filters, inChannels].
  Conv2DTranspose: { kernel: { in: 3, out: 2 }, bias: { out: 0 } },
  SeparableConv2D: { depthwise_kernel: { in: 2 }, pointwise_kernel: { in: 2, out: 3, inMultiplier: true }, bias: { out: 0 } },
  DepthwiseConv2D: { depthwise_kernel: { in: 2 }, bias: { in: 0 } },
  BatchNormalization: { gamma: { in: 0 }, beta: { in: 0 }, moving_mean: { in: 0 }, moving_variance: { in: 0 } },
};

/** Channel axes of a weight, or undefined when the weight has no channel axis we re-index. */
export function weightAxes(className: string, weight: string): WeightAxes | undefined {
  return AXES[className]?.[weight];
}

/** Expand channel indices to SeparableConv2D pointwise rows: `c * m + j` for j < m. */
export function expandMultiplier(indices: Int32Array, multiplier: number): Int32Array {
  if (multiplier === 1) return indices;
  const out = new Int32Array(indices.length * multiplier);
  indices.forEach((c, i) => {
    for (let j = 0; j < multiplier; j++) out[i * multiplier + j] = c * multiplier + j;
  });
  return out;
}
