import { int, ints, type Attr } from '../builder.js';
import { registerOnnxConverter, type ConverterArgs } from '../registry.js';
import { arr, requireChannelsLast, spatialDims, tfPads } from './conv.js';
import { staticShape } from './core.js';

function pool(op: 'MaxPool' | 'AveragePool', n: number) {
  return (a: ConverterArgs) => {
    requireChannelsLast(a);
    const x = a.ctx.toLayout(a.inputs[0]!, 'cf');
    const sp = spatialDims(a, x);
    const k = arr(a.config.poolSize, n);
    const s = a.config.strides == null ? k : arr(a.config.strides, n);
    // count_include_pad=0: tfjs averages only over real pixels at 'same' borders.
    const extra: Record<string, Attr> = op === 'AveragePool' ? { count_include_pad: int(0) } : {};
    return a.ctx.op(op, [x.name], { kernel_shape: ints(k), strides: ints(s), pads: ints(tfPads(sp, k, s, new Array<number>(n).fill(1), a.config.padding as string)), ...extra }, a.layer.name, {
      shape: staticShape(a),
      layout: 'cf',
      dtype: 'float32',
    });
  };
}

/** Global pooling as a reduction over the spatial axes in whatever layout the input has (no Transpose). */
function globalPool(op: 'ReduceMean' | 'ReduceMax') {
  return (a: ConverterArgs) => {
    requireChannelsLast(a);
    const x = a.inputs[0]!;
    const r = x.shape.length;
    const axes = Array.from({ length: r - 2 }, (_, i) => a.ctx.axis(x, i + 1));
    return a.ctx.op(op, [x.name], { axes: ints(axes), keepdims: int(0) }, a.layer.name, { shape: staticShape(a), layout: 'tf', dtype: 'float32' });
  };
}

registerOnnxConverter('MaxPooling1D', pool('MaxPool', 1));
registerOnnxConverter('MaxPooling2D', pool('MaxPool', 2));
registerOnnxConverter('AveragePooling1D', pool('AveragePool', 1));
registerOnnxConverter('AveragePooling2D', pool('AveragePool', 2));
registerOnnxConverter('GlobalAveragePooling1D', globalPool('ReduceMean'));
registerOnnxConverter('GlobalAveragePooling2D', globalPool('ReduceMean'));
registerOnnxConverter('GlobalMaxPooling1D', globalPool('ReduceMax'));
registerOnnxConverter('GlobalMaxPooling2D', globalPool('ReduceMax'));
